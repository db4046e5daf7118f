"""The whole story of a popular book, through the GraphQL API alone (staff desk + patrons' My Page):
A borrows, B holds, A cannot renew, A returns, B's hold is ready, B collects; C's hold expires and
the copy moves on to D, whose hold expires too, and the copy goes back to the shelf."""

from datetime import date

from app.domain import circulation
from app.models import Item, Notice
from app.models.enums import NoticeKind
from tests.circulation_support import HOLD_FIELDS, gid, logged_in, my_holds, my_loans, patron
from tests.support import STAFF_PASSWORD, make_staff, make_title

CANCELLED = "{ viewer { cancelledHolds { edges { node { status cancelReason cancelledOn } } } } }"


async def _ready_notices(patron_id: int) -> list[dict]:
    return [n.data for n in await Notice.filter(kind=NoticeKind.HOLD_READY, patron_id=patron_id).order_by("id")]


async def test_a_popular_book_goes_round_the_queue(app, client, deps, clock):
    a, b, c, d = [await patron(deps, n) for n in range(1, 5)]
    title = await make_title(deps, "話題の新刊")
    barcode = (await Item.get(title_id=title.id)).barcode
    await make_staff(deps)
    desk = client

    async def at_the_desk(operation: str, input: dict, selection: str) -> dict:
        await desk.staff_login("desk1", STAFF_PASSWORD)
        payload = await desk.mutate(operation, input, selection)
        assert payload["errors"] == [], payload["errors"]
        return payload

    # Saturday 11-28: A borrows the only copy.
    lent = await at_the_desk("checkoutItem", {"cardNumber": a.card_number, "barcode": barcode}, "loan { id dueDate }")
    assert lent["loan"]["dueDate"] == "2026-12-12"

    # B, C and D find every copy out and place web holds, in that order.
    for n, holder in enumerate((b, c, d), start=1):
        clock.advance(minutes=10)
        async with logged_in(app, holder) as me:
            placed = await me.mutate("placeHold", {"titleId": gid("Title", title.id)}, f"hold {{ {HOLD_FIELDS} }}")
            assert placed["errors"] == [] and placed["hold"]["queuePosition"] == n

    # A would like more time, but someone is waiting: the button is disabled, with the reason.
    async with logged_in(app, a) as me:
        (loan,) = await my_loans(me)
        assert loan["renewability"]["reasons"] == ["RENEWAL_BLOCKED_BY_HOLD"]
        refused = await me.mutate("renewLoan", {"loanId": loan["id"]})
        assert [e["code"] for e in refused["errors"]] == ["RENEWAL_BLOCKED_BY_HOLD"]

    # Thursday 12-03: A returns it; the copy is kept for B until 12-10 and B is told.
    clock.set_date(date(2026, 12, 3))
    back = await at_the_desk("checkinItem", {"barcode": barcode},
                             "trappedHold { status pickupDeadline patron { cardNumber } }")
    assert back["trappedHold"] == {"status": "READY", "pickupDeadline": "2026-12-10",
                                   "patron": {"cardNumber": b.card_number}}
    assert [n["pickup_deadline"] for n in await _ready_notices(b.id)] == ["2026-12-10"]
    async with logged_in(app, a) as me:
        assert await my_loans(me) == []
    async with logged_in(app, b) as me:
        (ready,) = await my_holds(me)
        assert (ready["status"], ready["pickupDeadline"], ready["queuePosition"]) == ("READY", "2026-12-10", None)
    async with logged_in(app, c) as me:
        assert [h["queuePosition"] for h in await my_holds(me)] == [1]

    # Saturday 12-05: B collects it at the desk; the hold is complete.
    clock.set_date(date(2026, 12, 5))
    collected = await at_the_desk("checkoutItem", {"cardNumber": b.card_number, "barcode": barcode},
                                  "loan { dueDate } fulfilledHold { status }")
    assert collected == {"errors": [], "loan": {"dueDate": "2026-12-19"}, "fulfilledHold": {"status": "FULFILLED"}}
    async with logged_in(app, b) as me:
        assert await my_holds(me) == []
        assert [loan["title"]["title"] for loan in await my_loans(me)] == ["話題の新刊"]

    # Thursday 12-10: B returns it; now it is C's turn, until 12-17.
    clock.set_date(date(2026, 12, 10))
    back = await at_the_desk("checkinItem", {"barcode": barcode}, "trappedHold { pickupDeadline patron { cardNumber } }")
    assert back["trappedHold"] == {"pickupDeadline": "2026-12-17", "patron": {"cardNumber": c.card_number}}

    # C never comes. On the deadline day the copy still waits; the day after, the hold expires
    # and the copy moves on to D, who is told (a new notice, a new deadline).
    clock.set_date(date(2026, 12, 17), hour=20)
    assert await circulation.expire_holds(deps) == circulation.ExpiryReport()
    clock.set_date(date(2026, 12, 18), hour=6)
    assert await circulation.expire_holds(deps) == circulation.ExpiryReport(expired=1, moved_on=1)
    async with logged_in(app, c) as me:
        assert await my_holds(me) == []
        assert (await me.query(CANCELLED))["viewer"]["cancelledHolds"]["edges"] == [
            {"node": {"status": "CANCELLED", "cancelReason": "EXPIRED", "cancelledOn": "2026-12-18"}}]
    assert [n["pickup_deadline"] for n in await _ready_notices(d.id)] == ["2026-12-25"]
    async with logged_in(app, d) as me:
        (ready,) = await my_holds(me)
        assert (ready["status"], ready["pickupDeadline"]) == ("READY", "2026-12-25")

    # D does not come either: with nobody left in line, the copy goes back to the shelf.
    clock.set_date(date(2026, 12, 26))
    assert await circulation.expire_holds(deps) == circulation.ExpiryReport(expired=1, shelved=1)
    shelf = await client.query("query($id: ID!) { node(id: $id) { ... on Item { status } } }",
                               {"id": gid("Item", (await Item.get(barcode=barcode)).id)})
    assert shelf == {"node": {"status": "AVAILABLE"}}
