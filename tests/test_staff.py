"""Staff accounts: their own login, counter registration, and no crossing with patron sessions."""

import pytest

from app.models import Patron
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, codes, make_patron, make_staff

NEW_PATRON = {"cardNumber": "105550001", "nameKana": "ふくおか　はなこ", "birthDate": "20090301",
              "phone": ["092", "942", "1151"]}


async def test_staff_registers_a_patron_who_can_then_register_a_password(client, other_client, deps):
    await make_staff(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    payload = await client.mutate("registerPatron", NEW_PATRON, "patron { cardNumber nameKana }")
    assert payload == {"errors": [], "patron": {"cardNumber": "105550001", "nameKana": "フクオカハナコ"}}
    step1 = await other_client.mutate(
        "verifyPatronIdentity",
        {"cardNumber": "105550001", "nameKana": "フクオカハナコ", "birthDate": "20090301", "phone": ["092", "942", "1151"]},
        "ticket",
    )
    assert step1["errors"] == []


async def test_a_card_number_is_registered_once(client, deps):
    await make_staff(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    await client.mutate("registerPatron", NEW_PATRON)
    again = await client.mutate("registerPatron", {**NEW_PATRON, "nameKana": "ベツジン"})
    assert codes(again) == ["CARD_NUMBER_TAKEN"] and again["errors"][0]["field"] == ["input", "cardNumber"]
    assert await Patron.filter(card_number="105550001").count() == 1


async def test_registration_reports_every_bad_field_at_once_and_saves_nothing(client, deps):
    await make_staff(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    payload = await client.mutate(
        "registerPatron", {"cardNumber": "99", "nameKana": "Koga", "birthDate": "20230230", "phone": ["1"]}
    )
    assert sorted(codes(payload)) == ["INVALID_BIRTH_DATE", "INVALID_CARD_NUMBER", "INVALID_NAME_KANA", "INVALID_PHONE"]
    assert await Patron.all().count() == 0


@pytest.mark.parametrize("who", ["guest", "patron"])
async def test_only_staff_may_register_patrons(client, deps, who):
    if who == "patron":
        await make_patron(deps)
        await client.login("101234567", DEFAULT_PASSWORD)
    payload = await client.mutate("registerPatron", NEW_PATRON)
    assert codes(payload) == (["NOT_AUTHENTICATED"] if who == "guest" else ["FORBIDDEN"])
    assert not await Patron.filter(card_number="105550001").exists()


async def test_a_staff_session_is_not_a_patron_session(client, deps):
    await make_staff(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    data = await client.query("{ viewer { cardNumber } currentStaff { username role } }")
    assert data == {"viewer": None, "currentStaff": {"username": "desk1", "role": "DESK"}}
    payload = await client.mutate(
        "changePassword", {"currentPassword": STAFF_PASSWORD, "newPassword": "abcd1", "newPasswordConfirmation": "abcd1"}
    )
    assert codes(payload) == ["FORBIDDEN"]


async def test_a_patron_session_is_not_a_staff_session(client, deps):
    await make_patron(deps)
    await client.login("101234567", DEFAULT_PASSWORD)
    assert (await client.query("{ currentStaff { username } }")) == {"currentStaff": None}


async def test_staff_login_failures_look_alike_and_are_throttled(client, deps):
    await make_staff(deps)
    wrong = await client.mutate("staffLogin", {"username": "desk1", "password": "nope"})
    unknown = await client.mutate("staffLogin", {"username": "ghost", "password": "nope"})
    assert wrong["errors"] == unknown["errors"] and codes(wrong) == ["INVALID_CREDENTIALS"]
    for _ in range(4):
        await client.mutate("staffLogin", {"username": "desk1", "password": "nope"})
    assert codes(await client.mutate("staffLogin", {"username": "desk1", "password": STAFF_PASSWORD})) == [
        "RATE_LIMITED"
    ]


async def test_staff_passwords_must_be_long(deps):
    from app.domain import accounts
    from app.domain.errors import DomainError, ErrorCode

    with pytest.raises(DomainError) as refused:
        await accounts.create_staff(deps, "short", "abc123")
    assert refused.value.code is ErrorCode.WEAK_PASSWORD


LOOKUP = """query($card: String!) { patronByCardNumber(cardNumber: $card) {
  cardNumber nameKana loans { totalCount } holds { totalCount } favorites { totalCount } readingHistory { totalCount }
} }"""


async def test_the_desk_looks_a_patron_up_by_card_number_without_seeing_their_private_shelves(client, deps):
    await make_staff(deps)
    await make_patron(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    found = (await client.query(LOOKUP, {"card": "１０１２３４５６７"}))["patronByCardNumber"]
    assert found["cardNumber"] == "101234567" and found["loans"]["totalCount"] == 0
    assert found["favorites"] is None and found["readingHistory"] is None
    assert (await client.query(LOOKUP, {"card": "109999999"}))["patronByCardNumber"] is None
    assert (await client.query(LOOKUP, {"card": "junk"}))["patronByCardNumber"] is None


@pytest.mark.parametrize("who", ["guest", "patron"])
async def test_only_staff_can_look_patrons_up(client, deps, who):
    await make_patron(deps)
    await make_patron(deps, "107654321")
    if who == "patron":
        await client.login("107654321", DEFAULT_PASSWORD)
    assert (await client.query(LOOKUP, {"card": "101234567"}))["patronByCardNumber"] is None
