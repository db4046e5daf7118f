"""The circulation desk (貸出・返却・カウンター予約) and the expiry of uncollected holds."""

import os
import subprocess
import sys
from datetime import date

import pytest

from app.domain import calendar, circulation
from app.models import Hold, Item, Loan, Notice, Patron, ReadingHistoryEntry, ReadingTally
from app.models.enums import CancelReason, HoldSource, HoldStatus, ItemStatus, NoticeKind, NoticeStatus
from tests.circulation_support import gid, hold, lend, lend_all, patron
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, codes, make_item, make_staff, make_title

CHECKOUT = "loan { id dueDate checkedOutOn title { title } item { barcode status } } fulfilledHold { status }"
CHECKIN = ("item { barcode status } loan { returnedOn dueDate } "
           "trappedHold { status pickupDeadline patron { cardNumber } item { barcode } }")


@pytest.fixture
async def desk(client, deps):
    """The client, logged in as a desk staff member."""
    await make_staff(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    return client


async def _checkout(desk, card: str, barcode: str):
    return await desk.mutate("checkoutItem", {"cardNumber": card, "barcode": barcode}, CHECKOUT)


async def _checkin(desk, barcode: str):
    return await desk.mutate("checkinItem", {"barcode": barcode}, CHECKIN)


async def test_staff_lends_a_copy_due_after_the_loan_period(desk, deps):
    hanako = await patron(deps, 1)
    title = await make_title(deps, "銀河鉄道の夜")
    item = await Item.get(title_id=title.id)

    payload = await _checkout(desk, hanako.card_number, f" {item.barcode} ")

    assert payload["errors"] == [] and payload["fulfilledHold"] is None
    assert payload["loan"] | {"id": None} == {
        "id": None, "dueDate": "2026-12-12", "checkedOutOn": "2026-11-28", "title": {"title": "銀河鉄道の夜"},
        "item": {"barcode": item.barcode, "status": "ON_LOAN"},
    }
    # The reading marathon counts it; the loan history stays empty without the patron's consent.
    assert (await ReadingTally.get(patron_id=hanako.id)).count == 1
    assert not await ReadingHistoryEntry.exists()


async def test_the_due_date_skips_a_closed_day(desk, deps):
    await calendar.set_day(date(2026, 12, 12), closed=True, note="蔵書点検")
    item = await make_item(deps, await make_title(deps))
    payload = await _checkout(desk, (await patron(deps, 1)).card_number, item.barcode)
    assert payload["loan"]["dueDate"] == "2026-12-13"


async def test_a_copy_that_is_out_or_not_for_loan_cannot_be_lent(desk, deps):
    hanako, taro = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps, copies=0)
    lent = await make_item(deps, title)
    reference = await make_item(deps, title, loanable=False)
    missing = await make_item(deps, title, status=ItemStatus.MISSING)
    await _checkout(desk, hanako.card_number, lent.barcode)

    for barcode in (lent.barcode, reference.barcode, missing.barcode):
        payload = await _checkout(desk, taro.card_number, barcode)
        assert payload["errors"] == [{"code": "ITEM_NOT_AVAILABLE", "field": ["input", "barcode"],
                                      "message": "この資料は貸出できる状態ではありません。"}]
    assert await Loan.all().count() == 1


async def test_unknown_cards_and_barcodes_are_refused(desk, deps):
    hanako = await patron(deps, 1)
    item = await make_item(deps, await make_title(deps, copies=0))
    assert codes(await _checkout(desk, "109999999", item.barcode)) == ["NOT_FOUND"]
    assert (await _checkout(desk, "109999999", item.barcode))["errors"][0]["field"] == ["input", "cardNumber"]
    assert codes(await _checkout(desk, hanako.card_number, "NOPE")) == ["NOT_FOUND"]
    assert codes(await _checkout(desk, "12", "")) == ["INVALID_CARD_NUMBER", "NOT_FOUND"]
    await Patron.filter(id=hanako.id).update(is_active=False)
    assert codes(await _checkout(desk, hanako.card_number, item.barcode)) == ["PATRON_INACTIVE"]
    assert not await Loan.exists()


async def test_a_copy_kept_for_one_patron_is_not_lent_to_another(desk, deps):
    lender, hanako, taro = await patron(deps, 1), await patron(deps, 2), await patron(deps, 3)
    title = await make_title(deps)
    await lend(deps, lender, title)
    await hold(deps, hanako, title)
    item = await Item.get(title_id=title.id)
    await _checkin(desk, item.barcode)

    payload = await _checkout(desk, taro.card_number, item.barcode)

    assert codes(payload) == ["ITEM_HELD_FOR_ANOTHER_PATRON"]
    assert payload["errors"][0]["message"] == "この資料は他の利用者の予約のために取り置かれています。"


