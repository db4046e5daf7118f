"""Web予約, 予約中一覧 and 取消済予約一覧: who may hold what, the queue, and cancelling."""

from app.domain import circulation
from app.models import Hold, Item, Notice
from app.models.enums import HoldSource, HoldStatus, ItemStatus, NoticeKind, NoticeStatus
from tests.circulation_support import HOLD_FIELDS, gid, hold, lend, lend_all, logged_in, my_holds, patron
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, codes, make_item, make_staff, make_title


async def _place(client, title_id: int):
    return await client.mutate("placeHold", {"titleId": gid("Title", title_id)}, f"hold {{ {HOLD_FIELDS} }}")


async def _cancel(client, hold_id: int):
    return await client.mutate("cancelHold", {"holdId": gid("Hold", hold_id)}, "hold { status cancelReason cancelledOn }")


async def test_a_patron_holds_a_title_whose_copies_are_all_out(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps, "こころ", copies=2)
    await lend_all(deps, lender, title)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    payload = await _place(client, title.id)

    assert payload["errors"] == []
    assert payload["hold"] | {"id": None} == {
        "id": None, "status": "WAITING", "source": "WEB", "queuePosition": 1, "placedOn": "2026-11-28",
        "pickupDeadline": None, "cancellable": True, "title": {"title": "こころ"},
    }
    held = await Hold.get(patron_id=hanako.id)
    assert held.contact_email == "p2@example.jp"
    # 予約受付 is recorded in the outbox with the hold (titles stay out of it by default).
    notice = await Notice.get(kind=NoticeKind.HOLD_RECEIVED)
    assert (notice.patron_id, notice.to_address, notice.status) == (hanako.id, "p2@example.jp", NoticeStatus.PENDING)
    assert notice.dedupe_key == f"hold_received:{held.id}"
    assert notice.data == {"hold_id": held.id, "placed_on": "2026-11-28", "source": "web"}


async def test_cannot_hold_a_title_with_a_copy_on_the_shelf(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps, copies=2)
    await lend(deps, lender, title)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    payload = await _place(client, title.id)

    assert payload["errors"] == [{"code": "TITLE_AVAILABLE_ON_SHELF", "field": ["input", "titleId"],
                                  "message": "この資料は貸出可能です。予約せずに図書館でお借りください。"}]
    assert not await Hold.exists() and not await Notice.exists()


async def test_cannot_web_hold_a_title_the_library_does_not_own(client, deps):
    hanako = await patron(deps, 1)
    unowned = await make_title(deps, "相互貸借の本", copies=0)
    reference_only = await make_title(deps, "郷土資料", copies=0)
    await make_item(deps, reference_only, loanable=False)
    withdrawn = await make_title(deps, "除籍済みの本", copies=0)
    await make_item(deps, withdrawn, status=ItemStatus.WITHDRAWN)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    for title in (unowned, withdrawn):
        assert codes(await _place(client, title.id)) == ["TITLE_NOT_OWNED"]
    assert codes(await _place(client, reference_only.id)) == ["TITLE_REFERENCE_ONLY"]
    assert codes(await _place(client, withdrawn.id + 100)) == ["NOT_FOUND"]
    assert codes(await client.mutate("placeHold", {"titleId": "bogus"})) == ["NOT_FOUND"]


async def test_a_web_hold_needs_a_contact_email(client, deps):
    lender, taro = await patron(deps, 1), await patron(deps, 2, email=False)
    title = await make_title(deps)
    await lend(deps, lender, title)
    await client.login(taro.card_number, DEFAULT_PASSWORD)

    payload = await _place(client, title.id)

    assert payload["errors"] == [{"code": "NO_CONTACT_EMAIL", "field": None,
                                  "message": "予約のご連絡はメールのみです。先にメールアドレスを登録してください。"}]
    assert not await Hold.exists()


async def test_one_hold_per_title(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps)
    await lend(deps, lender, title)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    assert (await _place(client, title.id))["errors"] == []
    assert codes(await _place(client, title.id)) == ["ALREADY_HELD"]
    assert await Hold.filter(patron_id=hanako.id).count() == 1


