"""Registering, changing and deleting the e-mail address (F3, F5): a pending address, the mailed
confirmation link (single use, expiring, superseded by a newer request), the confirmation page,
the contact options of the guide, and the notice to the old address."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from app.domain import email_addresses, mailer, notices
from app.domain.security import token_hash
from app.models import Hold, Notice, OneTimeToken, Patron
from app.models.enums import HoldSource, HoldStatus, NoticeKind, NoticeStatus
from app.web.email_confirm import RedactTokens
from tests.conftest import http_client
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, GraphQLClient, codes, make_patron, make_staff, make_title

CARD = "101234567"
PATRON = "patron { email contactEmail pendingEmail }"


@pytest.fixture
def settings(settings, smtp_server):
    return settings.replace(smtp_port=smtp_server.port)


async def request_change(client: GraphQLClient, new_email: str, **options) -> dict:
    return await client.mutate("requestEmailChange", {"newEmail": new_email, **options},
                               f"pendingEmail expiresAt {PATRON}")


async def mailed_token(deps, smtp_server, address: str) -> str:
    """Deliver the outbox and read the token from the newest confirmation mail to `address`."""
    await mailer.deliver_once(deps)
    return smtp_server.to(address)[-1].confirmation_token()


async def confirm(client: GraphQLClient, token: str) -> dict:
    return await client.mutate("confirmEmail", {"token": token}, f"email {PATRON}")


@pytest.fixture
async def patron(deps, client):
    row = await make_patron(deps, CARD, email="old@example.jp")
    await client.login(CARD, DEFAULT_PASSWORD)
    return row


async def test_a_new_address_stays_pending_until_the_mailed_link_is_confirmed(client, deps, smtp_server, patron):
    payload = await request_change(client, "hanako@example.jp")

    assert payload["errors"] == []
    assert payload["pendingEmail"] == "hanako@example.jp"
    assert payload["patron"] == {"email": "old@example.jp", "contactEmail": "old@example.jp",
                                 "pendingEmail": "hanako@example.jp"}
    assert payload["expiresAt"] == "2026-11-29T01:00:00+00:00"  # 24 hours

    await mailer.deliver_once(deps)
    [mail] = smtp_server.to("hanako@example.jp")
    assert mail.subject == "【古賀市立図書館】メールアドレス登録の確認"
    token = mail.confirmation_token()
    assert f"http://testserver/email/confirm?token={token}\n" in mail.body
    assert "URLの有効期限：2026年11月29日（日）10時00分" in mail.body

    confirmed = await confirm(client, token)

    assert confirmed["errors"] == [] and confirmed["email"] == "hanako@example.jp"
    assert confirmed["patron"] == {"email": "hanako@example.jp", "contactEmail": "hanako@example.jp",
                                   "pendingEmail": None}


async def test_the_link_has_256_bits_and_the_database_keeps_only_its_hash(client, deps, smtp_server, patron):
    await request_change(client, "hanako@example.jp")
    token = await mailed_token(deps, smtp_server, "hanako@example.jp")

    assert len(token) >= 43  # 32 bytes, base64url
    [row] = await OneTimeToken.all()
    assert row.token_hash == token_hash(token)
    stored = [str(n.data) for n in await Notice.all()] + [str(row.payload), row.token_hash]
    assert not any(token in text for text in stored)


async def test_the_old_address_is_told_of_the_change(client, deps, smtp_server, patron):
    await request_change(client, "hanako@example.jp")
    await confirm(client, await mailed_token(deps, smtp_server, "hanako@example.jp"))

    await mailer.deliver_once(deps)

    [notice] = smtp_server.to("old@example.jp")
    assert notice.subject == "【古賀市立図書館】メールアドレス変更のお知らせ"
    assert "2026年11月28日（土）に変更されました" in notice.body
    assert "新しいメールアドレス：h***@example.jp" in notice.body


async def test_a_first_address_sends_no_changed_notice(client, deps, smtp_server):
    await make_patron(deps, CARD)
    await client.login(CARD, DEFAULT_PASSWORD)
    await request_change(client, "hanako@example.jp")
    await confirm(client, await mailed_token(deps, smtp_server, "hanako@example.jp"))

    assert await Notice.filter(kind=NoticeKind.EMAIL_CHANGED).count() == 0
    patron = await Patron.get()
    assert (patron.email, patron.contact_email) == ("hanako@example.jp", "hanako@example.jp")


async def active_and_past_holds(deps, patron: Patron, contact: str | None) -> list[Hold]:
    holds = []
    for status in (HoldStatus.WAITING, HoldStatus.READY, HoldStatus.FULFILLED, HoldStatus.CANCELLED):
        title = await make_title(deps, f"本 {status.value}")
        holds.append(await Hold.create(patron=patron, title=title, source=HoldSource.WEB, status=status,
                                       contact_email=contact, placed_at=deps.now()))
    return holds


async def hold_contacts(holds: list[Hold]) -> list[str | None]:
    return [(await Hold.get(id=h.id)).contact_email for h in holds]


async def test_the_new_address_can_become_the_contact_of_existing_holds(client, deps, smtp_server, patron):
    holds = await active_and_past_holds(deps, patron, "old@example.jp")

    await request_change(client, "hanako@example.jp", useAsContact=True, updateHoldContacts=True)
    await confirm(client, await mailed_token(deps, smtp_server, "hanako@example.jp"))

    # Waiting and ready holds change; finished ones keep their history.
    assert await hold_contacts(holds) == ["hanako@example.jp", "hanako@example.jp", "old@example.jp", "old@example.jp"]


async def test_without_the_options_contact_and_holds_keep_the_old_address(client, deps, smtp_server, patron):
    holds = await active_and_past_holds(deps, patron, "old@example.jp")

    await request_change(client, "hanako@example.jp", useAsContact=False, updateHoldContacts=False)
    confirmed = await confirm(client, await mailed_token(deps, smtp_server, "hanako@example.jp"))

    assert confirmed["patron"] == {"email": "hanako@example.jp", "contactEmail": "old@example.jp", "pendingEmail": None}
    assert await hold_contacts(holds) == ["old@example.jp"] * 4


async def test_holds_without_any_contact_take_the_new_address_whatever_the_option(client, deps, smtp_server):
    patron = await make_patron(deps, CARD)
    await client.login(CARD, DEFAULT_PASSWORD)
    holds = await active_and_past_holds(deps, patron, None)

    await request_change(client, "hanako@example.jp", useAsContact=False, updateHoldContacts=False)
    confirmed = await confirm(client, await mailed_token(deps, smtp_server, "hanako@example.jp"))

    # With no contact at all, nothing could reach the patron: the new address becomes it.
    assert confirmed["patron"]["contactEmail"] == "hanako@example.jp"
    assert await hold_contacts(holds) == ["hanako@example.jp", "hanako@example.jp", None, None]


async def test_a_link_works_until_it_expires(client, deps, smtp_server, patron, clock):
    await request_change(client, "hanako@example.jp")
    token = await mailed_token(deps, smtp_server, "hanako@example.jp")

    clock.advance(hours=24)
    expired = await confirm(client, token)

    assert codes(expired) == ["TOKEN_EXPIRED"] and expired["errors"][0]["field"] == ["input", "token"]
    assert "有効期限が切れています" in expired["errors"][0]["message"]
    assert (await Patron.get()).email == "old@example.jp"


async def test_a_link_still_works_just_before_it_expires(client, deps, smtp_server, patron, clock):
    await request_change(client, "hanako@example.jp")
    token = await mailed_token(deps, smtp_server, "hanako@example.jp")

    clock.advance(hours=24, seconds=-1)

    assert (await confirm(client, token))["errors"] == []


async def test_a_link_works_only_once(client, deps, smtp_server, patron):
    await request_change(client, "hanako@example.jp")
    token = await mailed_token(deps, smtp_server, "hanako@example.jp")
    assert (await confirm(client, token))["errors"] == []

    again = await confirm(client, token)

    assert codes(again) == ["INVALID_TOKEN"]


@pytest.mark.parametrize("tamper", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: t[:-2], lambda t: "",
                                    lambda t: t + "x" * 300])
async def test_a_tampered_link_confirms_nothing(client, deps, smtp_server, patron, tamper):
    await request_change(client, "hanako@example.jp")
    token = await mailed_token(deps, smtp_server, "hanako@example.jp")

    payload = await confirm(client, tamper(token))

    assert codes(payload) == ["INVALID_TOKEN"]
    assert (await Patron.get()).email == "old@example.jp"


async def test_a_new_request_cancels_the_previous_link(client, deps, smtp_server, patron):
    await request_change(client, "first@example.jp")
    first = await mailed_token(deps, smtp_server, "first@example.jp")

    await request_change(client, "second@example.jp")
    second = await mailed_token(deps, smtp_server, "second@example.jp")

    assert codes(await confirm(client, first)) == ["INVALID_TOKEN"]
    assert (await confirm(client, second))["email"] == "second@example.jp"


async def test_a_confirmation_mail_not_sent_yet_is_dropped_when_a_newer_one_is_requested(client, deps, smtp_server,
                                                                                       patron):
    await request_change(client, "first@example.jp")
    await request_change(client, "second@example.jp")

    await mailer.deliver_once(deps)

    assert [r for m in smtp_server.received for r in m.rcpt_tos] == ["second@example.jp"]
    assert (await Patron.get()).pending_email == "second@example.jp"


async def test_confirmation_mails_are_limited_per_hour(client, deps, smtp_server, patron, clock):
    for n in range(5):
        assert (await request_change(client, f"try{n}@example.jp"))["errors"] == []

    refused = await request_change(client, "try5@example.jp")

    assert codes(refused) == ["RATE_LIMITED"]
    assert (await Patron.get()).pending_email == "try4@example.jp"
    clock.advance(hours=1)
    await client.login(CARD, DEFAULT_PASSWORD)  # the session ended meanwhile (idle)
    assert (await request_change(client, "try5@example.jp"))["errors"] == []


async def test_the_registered_address_cannot_be_requested_again(client, patron):
    assert codes(await request_change(client, "old@EXAMPLE.JP")) == ["EMAIL_UNCHANGED"]


async def test_only_a_logged_in_patron_may_request_a_change(client, other_client, deps):
    assert codes(await request_change(client, "hanako@example.jp")) == ["NOT_AUTHENTICATED"]
    await make_staff(deps)
    await other_client.staff_login("desk1", STAFF_PASSWORD)
    assert codes(await request_change(other_client, "hanako@example.jp")) == ["FORBIDDEN"]


async def test_confirming_from_another_device_shows_no_patron_details(app, client, deps, smtp_server, patron):
    await request_change(client, "hanako@example.jp")
    token = await mailed_token(deps, smtp_server, "hanako@example.jp")

    async with http_client(app, address="198.51.100.99") as http:
        phone = await confirm(GraphQLClient(http), token)

    assert phone == {"errors": [], "email": "hanako@example.jp", "patron": None}
    assert (await Patron.get()).email == "hanako@example.jp"


# --- the page behind the link ----------------------------------------------------------------


async def test_opening_the_link_shows_a_button_and_changes_nothing(app, client, deps, smtp_server, patron):
    await request_change(client, "hanako@example.jp")
    token = await mailed_token(deps, smtp_server, "hanako@example.jp")

    async with http_client(app) as browser:
        for _ in range(2):  # a mail scanner, then the patron
            page = await browser.get(f"/email/confirm?token={token}")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="ja">' in page.text and "<script" not in page.text
    assert "hanako@example.jp" in page.text and "登録を確定する" in page.text
    assert '<form method="post" action="confirm">' in page.text
    assert f'<input type="hidden" name="token" value="{token}">' in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert (await Patron.get()).email == "old@example.jp"
    assert (await OneTimeToken.get()).used_at is None


async def test_the_button_confirms_the_address(app, client, deps, smtp_server, patron):
    await request_change(client, "hanako@example.jp")
    token = await mailed_token(deps, smtp_server, "hanako@example.jp")

    async with http_client(app) as browser:
        done = await browser.post("/email/confirm", data={"token": token})
        again = await browser.post("/email/confirm", data={"token": token})

    assert done.status_code == 200
    assert "メールアドレスの登録が完了しました。" in done.text and "hanako@example.jp" in done.text
    assert (await Patron.get()).email == "hanako@example.jp"
    assert again.status_code == 400 and "このURLは無効です" in again.text


async def test_the_page_explains_an_expired_or_unknown_link(app, client, deps, smtp_server, patron, clock):
    await request_change(client, "hanako@example.jp")
    token = await mailed_token(deps, smtp_server, "hanako@example.jp")
    clock.advance(days=2)

    async with http_client(app) as browser:
        expired = await browser.get(f"/email/confirm?token={token}")
        unknown = await browser.get("/email/confirm?token=<script>alert(1)</script>")
        missing = await browser.get("/email/confirm")

    assert expired.status_code == 400 and "有効期限が切れています" in expired.text and "<form" not in expired.text
    assert unknown.status_code == 400 and "<script>" not in unknown.text
    assert missing.status_code == 400 and "このURLは無効です" in missing.text


async def test_the_page_accepts_only_a_form_post(app, client, deps, smtp_server, patron):
    await request_change(client, "hanako@example.jp")
    token = await mailed_token(deps, smtp_server, "hanako@example.jp")

    async with http_client(app) as browser:
        as_json = await browser.post("/email/confirm", json={"token": token})

    assert as_json.status_code == 415
    assert (await Patron.get()).email == "old@example.jp"


# --- removal ---------------------------------------------------------------------------------


async def test_removing_the_address_clears_it_everywhere_and_warns_about_holds(client, deps, smtp_server, patron):
    holds = await active_and_past_holds(deps, patron, "old@example.jp")
    await request_change(client, "pending@example.jp")
    token = await mailed_token(deps, smtp_server, "pending@example.jp")

    payload = await client.mutate("removeEmail", {}, f"warning holdsWithoutContact {PATRON}")

    assert payload["errors"] == []
    assert payload["patron"] == {"email": None, "contactEmail": None, "pendingEmail": None}
    assert payload["holdsWithoutContact"] == 2
    assert "届かなくなります" in payload["warning"] and "現在の予約2件" in payload["warning"]
    assert await hold_contacts(holds) == [None, None, "old@example.jp", "old@example.jp"]
    assert codes(await confirm(client, token)) == ["INVALID_TOKEN"]


async def test_removing_when_there_is_no_address_says_so(client, deps):
    await make_patron(deps, CARD)
    await client.login(CARD, DEFAULT_PASSWORD)

    assert codes(await client.mutate("removeEmail", {})) == ["NO_EMAIL"]


async def test_hold_notices_after_removal_are_kept_without_an_address(client, deps, patron):
    await client.mutate("removeEmail", {})

    await notices.enqueue(deps, NoticeKind.HOLD_READY, dedupe_key="hold_ready:1:1:2026-11-28", patron_id=patron.id,
                          to_address=(await Patron.get()).contact_email,
                          data={"hold_id": 1, "title_id": 1, "pickup_deadline": "2026-12-05"})

    assert (await Notice.get()).status is NoticeStatus.NO_ADDRESS


# --- notification settings ------------------------------------------------------------------


async def test_the_due_date_reminder_can_be_turned_off_and_on(client, patron):
    selection = "patron { notificationSettings { dueDateReminder } }"

    off = await client.mutate("updateNotificationSettings", {"dueDateReminder": False}, selection)
    unchanged = await client.mutate("updateNotificationSettings", {}, selection)

    assert off["patron"]["notificationSettings"] == {"dueDateReminder": False}
    assert unchanged["patron"]["notificationSettings"] == {"dueDateReminder": False}
    assert (await Patron.get()).notify_due_reminder is False
    on = await client.mutate("updateNotificationSettings", {"dueDateReminder": True}, selection)
    assert on["patron"]["notificationSettings"] == {"dueDateReminder": True}


async def test_a_guest_cannot_change_notification_settings(client):
    assert codes(await client.mutate("updateNotificationSettings", {"dueDateReminder": False})) == ["NOT_AUTHENTICATED"]


async def test_an_unsent_confirmation_whose_link_expired_is_failed_not_sent(client, deps, smtp_server, patron, clock):
    await request_change(client, "hanako@example.jp")
    clock.advance(hours=25)  # the mail server was down all that time

    report = await mailer.deliver_once(deps)

    notice = await Notice.get(kind=NoticeKind.EMAIL_CONFIRMATION)
    assert report.failed == 1 and notice.status is NoticeStatus.FAILED
    assert "expired" in notice.last_error and smtp_server.received == []
    assert timedelta(hours=25) == deps.now() - notice.created_at


def test_the_access_log_never_shows_a_link_token():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("203.0.113.7:5000", "GET", "/email/confirm?token=s3cr3t-T0ken_x&a=1", "1.1", 200),
                               None)

    RedactTokens().filter(record)

    assert record.getMessage() == '203.0.113.7:5000 - "GET /email/confirm?token=[redacted]&a=1 HTTP/1.1" 200'


async def test_two_confirmations_racing_with_one_link_confirm_once(client, deps, smtp_server, patron):
    await request_change(client, "hanako@example.jp")
    token = await mailed_token(deps, smtp_server, "hanako@example.jp")

    outcomes = await asyncio.gather(email_addresses.confirm(deps, token), email_addresses.confirm(deps, token),
                                    return_exceptions=True)

    assert sorted(type(o).__name__ for o in outcomes) == ["Confirmed", "DomainError"]
    assert await Notice.filter(kind=NoticeKind.EMAIL_CHANGED).count() == 1