async def test_collecting_a_ready_hold_completes_it(desk, deps, app):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps)
    await lend(deps, lender, title)
    await hold(deps, hanako, title)
    item = await Item.get(title_id=title.id)
    await _checkin(desk, item.barcode)

    payload = await _checkout(desk, hanako.card_number, item.barcode)

    assert payload["errors"] == [] and payload["fulfilledHold"] == {"status": "FULFILLED"}
    assert not await Hold.filter(patron_id=hanako.id, status__in=[HoldStatus.WAITING, HoldStatus.READY]).exists()


async def test_once_returned_nothing_links_the_patron_to_the_title(desk, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps)
    await lend(deps, lender, title)
    await hold(deps, hanako, title)
    item = await Item.get(title_id=title.id)
    await _checkin(desk, item.barcode)
    await _checkout(desk, hanako.card_number, item.barcode)
    assert await Hold.filter(patron_id=hanako.id, status=HoldStatus.FULFILLED).exists()

    await _checkin(desk, item.barcode)

    # Neither the loan nor the hold it completed keeps the pair (patron, title).
    assert not await Loan.filter(patron_id=hanako.id).exists()
    assert not await Hold.filter(patron_id=hanako.id).exists()


async def test_staff_cancel_a_ready_hold_and_the_copy_goes_to_the_next_in_line(desk, deps):
    lender, hanako, taro = await patron(deps, 1), await patron(deps, 2), await patron(deps, 3)
    title = await make_title(deps)
    await lend(deps, lender, title)
    ready = await hold(deps, hanako, title)
    await hold(deps, taro, title)
    await _checkin(desk, (await Item.get(title_id=title.id)).barcode)

    payload = await desk.mutate("cancelHoldForPatron", {"holdId": gid("Hold", ready.id)},
                                "hold { status cancelReason } trappedHold { patron { cardNumber } pickupDeadline }")

    assert payload == {"errors": [], "hold": {"status": "CANCELLED", "cancelReason": "STAFF"},
                       "trappedHold": {"patron": {"cardNumber": taro.card_number}, "pickupDeadline": "2026-12-05"}}
    assert codes(await desk.mutate("cancelHoldForPatron", {"holdId": gid("Hold", ready.id)})) == ["HOLD_NOT_CANCELLABLE"]
    assert codes(await desk.mutate("cancelHoldForPatron", {"holdId": gid("Hold", 999)})) == ["NOT_FOUND"]


async def test_taking_another_copy_completes_the_hold_and_frees_the_kept_one(desk, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps, copies=2)
    await lend_all(deps, lender, title)
    await hold(deps, hanako, title)
    kept, other = await Item.filter(title_id=title.id).order_by("id")
    await _checkin(desk, kept.barcode)
    await _checkin(desk, other.barcode)

    payload = await _checkout(desk, hanako.card_number, other.barcode)

    assert payload["fulfilledHold"] == {"status": "FULFILLED"}
    assert (await Item.get(id=kept.id)).status is ItemStatus.AVAILABLE


async def test_a_return_ends_the_loan_and_forgets_the_patron(desk, deps):
    hanako = await patron(deps, 1)
    await Patron.filter(id=hanako.id).update(reading_history_enabled_at=deps.now())
    hanako = await Patron.get(id=hanako.id)
    title = await make_title(deps)
    loan = await lend(deps, hanako, title)
    item = await Item.get(title_id=title.id)

    payload = await _checkin(desk, item.barcode)

    assert payload == {"errors": [], "item": {"barcode": item.barcode, "status": "AVAILABLE"},
                       "loan": {"returnedOn": "2026-11-28", "dueDate": "2026-12-12"}, "trappedHold": None}
    returned = await Loan.get(id=loan.id)
    assert returned.patron_id is None and returned.returned_at is not None
    # The patron chose to keep a history: it lives in its own table, not in the loan.
    assert await ReadingHistoryEntry.filter(patron_id=hanako.id, title_id=title.id).exists()


