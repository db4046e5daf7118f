"""What the guide tells patrons about e-mail, given to clients: a pending address that expires,
「図書館からのEメールが受信できない方へ」, the next step after 新規パスワード登録, and the desk's warning
when a counter hold cannot be told by e-mail (「窓口で予約された場合も、メール連絡となります」)."""

from __future__ import annotations


import pytest

from app.main import create_app
from app.models.enums import HoldSource
from tests.circulation_support import gid, lend_all, patron
from tests.conftest import http_client
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, GraphQLClient, make_patron, make_staff, make_title

ADVICE = ("{ emailDeliveryAdvice { title senderAddress senderDomain commonMistakes filterSettings allowSender "
          "alsoTry undeliverableAddresses checkMyPage } }")
PENDING = "{ viewer { pendingEmail pendingEmailExpiresAt } }"


async def test_a_pending_address_stops_showing_once_its_link_has_expired(client, deps, clock):
    hanako = await make_patron(deps)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    requested = await client.mutate("requestEmailChange", {"newEmail": "hanako@example.jp"}, "expiresAt")
    assert requested["errors"] == []

    shown = (await client.query(PENDING))["viewer"]
    assert shown == {"pendingEmail": "hanako@example.jp", "pendingEmailExpiresAt": requested["expiresAt"]}

    clock.advance(hours=deps.settings.email_token_hours)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)  # the old session has ended by now
    assert (await client.query(PENDING))["viewer"] == {"pendingEmail": None, "pendingEmailExpiresAt": None}


async def test_a_client_can_show_the_guides_advice_when_mail_does_not_arrive(client):
    advice = (await client.query(ADVICE))["emailDeliveryAdvice"]
    assert advice["title"] == "図書館からのEメールが受信できない方へ"
    assert (advice["senderAddress"], advice["senderDomain"]) == ("koga-lib@fromjapan.org", "fromjapan.org")
    assert "「-」ハイフンと「_」アンダーバーの間違い" in advice["commonMistakes"]
    assert "なりすまし・転送メール規制を設定している方" in advice["filterSettings"]
    assert "指定受信設定" in advice["allowSender"]
    assert "「.」ドットを連続して使用しているアドレス" in advice["undeliverableAddresses"]
    assert "マイページ" in advice["checkMyPage"]


async def test_the_advice_names_the_librarys_own_sender(settings, clock):
    app = create_app(settings.replace(mail_from="Library@Mail.Example-City.jp"), clock, manage_database=False)
    async with http_client(app) as http:
        advice = (await GraphQLClient(http).query(ADVICE))["emailDeliveryAdvice"]
    assert (advice["senderAddress"], advice["senderDomain"]) == ("Library@Mail.Example-City.jp", "mail.example-city.jp")


@pytest.mark.parametrize("email", [None, "taro@example.jp"])
async def test_after_registering_a_password_the_patron_is_told_to_register_an_email(client, deps, email):
    await make_patron(deps, password=None, email=email)
    ticket = await client.mutate("verifyPatronIdentity", {
        "cardNumber": "101234567", "nameKana": "コガタロウ", "birthDate": "19900401", "phone": ["092", "942", "1151"],
    }, "ticket")
    done = await client.mutate("registerPassword", {
        "ticket": ticket["ticket"], "password": "h8kq2mvz", "passwordConfirmation": "h8kq2mvz",
    }, "nextStep patron { contactable }")
    assert done["errors"] == []
    if email is None:
        assert done["patron"] == {"contactable": False}
        assert "Eメールアドレスを登録してください" in done["nextStep"] and "Web予約はできません" in done["nextStep"]
    else:
        assert done["patron"] == {"contactable": True} and done["nextStep"] is None


@pytest.mark.parametrize("email", [False, True])
async def test_the_desk_is_warned_when_a_counter_hold_cannot_be_told_by_email(other_client, deps, email):
    title = await make_title(deps)
    await lend_all(deps, await patron(deps, 1), title)
    taro = await patron(deps, 2, email=email)
    staff = await make_staff(deps)
    await other_client.staff_login(staff.username, STAFF_PASSWORD)
    placed = await other_client.mutate("placeHoldForPatron", {
        "cardNumber": taro.card_number, "titleId": gid("Title", title.id), "source": HoldSource.COUNTER.name,
    }, "warning hold { status contactEmail }")
    assert placed["errors"] == [] and placed["hold"]["status"] == "WAITING"
    if email:
        assert placed["warning"] is None
    else:
        assert placed["hold"]["contactEmail"] is None
        assert placed["warning"].startswith("この利用者はメールアドレスが登録されていないため")
