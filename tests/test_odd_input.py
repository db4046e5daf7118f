"""IDs, cursors, card numbers and barcodes take ASCII digits only, in range; anything else is
a typed refusal or "not found", never a crash and never another row."""

from __future__ import annotations

import pytest
from strawberry import relay

from app.schema.base import MAX_ROW_ID, parse_decimal
from tests.support import STAFF_PASSWORD, codes, make_patron, make_staff, make_title

NODE = "query($id: ID!) { node(id: $id) { id ... on Title { title } } }"


@pytest.mark.parametrize("text, value", [
    ("1", 1), ("0", 0), (str(MAX_ROW_ID), MAX_ROW_ID),
    (str(MAX_ROW_ID + 1), None), ("99999999999999999999", None), ("0001", None), ("-1", None), ("+1", None),
    ("²", None), ("١٢", None), ("１２", None), ("1 ", None), ("1\n", None), ("", None), (None, None),
])
def test_ids_and_cursors_are_ascii_digits_in_range(text, value):
    assert parse_decimal(text) == value


async def test_a_title_id_in_other_digits_or_with_leading_zeros_names_no_title(client, deps):
    for n in range(12):
        await make_title(deps, title=f"本{n + 1}")
    assert (await client.query(NODE, {"id": relay.to_base64("Title", 12)}))["node"]["title"] == "本12"
    for node_id in ("١٢", "0012", "0001", "²", "99999999999999999999", "-1"):
        assert (await client.query(NODE, {"id": relay.to_base64("Title", node_id)}))["node"] is None


@pytest.mark.parametrize("cursor", ["99999999999999999999", "²", "-1", "0001"])
async def test_a_cursor_beyond_range_or_in_other_digits_is_a_bad_request(client, cursor):
    after = relay.to_base64("arrayconnection", cursor)
    body = await client.execute('query($after: String) { searchCatalog(after: $after) { totalCount } }',
                                {"after": after})
    # The catalog's lists page by keyset: an offset cursor, whatever its digits, is not one of theirs.
    assert body["errors"][0]["message"] == "ページの指定（カーソル）が正しくありません。一覧の最初から読み直してください。"
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "reason": "INVALID_CURSOR", "argument": "after"}


async def test_mutations_given_huge_ids_find_nothing(client, deps):
    await make_patron(deps)
    await client.login("101234567", "pass1234")
    payload = await client.mutate("addFavorite", {"titleId": relay.to_base64("Title", "99999999999999999999")})
    assert codes(payload) == ["NOT_FOUND"]


@pytest.mark.parametrize("card", ["10١٢٣٤٥٦٧", "10²345678", "101234567\n1"])
async def test_the_desk_cannot_register_a_card_number_in_other_digits(client, deps, card):
    await make_staff(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    payload = await client.mutate("registerPatron", {"cardNumber": card, "nameKana": "コガハナコ",
                                                     "birthDate": "20000101", "phone": ["092", "942", "1151"]})
    assert codes(payload) == ["INVALID_CARD_NUMBER"]


@pytest.mark.parametrize("birth_date", ["١٩٩٠٠٤٠١", "1990⁰401"])
async def test_a_birth_date_in_other_digits_is_refused(client, deps, birth_date):
    await make_staff(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    payload = await client.mutate("registerPatron", {"cardNumber": "105550001", "nameKana": "コガハナコ",
                                                     "birthDate": birth_date, "phone": ["092", "942", "1151"]})
    assert codes(payload) == ["INVALID_BIRTH_DATE"]


@pytest.mark.parametrize("barcode", ["T٠٠٠١", "99999999999999999999999999999999999", "バーコード"])
async def test_a_barcode_that_no_copy_can_carry_is_not_found(client, deps, barcode):
    await make_patron(deps)
    await make_staff(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    payload = await client.mutate("checkoutItem", {"cardNumber": "101234567", "barcode": barcode})
    assert codes(payload) == ["NOT_FOUND"]