async def test_a_return_traps_the_copy_for_the_first_in_line(desk, deps, clock):
    lender, hanako, taro = await patron(deps, 1), await patron(deps, 2), await patron(deps, 3)
    title = await make_title(deps)
    await lend(deps, lender, title)
    await hold(deps, hanako, title)
    clock.advance(minutes=5)
    await hold(deps, taro, title)
    # The hold's own contact address is used (the patron chose it for existing holds).
    await Hold.filter(patron_id=hanako.id).update(contact_email="hanako-new@example.jp")
    item = await Item.get(title_id=title.id)

    payload = await _checkin(desk, item.barcode)

    assert payload["errors"] == [] and payload["item"]["status"] == "ON_HOLD_SHELF"
    assert payload["trappedHold"] == {"status": "READY", "pickupDeadline": "2026-12-05",
                                      "patron": {"cardNumber": hanako.card_number}, "item": {"barcode": item.barcode}}
    held = await Hold.get(patron_id=hanako.id)
    notice = await Notice.get(kind=NoticeKind.HOLD_READY)
    assert (notice.patron_id, notice.to_address) == (hanako.id, "hanako-new@example.jp")
    assert notice.dedupe_key == f"hold_ready:{held.id}:2026-11-28"
    assert notice.data == {"hold_id": held.id, "pickup_deadline": "2026-12-05"}
    assert (await Hold.get(patron_id=taro.id)).status is HoldStatus.WAITING


async def test_the_pickup_deadline_skips_closed_days(desk, deps):
    await calendar.set_day(date(2026, 12, 5), closed=True)
    await calendar.set_day(date(2026, 12, 6), closed=True)
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps)
    await lend(deps, lender, title)
    await hold(deps, hanako, title)
    payload = await _checkin(desk, (await Item.get(title_id=title.id)).barcode)
    assert payload["trappedHold"]["pickupDeadline"] == "2026-12-07"


async def test_a_copy_not_on_loan_cannot_be_returned(desk, deps):
    item = await make_item(deps, await make_title(deps, copies=0))
    assert codes(await _checkin(desk, item.barcode)) == ["ITEM_NOT_ON_LOAN"]
    assert codes(await _checkin(desk, "NOPE")) == ["NOT_FOUND"]


async def test_a_new_copy_scanned_in_goes_to_the_first_in_line(desk, deps):
    hanako = await patron(deps, 1)
    wanted = await make_title(deps, "他館から届く本", copies=0)
    await hold(deps, hanako, wanted, HoldSource.INTERLIBRARY_LOAN)
    arrived = await make_item(deps, wanted)

    payload = await _checkin(desk, arrived.barcode)

    assert payload["loan"] is None and payload["trappedHold"]["status"] == "READY"
    assert payload["item"]["status"] == "ON_HOLD_SHELF"


async def test_counter_holds_need_no_email_but_are_recorded_for_contact(desk, deps):
    lender, taro = await patron(deps, 1), await patron(deps, 2, email=False)
    title = await make_title(deps)
    await lend(deps, lender, title)

    payload = await desk.mutate(
        "placeHoldForPatron", {"cardNumber": taro.card_number, "titleId": gid("Title", title.id)},
        "hold { status source contactEmail patron { cardNumber } }",
    )

    assert payload == {"errors": [], "hold": {"status": "WAITING", "source": "COUNTER", "contactEmail": None,
                                              "patron": {"cardNumber": taro.card_number}}}
    held = await Hold.get(patron_id=taro.id)
    assert held.placed_by_id is not None
    notice = await Notice.get(kind=NoticeKind.HOLD_RECEIVED)
    assert (notice.to_address, notice.status, notice.data["source"]) == (None, NoticeStatus.NO_ADDRESS, "counter")


@pytest.mark.parametrize(("source", "expected"), [
    ("COUNTER", ["TITLE_NOT_OWNED"]), ("INTERLIBRARY_LOAN", []), ("PURCHASE_REQUEST", []), ("WEB", ["INVALID_INPUT"]),
])
async def test_only_interlibrary_loans_and_purchase_requests_may_be_for_titles_not_owned(desk, deps, source, expected):
    hanako = await patron(deps, 1)
    unowned = await make_title(deps, "未所蔵の新刊", copies=0)
    payload = await desk.mutate("placeHoldForPatron", {"cardNumber": hanako.card_number,
                                                        "titleId": gid("Title", unowned.id), "source": source})
    assert codes(payload) == expected


async def test_a_counter_hold_follows_the_same_rules(desk, deps):
    hanako = await patron(deps, 1)
    on_shelf = await make_title(deps)
    payload = await desk.mutate("placeHoldForPatron", {"cardNumber": hanako.card_number,
                                                        "titleId": gid("Title", on_shelf.id)})
    assert codes(payload) == ["TITLE_AVAILABLE_ON_SHELF"]
    assert codes(await desk.mutate("placeHoldForPatron", {"cardNumber": "109999999",
                                                          "titleId": gid("Title", on_shelf.id)})) == ["NOT_FOUND"]