async def test_cannot_hold_a_title_you_have_on_loan(client, deps):
    hanako, other = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps, copies=2)
    await lend(deps, hanako, title)
    await lend(deps, other, title)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    assert codes(await _place(client, title.id)) == ["ALREADY_ON_LOAN"]


async def test_at_most_ten_holds_counting_every_source(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    titles = [await make_title(deps, f"本{n}") for n in range(12)]
    for title in titles:
        await lend(deps, lender, title)
    sources = [HoldSource.WEB] * 6 + [HoldSource.COUNTER, HoldSource.INTERLIBRARY_LOAN, HoldSource.PURCHASE_REQUEST]
    for title, source in zip(titles, sources):
        await hold(deps, hanako, title, source)
    # A tenth, already ready for pickup, counts as well.
    await hold(deps, hanako, titles[9])
    await circulation.checkin(deps, (await Item.get(title_id=titles[9].id)).barcode)
    assert (await Hold.get(patron_id=hanako.id, title_id=titles[9].id)).status is HoldStatus.READY
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    refused = await _place(client, titles[10].id)

    assert refused["errors"] == [{"code": "HOLD_LIMIT_REACHED", "field": ["input", "titleId"],
                                  "message": "予約できるのは図書・雑誌あわせて10冊までです。"}]
    first = await Hold.get(patron_id=hanako.id, title_id=titles[0].id)
    assert (await _cancel(client, first.id))["errors"] == []
    assert (await _place(client, titles[10].id))["errors"] == []
    assert codes(await _place(client, titles[11].id)) == ["HOLD_LIMIT_REACHED"]


async def test_each_patron_sees_their_place_in_line(app, deps):
    lender = await patron(deps, 1)
    first, second, third = await patron(deps, 2), await patron(deps, 3), await patron(deps, 4)
    popular, quiet = await make_title(deps, "話題の本"), await make_title(deps, "静かな本")
    await lend(deps, lender, popular)
    await lend(deps, lender, quiet)
    for holder in (first, second, third):
        await hold(deps, holder, popular)
    await hold(deps, third, quiet)

    async with logged_in(app, third) as client:
        positions = {h["title"]["title"]: h["queuePosition"] for h in await my_holds(client)}
        assert positions == {"話題の本": 3, "静かな本": 1}
    await circulation.cancel_hold(deps, (await Hold.get(patron_id=first.id)).id, patron=first)
    async with logged_in(app, third) as client:
        assert [h["queuePosition"] for h in await my_holds(client)] == [2, 1]
    async with logged_in(app, second) as client:
        assert [h["queuePosition"] for h in await my_holds(client)] == [1]


async def test_ready_holds_come_first_with_their_pickup_deadline(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    waiting_title, ready_title = await make_title(deps, "待っている本"), await make_title(deps, "届いた本")
    await lend(deps, lender, waiting_title)
    await lend(deps, lender, ready_title)
    await hold(deps, hanako, waiting_title)
    await hold(deps, hanako, ready_title)
    await circulation.checkin(deps, (await Item.get(title_id=ready_title.id)).barcode)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    ready, waiting = await my_holds(client)

    assert (ready["title"]["title"], ready["status"], ready["queuePosition"], ready["pickupDeadline"]) == (
        "届いた本", "READY", None, "2026-12-05")
    assert ready["cancellable"] is True
    assert (waiting["status"], waiting["queuePosition"], waiting["pickupDeadline"]) == ("WAITING", 1, None)


async def test_cancelling_a_waiting_hold_moves_it_to_the_cancelled_list(client, deps, clock):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps, "こころ")
    await lend(deps, lender, title)
    placed = await hold(deps, hanako, title)
    clock.advance(days=1)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    payload = await _cancel(client, placed.id)

    assert payload == {"errors": [], "hold": {"status": "CANCELLED", "cancelReason": "PATRON", "cancelledOn": "2026-11-29"}}
    assert await my_holds(client) == []
    data = await client.query(
        "{ viewer { cancelledHolds { totalCount edges { node { title { title } status cancelReason cancelledOn"
        " cancellable queuePosition } } } } }"
    )
    assert data["viewer"]["cancelledHolds"] == {"totalCount": 1, "edges": [{"node": {
        "title": {"title": "こころ"}, "status": "CANCELLED", "cancelReason": "PATRON", "cancelledOn": "2026-11-29",
        "cancellable": False, "queuePosition": None}}]}
    assert codes(await _cancel(client, placed.id)) == ["HOLD_NOT_CANCELLABLE"]


async def test_cancelling_a_ready_hold_passes_the_copy_to_the_next_in_line(client, deps):
    lender, hanako, taro = await patron(deps, 1), await patron(deps, 2), await patron(deps, 3)
    title = await make_title(deps)
    await lend(deps, lender, title)
    mine = await hold(deps, hanako, title)
    await hold(deps, taro, title)
    item = await Item.get(title_id=title.id)
    await circulation.checkin(deps, item.barcode)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    assert (await _cancel(client, mine.id))["errors"] == []

    taros = await Hold.get(patron_id=taro.id)
    assert (taros.status, taros.item_id, taros.pickup_deadline.isoformat()) == (HoldStatus.READY, item.id, "2026-12-05")
    assert await Notice.filter(kind=NoticeKind.HOLD_READY, patron_id=taro.id).count() == 1
    assert (await Item.get(id=item.id)).status is ItemStatus.ON_HOLD_SHELF


async def test_a_cancelled_ready_copy_goes_back_to_the_shelf_when_nobody_waits(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps)
    await lend(deps, lender, title)
    mine = await hold(deps, hanako, title)
    await circulation.checkin(deps, (await Item.get(title_id=title.id)).barcode)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    assert (await _cancel(client, mine.id))["errors"] == []
    assert (await Item.get(title_id=title.id)).status is ItemStatus.AVAILABLE


async def test_another_patrons_hold_is_invisible_and_cannot_be_cancelled(client, deps):
    lender, hanako, taro = await patron(deps, 1), await patron(deps, 2), await patron(deps, 3)
    title = await make_title(deps)
    await lend(deps, lender, title)
    hanakos = await hold(deps, hanako, title)
    await client.login(taro.card_number, DEFAULT_PASSWORD)

    assert codes(await _cancel(client, hanakos.id)) == ["NOT_FOUND"]
    assert codes(await _cancel(client, hanakos.id + 50)) == ["NOT_FOUND"]
    assert (await client.query("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Hold", hanakos.id)})) == {"node": None}
    assert (await Hold.get(id=hanakos.id)).status is HoldStatus.WAITING


