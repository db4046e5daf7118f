"""Cursors are keysets: a "load more" button never loses or repeats a row when rows are added or
removed before the cursor (catalog lists: test_catalog_paging.py; every other list here)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain import circulation, shelves
from app.models import Hold, Notice, Title
from app.models.enums import NoticeKind, NoticeStatus
from tests.circulation_support import gid, hold, lend, lend_all, logged_in, patron
from tests.support import make_staff, make_title, STAFF_PASSWORD


async def _titles(deps, n: int) -> list[Title]:
    return [await make_title(deps, f"本{i}", title_kana=f"ホン{i}", isbn=None, copies=2) for i in range(n)]


async def _page(client, list_path: str, after: str | None, fields: str = "id") -> tuple[list[str], str | None]:
    """One item of the list `viewer { <list_path> }` after the cursor: its ids and the end cursor."""
    data = await client.query(f"query Page($after: String) {{ viewer {{ {list_path}(first: 1, after: $after) "
                              f"{{ pageInfo {{ endCursor }} edges {{ node {{ {fields} }} }} }} }} }}", {"after": after})
    connection = data["viewer"][list_path]
    return [e["node"]["id"] for e in connection["edges"]], connection["pageInfo"]["endCursor"]


async def test_removing_the_first_cart_line_does_not_skip_the_second(app, deps, clock):
    me = await patron(deps, 1)
    a, b, c = await _titles(deps, 3)
    for title in (a, b, c):
        await circulation.add_to_cart(deps, me, title.id)
        clock.advance(minutes=1)
    async with logged_in(app, me) as client:
        first, cursor = await _page(client, "holdCart", None, "id title { id }")
        await circulation.remove_from_cart(deps, me, a.id)
        second, cursor = await _page(client, "holdCart", cursor, "id title { id }")
        third, cursor = await _page(client, "holdCart", cursor, "id title { id }")
    lines = await circulation.cart_lines(me.id)
    assert [first, second, third] == [[gid("HoldCartEntry", line_id)] for line_id in (first_id(first),
                                                                                      lines[0].id, lines[1].id)]
    assert [line.title_id for line in lines] == [b.id, c.id]


def first_id(ids: list[str]) -> int:
    from app.schema.base import decode_global_id

    return decode_global_id(ids[0], "HoldCartEntry")


async def test_a_loan_returned_before_the_cursor_does_not_skip_the_next(app, deps, clock):
    me = await patron(deps, 1)
    titles = await _titles(deps, 3)
    loans = []
    for title in titles:
        loans.append(await lend(deps, me, title))
        clock.advance(days=1)  # due dates one day apart
    async with logged_in(app, me) as client:
        first, cursor = await _page(client, "loans", None)
        item = await loans[0].item
        await circulation.checkin(deps, item.barcode)
        second, cursor = await _page(client, "loans", cursor)
        third, cursor = await _page(client, "loans", cursor)
        end, _ = await _page(client, "loans", cursor)
    assert [first, second, third, end] == [[gid("Loan", loans[0].id)], [gid("Loan", loans[1].id)],
                                           [gid("Loan", loans[2].id)], []]


async def test_a_renewed_loan_moves_to_its_new_place_and_nothing_is_lost(app, deps, clock):
    me = await patron(deps, 1)
    titles = await _titles(deps, 3)
    loans = []
    for title in titles:
        loans.append(await lend(deps, me, title))
        clock.advance(days=1)
    async with logged_in(app, me) as client:
        seen, cursor = await _page(client, "loans", None)
        await circulation.renew_loan(deps, me, loans[0].id)  # now due last: after the cursor again
        while cursor:
            ids, cursor = await _page(client, "loans", cursor)
            seen += ids
    assert seen == [gid("Loan", loans[0].id), gid("Loan", loans[1].id), gid("Loan", loans[2].id),
                    gid("Loan", loans[0].id)]


async def test_a_hold_cancelled_before_the_cursor_does_not_skip_the_next(app, deps, clock):
    me, other = await patron(deps, 1), await patron(deps, 2)
    titles = await _titles(deps, 3)
    holds = []
    for title in titles:
        await lend_all(deps, other, title)
        holds.append(await hold(deps, me, title))
        clock.advance(minutes=1)
    async with logged_in(app, me) as client:
        first, cursor = await _page(client, "holds", None)
        await circulation.cancel_hold(deps, holds[0].id, patron=me)
        second, cursor = await _page(client, "holds", cursor)
        third, _ = await _page(client, "holds", cursor)
    assert [first, second, third] == [[gid("Hold", h.id)] for h in holds]


async def test_newest_first_favorites_do_not_repeat_when_a_newer_one_is_added(app, deps, clock):
    me = await patron(deps, 1)
    titles = await _titles(deps, 4)
    favorites = []
    for title in titles[:3]:
        favorites.append(await shelves.add_favorite(deps, me, title.id))
        clock.advance(minutes=1)
    async with logged_in(app, me) as client:
        first, cursor = await _page(client, "favorites", None)
        await shelves.add_favorite(deps, me, titles[3].id)  # newest: before the cursor
        second, cursor = await _page(client, "favorites", cursor)
        third, cursor = await _page(client, "favorites", cursor)
        end, _ = await _page(client, "favorites", cursor)
    assert [first, second, third, end] == [[gid("Favorite", f.id)] for f in reversed(favorites)] + [[]]


async def test_a_shelf_deleted_before_the_cursor_does_not_skip_the_next(app, deps):
    me = await patron(deps, 1)
    made = [await shelves.create_bookshelf(deps, me, name) for name in ("絵本", "図鑑", "小説")]
    async with logged_in(app, me) as client:
        first, cursor = await _page(client, "bookshelves", None)
        await shelves.delete_bookshelf(me, made[0].id)
        second, cursor = await _page(client, "bookshelves", cursor)
        third, _ = await _page(client, "bookshelves", cursor)
    assert [first, second, third] == [[gid("Bookshelf", s.id)] for s in made]


async def test_shelf_entries_and_reading_history_hold_their_place_as_newer_rows_arrive(app, deps, clock):
    me = await patron(deps, 1)
    titles = await _titles(deps, 4)
    shelf = await shelves.create_bookshelf(deps, me, "小説")
    for title in titles[:3]:
        await shelves.add_to_bookshelf(deps, me, shelf.id, title.id)
        clock.advance(minutes=1)
    await shelves.set_reading_history_enabled(deps, me, True)
    for day, title in enumerate(titles[:3]):
        await shelves.record_checkout(me, title.id, clock.today() + timedelta(days=day))
    query = ("query Q($after: String) { node(id: \"%s\") { ... on Bookshelf { entries(first: 2, after: $after) "
             "{ pageInfo { endCursor } edges { node { id title { id } } } } } } }" % gid("Bookshelf", shelf.id))
    async with logged_in(app, me) as client:
        page = (await client.query(query))["node"]["entries"]
        await shelves.add_to_bookshelf(deps, me, shelf.id, titles[3].id)
        rest = (await client.query(query, {"after": page["pageInfo"]["endCursor"]}))["node"]["entries"]
        shelved = [e["node"]["title"]["id"] for e in page["edges"] + rest["edges"]]

        history, cursor = [], None
        for step in range(4):
            ids, cursor = await _page(client, "readingHistory", cursor, "id title { id }")
            history += ids
            if step == 0:
                await shelves.record_checkout(me, titles[3].id, clock.today() + timedelta(days=9))
            if not cursor:
                break
    assert shelved == [gid("Title", t.id) for t in reversed(titles[:3])]
    assert len(history) == 3 and len(set(history)) == 3


async def _notice(deps, clock, me, n: int, status: NoticeStatus = NoticeStatus.SENT) -> Notice:
    clock.advance(minutes=1)
    return await Notice.create(kind=NoticeKind.HOLD_RECEIVED, patron_id=me.id if me else None,
                               to_address="p1@example.jp", dedupe_key=f"test:{n}", status=status,
                               next_attempt_at=clock.now(), created_at=clock.now(),
                               failed_at=clock.now() if status is NoticeStatus.FAILED else None)


async def test_notices_newest_first_hold_their_place_as_new_ones_are_written(app, deps, clock):
    me = await patron(deps, 1)
    written = [await _notice(deps, clock, me, n) for n in range(3)]
    async with logged_in(app, me) as client:
        first, cursor = await _page(client, "notices", None)
        await _notice(deps, clock, me, 9)
        second, cursor = await _page(client, "notices", cursor)
        third, _ = await _page(client, "notices", cursor)
    assert [first, second, third] == [[gid("Notice", n.id)] for n in reversed(written)]


async def test_failed_notices_page_for_staff_as_failures_come_and_go(app, deps, clock, other_client):
    me = await patron(deps, 1)
    failed = [await _notice(deps, clock, me, n, NoticeStatus.FAILED) for n in range(3)]
    await make_staff(deps)
    await other_client.staff_login("desk1", STAFF_PASSWORD)
    query = ("query Q($after: String) { failedNotices(first: 1, after: $after) { pageInfo { endCursor } "
             "edges { node { id } } } }")
    page = (await other_client.query(query))["failedNotices"]
    await Notice.filter(id=failed[2].id).update(status=NoticeStatus.PENDING)  # requeued: gone before the cursor
    await _notice(deps, clock, me, 9, NoticeStatus.FAILED)  # a new failure: also before it
    rest = (await other_client.query(query, {"after": page["pageInfo"]["endCursor"]}))["failedNotices"]
    assert [e["node"]["id"] for e in page["edges"] + rest["edges"]] == [gid("Notice", failed[2].id),
                                                                         gid("Notice", failed[1].id)]


async def test_cancelled_holds_latest_first_hold_their_place_as_more_are_cancelled(app, deps, clock):
    me, other = await patron(deps, 1), await patron(deps, 2)
    titles = await _titles(deps, 4)
    holds = []
    for title in titles:
        await lend_all(deps, other, title)
        holds.append(await hold(deps, me, title))
    for placed in holds[:3]:
        clock.advance(minutes=1)
        await circulation.cancel_hold(deps, placed.id, patron=me)
    async with logged_in(app, me) as client:
        first, cursor = await _page(client, "cancelledHolds", None)
        clock.advance(minutes=1)
        await circulation.cancel_hold(deps, holds[3].id, patron=me)  # the latest: before the cursor
        second, cursor = await _page(client, "cancelledHolds", cursor)
        third, _ = await _page(client, "cancelledHolds", cursor)
    assert [first, second, third] == [[gid("Hold", h.id)] for h in reversed(holds[:3])]


@pytest.mark.parametrize("list_path", ["loans", "holds", "holdCart", "favorites", "notices", "cancelledHolds"])
async def test_a_cursor_of_another_list_is_a_typed_refusal(app, deps, list_path):
    me = await patron(deps, 1)
    titles = await _titles(deps, 1)
    await circulation.add_to_cart(deps, me, titles[0].id)
    async with logged_in(app, me) as client:
        _ids, cursor = await _page(client, "holdCart", None)
        wrong = cursor if list_path != "holdCart" else "YXJyYXljb25uZWN0aW9uOjA="  # an old offset cursor
        body = await client.execute(f'{{ viewer {{ {list_path}(first: 1, after: "{wrong}") {{ totalCount }} }} }}')
    assert (body["data"]["viewer"] or {}).get(list_path) is None  # null where the list was (or its parent)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- the cursor's encoding ----------------------------------------------------------------------

from base64 import b64decode  # noqa: E402
import json  # noqa: E402
from datetime import date, datetime, timezone  # noqa: E402

from hypothesis import given, strategies as st  # noqa: E402
from strawberry import relay  # noqa: E402

from app.schema.base import decode_cursor, encode_cursor  # noqa: E402


def _reference_cursor(kind: str, key: list) -> str:
    """The cursor as the standard library writes it, which `encode_cursor`'s orjson must match."""
    values = [v.isoformat() if isinstance(v, date) else v for v in key]
    return relay.to_base64(kind, json.dumps(values, ensure_ascii=False, separators=(",", ":")))


_KEY_PARTS = st.one_of(
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    st.text(max_size=40),  # kana, kanji, quotes, backslashes, control characters, emoji
    st.dates(),
    st.datetimes(timezones=st.just(timezone.utc)),
)


@given(kind=st.sampled_from(["loans", "titles.relevance", "holds"]), key=st.lists(_KEY_PARTS, min_size=1, max_size=4))
def test_a_cursor_is_the_same_text_as_the_standard_librarys_json_would_write(kind, key):
    assert encode_cursor(kind, key) == _reference_cursor(kind, key)


def test_a_cursor_with_japanese_text_and_a_date_reads_back_as_its_key():
    key = ["さくら「桜」\"\\\t", date(2026, 4, 1), 42]
    cursor = encode_cursor("shelf", key)
    assert b64decode(cursor).decode().startswith("shelf:")
    assert decode_cursor(cursor, "shelf", [str, date, int]) == tuple(key)
