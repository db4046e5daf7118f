"""Keyset cursors on the catalog's lists (searchCatalog, newArrivals, mostHeldTitles): a "load
more" button never skips or repeats a title when titles are added or removed before its cursor,
and a cursor that is not one is a typed refusal."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from strawberry import relay

from app.models import Hold, Title
from app.models.enums import HoldSource, HoldStatus
from tests.support import make_patron, make_title

SEARCH = """
query($keyword: String!, $sort: CatalogSort, $first: Int, $after: String) {
  searchCatalog(keyword: $keyword, sort: $sort, first: $first, after: $after) {
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { title } }
  }
}
"""
ARRIVALS = """
query($first: Int, $after: String) {
  newArrivals(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { title } } }
}
"""
MOST_HELD = """
query($first: Int, $after: String) {
  mostHeldTitles(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { title } } }
}
"""


async def page(client, document: str, field: str, **variables) -> tuple[list[str], str | None]:
    data = (await client.query(document, variables))[field]
    return [e["node"]["title"] for e in data["edges"]], data["pageInfo"]["endCursor"]


async def read_all(client, document: str, field: str, first: int = 2, **variables) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        data = (await client.query(document, {**variables, "first": first, "after": after}))[field]
        seen += [e["node"]["title"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return seen
        after = data["pageInfo"]["endCursor"]


@pytest.mark.parametrize("sort", ["RELEVANCE", "NEWEST", "TITLE_READING"])
async def test_search_pages_neither_skip_nor_repeat_when_titles_come_and_go_before_the_cursor(client, deps, sort):
    # Readings and years make the three orders differ; one title is exactly the keyword.
    for n, (kana, year) in enumerate([("ア", 2001), ("カ", 1999), ("サ", 2003), ("タ", 1998), ("ナ", 2002)]):
        await make_title(deps, f"花の本 {n}", title_kana=f"ハナノホン {kana}", published_year=year)
    await make_title(deps, "花", title_kana="ハナ", published_year=2000)
    everything = await read_all(client, SEARCH, "searchCatalog", keyword="花", sort=sort)
    assert len(everything) == 6

    first, cursor = await page(client, SEARCH, "searchCatalog", keyword="花", sort=sort, first=3)
    assert first == everything[:3]
    # Before the cursor: a shown title goes, a new one arrives that sorts first in every order.
    await Title.filter(title=first[1]).delete()
    await make_title(deps, "花", title_kana="ア", published_year=2030)
    rest, _ = await page(client, SEARCH, "searchCatalog", keyword="花", sort=sort, first=10, after=cursor)
    assert rest == everything[3:]


async def test_search_cursors_are_opaque_and_remember_their_order(client, deps):
    for n in range(3):
        await make_title(deps, f"月の本 {n}", title_kana=f"ツキノホン {n}")
    data = (await client.query(SEARCH, {"keyword": "月", "first": 1}))["searchCatalog"]
    assert data["pageInfo"]["hasNextPage"] and not data["pageInfo"]["hasPreviousPage"]
    cursor = data["edges"][0]["cursor"]
    assert "月" not in cursor and "arrayconnection" not in base64.b64decode(cursor).decode()
    # A cursor of one order is not a cursor of another.
    body = await client.execute(SEARCH, {"keyword": "月", "sort": "TITLE_READING", "after": cursor})
    assert body["errors"][0]["extensions"]["reason"] == "INVALID_CURSOR"
    more = (await client.query(SEARCH, {"keyword": "月", "first": 1, "after": cursor}))["searchCatalog"]
    assert more["pageInfo"]["hasPreviousPage"]


def _cursor(kind: str, payload: str) -> str:
    return relay.to_base64(kind, payload)


@pytest.mark.parametrize("after", [
    "not a cursor", "", "====", "YXJyYXljb25uZWN0aW9uOjA=",  # an offset cursor ("arrayconnection:0")
    _cursor("searchCatalog.relevance", "[1]"), _cursor("searchCatalog.relevance", "[1,2,3]"),
    _cursor("searchCatalog.relevance", '["1",2]'), _cursor("searchCatalog.relevance", "[1,99999999999]"),
    _cursor("searchCatalog.relevance", "[1.5,2]"), _cursor("searchCatalog.relevance", "[true,2]"),
    _cursor("searchCatalog.relevance", "{}"), _cursor("searchCatalog.relevance", "[1,2"),
    _cursor("searchCatalog.title_reading", '["\\u0000",2]'), _cursor("searchCatalog.title_reading", '["\\ud800",2]'),
    _cursor("searchCatalog.title_reading", '["' + "ア" * 400 + '",2]'), _cursor("newArrivals", '["2026-02-30",1]'),
])
async def test_a_malformed_or_out_of_range_cursor_is_a_typed_refusal(client, deps, after):
    await make_title(deps, "星の本")
    for document, field, variables in [(SEARCH, "searchCatalog", {"keyword": "星"}),
                                       (SEARCH, "searchCatalog", {"keyword": "星", "sort": "TITLE_READING"}),
                                       (ARRIVALS, "newArrivals", {}), (MOST_HELD, "mostHeldTitles", {})]:
        body = await client.execute(document, {**variables, "after": after})
        if after == "":
            assert "errors" not in body  # no cursor: the first page
            continue
        assert body["data"] is None, (field, after)
        [error] = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "reason": "INVALID_CURSOR", "argument": "after"}
        assert error["message"] == "ページの指定（カーソル）が正しくありません。一覧の最初から読み直してください。"


async def test_new_arrivals_pages_hold_when_titles_arrive_and_leave(client, deps):
    today = deps.today()
    for n in range(5):
        await make_title(deps, f"新着 {n}", arrived_on=today - timedelta(days=n))
    everything = await read_all(client, ARRIVALS, "newArrivals")
    assert everything == [f"新着 {n}" for n in range(5)]
    first, cursor = await page(client, ARRIVALS, "newArrivals", first=2)
    await Title.filter(title="新着 0").delete()
    await make_title(deps, "今日の新着", arrived_on=today)
    rest, _ = await page(client, ARRIVALS, "newArrivals", first=10, after=cursor)
    assert rest == everything[2:]


async def test_most_held_pages_hold_when_holds_are_placed_before_the_cursor(client, deps):
    titles = [await make_title(deps, f"人気 {n}", copies=0) for n in range(4)]
    patrons = [await make_patron(deps, f"10123450{n}") for n in range(4)]
    for rank, title in enumerate(titles):  # 人気 0 has 4 holds ... 人気 3 has 1
        for patron in patrons[: 4 - rank]:
            await Hold.create(patron=patron, title=title, source=HoldSource.WEB, status=HoldStatus.WAITING,
                              placed_at=deps.now())
    everything = await read_all(client, MOST_HELD, "mostHeldTitles")
    assert everything == ["人気 0", "人気 1", "人気 2", "人気 3"]
    first, cursor = await page(client, MOST_HELD, "mostHeldTitles", first=2)
    newcomer = await make_title(deps, "新しい人気", copies=0)
    for patron in patrons:
        await Hold.create(patron=patron, title=newcomer, source=HoldSource.WEB, status=HoldStatus.WAITING,
                          placed_at=deps.now())
    await Hold.filter(title=titles[0]).delete()
    rest, _ = await page(client, MOST_HELD, "mostHeldTitles", first=10, after=cursor)
    assert rest == everything[2:]
