"""The limits hold when requests race (many at once through the app, on SQLite and PostgreSQL):
renew once, at most ten holds from any mix of sources, one hold per title, one patron per kept
copy, and one outcome for a copy scanned at two desks at once."""

import asyncio

from app.models import Hold, HoldCartEntry, Item, Loan
from app.models.enums import ACTIVE_HOLD_STATUSES, HoldSource, HoldStatus, ItemStatus
from tests.circulation_support import gid, hold, lend, lend_all, logged_in, patron
from tests.conftest import http_client
from tests.support import STAFF_PASSWORD, GraphQLClient, codes, make_staff, make_title


async def _staff_client(app, deps, username: str = "desk1") -> GraphQLClient:
    await make_staff(deps, username)
    client = GraphQLClient(http_client(app, address="192.0.2.200"))
    await client.staff_login(username, STAFF_PASSWORD)
    return client


async def test_a_loan_is_renewed_once_however_many_clicks_arrive_together(app, deps):
    hanako = await patron(deps, 1)
    loan = await lend(deps, hanako, await make_title(deps))
    async with logged_in(app, hanako) as me:
        payloads = await asyncio.gather(*(me.mutate("renewLoan", {"loanId": gid("Loan", loan.id)}) for _ in range(12)))
    assert sorted(tuple(codes(p)) for p in payloads) == [()] + [("RENEWAL_LIMIT_REACHED",)] * 11
    assert (await Loan.get(id=loan.id)).renewal_count == 1


async def test_one_hold_per_title_under_a_burst_of_requests(app, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps)
    await lend(deps, lender, title)
    async with logged_in(app, hanako) as me:
        payloads = await asyncio.gather(*(me.mutate("placeHold", {"titleId": gid("Title", title.id)}) for _ in range(10)))
    assert sorted(tuple(codes(p)) for p in payloads) == [()] + [("ALREADY_HELD",)] * 9
    assert await Hold.filter(patron_id=hanako.id).count() == 1


async def test_ten_holds_at_most_when_web_cart_and_counter_race(app, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    titles = [await make_title(deps, f"本{n}") for n in range(20)]
    for title in titles:
        await lend(deps, lender, title)
    for title in titles[:7]:
        await hold(deps, hanako, title, HoldSource.COUNTER)
    await HoldCartEntry.bulk_create([HoldCartEntry(patron_id=hanako.id, title_id=t.id, added_at=deps.now())
                                     for t in titles[7:11]])
    desk = await _staff_client(app, deps)
    try:
        async with logged_in(app, hanako) as me:
            web = [me.mutate("placeHold", {"titleId": gid("Title", t.id)}) for t in titles[11:16]]
            cart = [me.mutate("placeHoldsFromCart", {}, "results { hold { id } errors { code } }")]
            counter = [desk.mutate("placeHoldForPatron", {"cardNumber": hanako.card_number, "titleId": gid("Title", t.id),
                                                          "source": "INTERLIBRARY_LOAN"}) for t in titles[16:20]]
            payloads = await asyncio.gather(*web, *cart, *counter)
    finally:
        await desk.http.aclose()

    assert await Hold.filter(patron_id=hanako.id, status__in=ACTIVE_HOLD_STATUSES).count() == 10
    refusals = [c for p in payloads for c in codes(p)]
    refusals += [e["code"] for p in payloads for r in p.get("results", []) for e in r["errors"]]
    assert refusals == ["HOLD_LIMIT_REACHED"] * 10  # 13 tried, 3 places left


async def test_each_kept_copy_is_for_one_patron_and_each_patron_gets_one_copy(app, deps):
    lender = await patron(deps, 1)
    waiting = [await patron(deps, n) for n in range(2, 5)]
    title = await make_title(deps, copies=5)
    await lend_all(deps, lender, title)
    for holder in waiting:
        await hold(deps, holder, title)
    barcodes = [i.barcode for i in await Item.filter(title_id=title.id)]
    desk = await _staff_client(app, deps)
    try:
        payloads = await asyncio.gather(*(desk.mutate("checkinItem", {"barcode": b}, "trappedHold { id }") for b in barcodes))
    finally:
        await desk.http.aclose()

    assert all(p["errors"] == [] for p in payloads)
    trapped = [p["trappedHold"]["id"] for p in payloads if p["trappedHold"]]
    assert len(trapped) == len(set(trapped)) == 3
    ready = await Hold.filter(title_id=title.id, status=HoldStatus.READY)
    assert sorted(h.patron_id for h in ready) == sorted(p.id for p in waiting)
    assert len({h.item_id for h in ready}) == 3
    statuses = sorted(i.status.value for i in await Item.filter(title_id=title.id))
    assert statuses == ["available", "available", "on_hold_shelf", "on_hold_shelf", "on_hold_shelf"]


async def test_a_kept_copy_goes_only_to_its_patron_when_desks_race(app, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    others = [await patron(deps, n) for n in range(3, 7)]
    title = await make_title(deps)
    await lend(deps, lender, title)
    await hold(deps, hanako, title)
    item = await Item.get(title_id=title.id)
    desk = await _staff_client(app, deps)
    try:
        await desk.mutate("checkinItem", {"barcode": item.barcode})
        payloads = await asyncio.gather(*(
            desk.mutate("checkoutItem", {"cardNumber": p.card_number, "barcode": item.barcode}) for p in [*others, hanako]
        ))
    finally:
        await desk.http.aclose()
    *refused, hers = [codes(p) for p in payloads]
    assert hers == []
    # Refused as kept for another (before her loan) or as on loan (after it): never lent.
    assert all(c in (["ITEM_HELD_FOR_ANOTHER_PATRON"], ["ITEM_NOT_AVAILABLE"]) for c in refused), refused
    assert (await Loan.get(item_id=item.id, returned_at=None)).patron_id == hanako.id
    assert await Loan.filter(item_id=item.id, returned_at=None).count() == 1


async def test_a_copy_scanned_for_return_and_loan_at_once_ends_consistent(app, deps):
    lender, borrowers = await patron(deps, 1), [await patron(deps, n) for n in range(2, 6)]
    title = await make_title(deps)
    await lend(deps, lender, title)
    item = await Item.get(title_id=title.id)
    desk = await _staff_client(app, deps)
    try:
        checkins = [desk.mutate("checkinItem", {"barcode": item.barcode}) for _ in range(3)]
        checkouts = [desk.mutate("checkoutItem", {"cardNumber": p.card_number, "barcode": item.barcode}) for p in borrowers]
        payloads = await asyncio.gather(*checkins, *checkouts)
    finally:
        await desk.http.aclose()

    returned = [p for p in payloads[:3] if not p["errors"]]
    lent = [p for p in payloads[3:] if not p["errors"]]
    open_loans = await Loan.filter(item_id=item.id, returned_at=None)
    status = (await Item.get(id=item.id)).status
    # Every interleaving ends in a state the desk can explain: the first loan was returned at
    # most once, each later loan is returned before the next starts, and the copy's status
    # matches whether it is out.
    assert len(open_loans) <= 1
    assert (status is ItemStatus.ON_LOAN) == (len(open_loans) == 1)
    assert len(returned) >= 1 and len(lent) <= len(returned)
    assert await Loan.filter(item_id=item.id).count() == 1 + len(lent)