@pytest.mark.parametrize("who", ["guest", "patron"])
async def test_the_desk_is_for_staff(client, deps, who):
    hanako = await patron(deps, 1)
    item = await make_item(deps, await make_title(deps, copies=0))
    if who == "patron":
        await client.login(hanako.card_number, DEFAULT_PASSWORD)
    expected = ["NOT_AUTHENTICATED"] if who == "guest" else ["FORBIDDEN"]
    assert codes(await _checkout(client, hanako.card_number, item.barcode)) == expected
    assert codes(await _checkin(client, item.barcode)) == expected
    assert codes(await client.mutate("placeHoldForPatron", {"cardNumber": hanako.card_number,
                                                             "titleId": gid("Title", item.title_id)})) == expected
    assert codes(await client.mutate("cancelHoldForPatron", {"holdId": gid("Hold", 1)})) == expected
    assert not await Loan.exists()


async def test_staff_see_a_patrons_loans_and_holds(desk, deps):
    hanako = await patron(deps, 1)
    await lend(deps, hanako, await make_title(deps, "こころ"))
    data = await desk.query("query($id: ID!) { node(id: $id) { ... on Patron { loans { edges { node { title { title } } } }"
                            " holds { totalCount } } } }", {"id": gid("Patron", hanako.id)})
    assert data["node"] == {"loans": {"edges": [{"node": {"title": {"title": "こころ"}}}]}, "holds": {"totalCount": 0}}


# --- expiry (取置期限切れ) --------------------------------------------------------------------


async def _ready_for(deps, lender, *holders):
    title = await make_title(deps)
    await lend(deps, lender, title)
    for holder in holders:
        await hold(deps, holder, title)
    item = await Item.get(title_id=title.id)
    await circulation.checkin(deps, item.barcode)
    return item


async def test_a_ready_hold_waits_through_its_deadline_day(deps, clock):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    await _ready_for(deps, lender, hanako)
    clock.set_date(date(2026, 12, 5), hour=23)
    assert await circulation.expire_holds(deps) == circulation.ExpiryReport()
    assert (await Hold.get(patron_id=hanako.id)).status is HoldStatus.READY


async def test_an_uncollected_hold_expires_and_the_copy_goes_to_the_next_in_line(deps, clock):
    lender, hanako, taro = await patron(deps, 1), await patron(deps, 2), await patron(deps, 3)
    item = await _ready_for(deps, lender, hanako, taro)
    clock.set_date(date(2026, 12, 6), hour=0)

    report = await circulation.expire_holds(deps)

    assert report == circulation.ExpiryReport(expired=1, moved_on=1, shelved=0)
    expired = await Hold.get(patron_id=hanako.id)
    assert (expired.status, expired.cancel_reason) == (HoldStatus.CANCELLED, CancelReason.EXPIRED)
    taros = await Hold.get(patron_id=taro.id)
    assert (taros.status, taros.item_id, taros.pickup_deadline) == (HoldStatus.READY, item.id, date(2026, 12, 13))
    assert await Notice.filter(kind=NoticeKind.HOLD_READY, patron_id=taro.id).count() == 1
    assert await circulation.expire_holds(deps) == circulation.ExpiryReport()


async def test_an_expired_copy_goes_back_to_the_shelf_when_nobody_waits(deps, clock):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    item = await _ready_for(deps, lender, hanako)
    clock.set_date(date(2026, 12, 9))
    assert await circulation.expire_holds(deps) == circulation.ExpiryReport(expired=1, moved_on=0, shelved=1)
    assert (await Item.get(id=item.id)).status is ItemStatus.AVAILABLE


async def test_the_expire_holds_command(deps, settings):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    item = await _ready_for(deps, lender, hanako)
    # The command runs on the real clock: a deadline long past has expired whatever today is.
    await Hold.filter(patron_id=hanako.id).update(pickup_deadline=date(2001, 1, 1))

    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "expire-holds"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "DATABASE_URL": settings.database_url, "SECRET_KEY": "x"},
    )

    assert result.returncode == 0, result.stderr
    assert "Expired 1" in result.stderr and "1 back to the shelf" in result.stderr
    assert (await Hold.get(patron_id=hanako.id)).cancel_reason is CancelReason.EXPIRED
    assert (await Item.get(id=item.id)).status is ItemStatus.AVAILABLE
