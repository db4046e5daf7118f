"""New passwords an attacker would not try first, registration that costs nothing when it cannot
succeed, a mail when the password changes, and sessions a new login replaces."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.errors import ErrorCode
from app.domain.messages import MESSAGES
from app.domain.notice_templates import render
from app.domain.passwords import Owner, common_passwords, weakness_of
from app.models import Notice, Session
from app.models.enums import NoticeKind
from tests.conftest import http_client
from tests.support import DEFAULT_PASSWORD, GraphQLClient, codes, make_patron, make_staff

CARD = "101234567"
IDENTITY = {"cardNumber": CARD, "nameKana": "コガタロウ", "birthDate": "19900401", "phone": ["092", "942", "1151"]}
OWNER = Owner(card_number=CARD, birth_date=date(1990, 4, 1), phone="0929421151")


@pytest.mark.parametrize("password, code", [
    ("1234", ErrorCode.PASSWORD_SEQUENTIAL_CHARACTERS),
    ("abcd", ErrorCode.PASSWORD_SEQUENTIAL_CHARACTERS),
    ("DCBA", ErrorCode.PASSWORD_SEQUENTIAL_CHARACTERS),
    ("87654321", ErrorCode.PASSWORD_SEQUENTIAL_CHARACTERS),
    ("0000", ErrorCode.PASSWORD_REPEATED_CHARACTERS),
    ("aaaA", ErrorCode.PASSWORD_REPEATED_CHARACTERS),
    ("password", ErrorCode.PASSWORD_TOO_COMMON),
    ("Dragon", ErrorCode.PASSWORD_TOO_COMMON),
    ("abc123", ErrorCode.PASSWORD_TOO_COMMON),
    ("pass1234", ErrorCode.PASSWORD_TOO_COMMON),
    ("1990", ErrorCode.PASSWORD_CONTAINS_BIRTH_DATE),
    ("taro0401", ErrorCode.PASSWORD_CONTAINS_BIRTH_DATE),
    ("19900401", ErrorCode.PASSWORD_CONTAINS_BIRTH_DATE),
    ("hk1151", ErrorCode.PASSWORD_CONTAINS_PHONE_NUMBER),
    ("9421xyz", ErrorCode.PASSWORD_CONTAINS_PHONE_NUMBER),
    ("k4567", ErrorCode.PASSWORD_CONTAINS_CARD_NUMBER),
])
def test_the_passwords_an_attacker_tries_first_are_refused_each_for_its_reason(password, code):
    assert weakness_of(password, OWNER) is code
    assert MESSAGES[code]  # each its own Japanese message


@pytest.mark.parametrize("password", ["kg7mq2", "Tb38xw", "usagi9k", "m0ri3z"])
def test_ordinary_passwords_pass(password):
    assert weakness_of(password, OWNER) is None


def test_the_common_list_holds_only_passwords_the_library_would_accept():
    listed = common_passwords()
    assert len(listed) > 20_000 and {"123456", "password", "qwerty", "dragon"} <= listed
    assert all(4 <= len(p) <= 8 and p.isascii() and p.isalnum() for p in listed)


async def _ticket(client: GraphQLClient) -> str:
    payload = await client.mutate("verifyPatronIdentity", IDENTITY, "ticket")
    assert payload["errors"] == []
    return payload["ticket"]


@pytest.mark.parametrize("password, code", [
    ("1111", "PASSWORD_REPEATED_CHARACTERS"),
    ("2345", "PASSWORD_SEQUENTIAL_CHARACTERS"),
    ("iloveyou", "PASSWORD_TOO_COMMON"),
    ("hk0401", "PASSWORD_CONTAINS_BIRTH_DATE"),
    ("hk1151", "PASSWORD_CONTAINS_PHONE_NUMBER"),
    ("k4567a", "PASSWORD_CONTAINS_CARD_NUMBER"),
    ("kg7mq2\n", "INVALID_PASSWORD"),
])
async def test_registration_refuses_weak_passwords_and_keeps_the_ticket(client, deps, password, code):
    await make_patron(deps, password=None)
    ticket = await _ticket(client)
    refused = await client.mutate("registerPassword", {"ticket": ticket, "password": password,
                                                       "passwordConfirmation": password})
    assert codes(refused) == [code] and refused["errors"][0]["field"] == ["input", "password"]
    assert refused["errors"][0]["message"] == MESSAGES[ErrorCode(code)]
    fine = await client.mutate("registerPassword", {"ticket": ticket, "password": "kg7mq2",
                                                    "passwordConfirmation": "kg7mq2"})
    assert fine["errors"] == []


async def test_a_password_with_a_trailing_newline_is_not_the_password(client, deps):
    await make_patron(deps, password="kg7mq2")
    assert codes(await client.mutate("login", {"cardNumber": CARD, "password": "kg7mq2\n"})) == ["INVALID_PASSWORD"]
    # Card numbers forgive spaces and line breaks (they are removed), never other digits.
    assert codes(await client.mutate("login", {"cardNumber": "10１２３٤٥٦٧", "password": "kg7mq2"})) \
        == ["INVALID_CARD_NUMBER"]


async def test_changing_to_a_weak_password_is_refused_and_changes_nothing(client, deps):
    await make_patron(deps)
    await client.login(CARD, DEFAULT_PASSWORD)
    refused = await client.mutate("changePassword", {"currentPassword": DEFAULT_PASSWORD, "newPassword": "1990ab",
                                                     "newPasswordConfirmation": "1990ab"})
    assert codes(refused) == ["PASSWORD_CONTAINS_BIRTH_DATE"]
    assert refused["errors"][0]["field"] == ["input", "newPassword"]
    await client.mutate("logout", {})
    await client.login(CARD, DEFAULT_PASSWORD)


async def test_a_ticket_that_cannot_work_costs_no_password_hash(client, deps, monkeypatch):
    await make_patron(deps, password=None)
    hashed = []
    original = deps.hasher.hash

    async def counting_hash(password: str) -> str:
        hashed.append(password)
        return await original(password)

    monkeypatch.setattr(deps.hasher, "hash", counting_hash)
    for ticket in ("", "made-up", "x" * 500):
        refused = await client.mutate("registerPassword", {"ticket": ticket, "password": "kg7mq2",
                                                           "passwordConfirmation": "kg7mq2"})
        assert codes(refused) == ["INVALID_TICKET"]
    assert hashed == []
    await client.mutate("registerPassword", {"ticket": await _ticket(client), "password": "kg7mq2",
                                             "passwordConfirmation": "kg7mq2"})
    assert hashed == ["kg7mq2"]


# --- パスワード変更のお知らせ ---------------------------------------------------------------------


async def test_a_changed_password_is_mailed_to_the_confirmed_address(client, deps):
    await make_patron(deps, email="taro@example.jp")
    await client.login(CARD, DEFAULT_PASSWORD)
    changed = await client.mutate("changePassword", {"currentPassword": DEFAULT_PASSWORD, "newPassword": "kg7mq2",
                                                     "newPasswordConfirmation": "kg7mq2"})
    assert changed["errors"] == []
    [notice] = await Notice.filter(kind=NoticeKind.PASSWORD_CHANGED)
    assert notice.to_address == "taro@example.jp"
    letter = render(notice.kind, notice.data, deps.settings)
    assert letter.subject == "【古賀市立図書館】パスワード変更のお知らせ"
    assert "お心当たりのない場合" in letter.body and "図書館カウンター" in letter.body
    assert "http" not in letter.body and "kg7mq2" not in letter.body


async def test_a_password_set_through_the_forgotten_password_path_is_mailed_too(client, deps):
    await make_patron(deps, email="taro@example.jp")
    await client.mutate("registerPassword", {"ticket": await _ticket(client), "password": "kg7mq2",
                                             "passwordConfirmation": "kg7mq2"})
    assert await Notice.filter(kind=NoticeKind.PASSWORD_CHANGED, to_address="taro@example.jp").count() == 1


async def test_no_mail_without_a_confirmed_address_and_none_for_a_refused_change(client, deps):
    await make_patron(deps, password=None)
    await client.mutate("registerPassword", {"ticket": await _ticket(client), "password": "kg7mq2",
                                             "passwordConfirmation": "kg7mq2"})
    await client.mutate("changePassword", {"currentPassword": "wrong1", "newPassword": "Tb38xw",
                                           "newPasswordConfirmation": "Tb38xw"})
    assert await Notice.filter(kind=NoticeKind.PASSWORD_CHANGED).count() == 0


# --- one browser, one session -------------------------------------------------------------


async def test_logging_in_again_in_the_same_browser_ends_the_session_it_replaces(client, deps):
    await make_patron(deps)
    await make_patron(deps, "101234568", name_kana="ヤマダタロウ")
    await client.login(CARD, DEFAULT_PASSWORD)
    await client.login(CARD, DEFAULT_PASSWORD)
    assert await Session.all().count() == 1
    await client.login("101234568", DEFAULT_PASSWORD)
    assert await Session.filter(patron__card_number=CARD).count() == 0
    assert (await client.query("{ viewer { cardNumber } }"))["viewer"]["cardNumber"] == "101234568"


async def test_a_token_client_logging_in_leaves_the_browsers_session_alone(app, deps):
    await make_patron(deps)
    async with http_client(app) as http:
        browser = GraphQLClient(http)
        await browser.login(CARD, DEFAULT_PASSWORD)
        token = await browser.mutate("login", {"cardNumber": CARD, "password": DEFAULT_PASSWORD, "issueToken": True},
                                     "token")
        assert token["token"]
        assert await Session.all().count() == 2


# --- what staff do not see ----------------------------------------------------------------

LOOKUP = """query($card: String!) { patronByCardNumber(cardNumber: $card) {
  id cardNumber readingHistoryEnabled holdCart { totalCount } } }"""


async def test_staff_see_neither_the_hold_cart_nor_whether_history_is_kept(app, deps, client):
    from app.models import HoldCartEntry
    from tests.support import STAFF_PASSWORD, make_title

    patron = await make_patron(deps)
    title = await make_title(deps)
    await HoldCartEntry.create(patron=patron, title=title, added_at=deps.now())
    await make_staff(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    seen = (await client.query(LOOKUP, {"card": CARD}))["patronByCardNumber"]
    assert seen["cardNumber"] == CARD
    assert seen["readingHistoryEnabled"] is None and seen["holdCart"] is None
    node = (await client.query('query($id: ID!) { node(id: $id) { ... on Patron { readingHistoryEnabled '
                               'holdCart { totalCount } } } }', {"id": seen["id"]}))["node"]
    assert node == {"readingHistoryEnabled": None, "holdCart": None}
    cart_entry = await HoldCartEntry.get(patron=patron)
    from strawberry import relay
    entry_id = relay.to_base64("HoldCartEntry", cart_entry.id)
    assert (await client.query('query($id: ID!) { node(id: $id) { id } }', {"id": entry_id}))["node"] is None
    # The patron still sees both.
    async with http_client(app, address="198.51.100.9") as http:
        own = GraphQLClient(http)
        await own.login(CARD, DEFAULT_PASSWORD)
        mine = (await own.query("{ viewer { readingHistoryEnabled holdCart { totalCount } } }"))["viewer"]
    assert mine == {"readingHistoryEnabled": False, "holdCart": {"totalCount": 1}}