async def test_interlibrary_loan_and_purchase_request_holds_are_cancelled_at_the_counter(client, other_client, deps):
    hanako = await patron(deps, 1)
    await make_staff(deps)
    ill = await hold(deps, hanako, await make_title(deps, "他館の本", copies=0), HoldSource.INTERLIBRARY_LOAN)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    (shown,) = await my_holds(client)
    assert (shown["source"], shown["cancellable"]) == ("INTERLIBRARY_LOAN", False)
    refused = await _cancel(client, ill.id)
    assert codes(refused) == ["HOLD_CANCEL_AT_COUNTER"] and "カウンター" in refused["errors"][0]["message"]

    await other_client.staff_login("desk1", STAFF_PASSWORD)
    done = await other_client.mutate("cancelHoldForPatron", {"holdId": gid("Hold", ill.id)},
                                     "hold { status cancelReason }")
    assert done == {"errors": [], "hold": {"status": "CANCELLED", "cancelReason": "STAFF"}}


async def test_guests_cannot_hold(client, deps):
    title = await make_title(deps)
    assert codes(await _place(client, title.id)) == ["NOT_AUTHENTICATED"]
    assert codes(await client.mutate("cancelHold", {"holdId": gid("Hold", 1)})) == ["NOT_AUTHENTICATED"]
