"""The search proven against a plain reading of its rules, and SQLite against PostgreSQL: for a
generated catalog (the benchmark's seed) and every keyword of the benchmark's mix, every order and
narrowing gives the titles, the order, the count and the facets that the rules say, whichever
strategy the counts choose (index candidates or a walk of the order's index) and however the
result is paged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import db
from app.domain.catalog import CatalogFilter
from app.domain.catalog_search import MAX_QUERY_TERMS, SearchCache, SearchSort, search
from app.domain.normalize import search_key_of_parts
from app.domain.search_index import Keyword, reading_key
from bench.words import SEARCH_KEYWORDS
from tests.search_answers import FILTERS, answers, every_page, seed_catalog

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")


@dataclass(frozen=True)
class Row:
    id: int
    title_keys: tuple[str, str]
    other_keys: tuple[str, ...]
    year: int | None
    material: str
    on_shelf: bool
    owned: bool


async def _catalog() -> list[Row]:
    conn = db.connection()
    titles = await conn.execute_query_dict(
        "SELECT id, title, title_kana, author, author_kana, publisher, publisher_kana, published_year, material_type "
        "FROM titles")
    items = await conn.execute_query_dict("SELECT title_id, status, loanable FROM items")
    on_shelf = {i["title_id"] for i in items if i["loanable"] and i["status"] == "available"}
    owned = {i["title_id"] for i in items if i["loanable"] and i["status"] not in ("missing", "withdrawn")}
    rows = []
    for t in titles:
        keys = search_key_of_parts([t["title"], t["title_kana"], t["author"], t["author_kana"], t["publisher"],
                                    t["publisher_kana"]])
        rows.append(Row(t["id"], (keys[0], keys[1]), tuple(keys[2:]), t["published_year"], t["material_type"],
                        t["id"] in on_shelf, t["id"] in owned))
    return rows


def _passes(row: Row, flt: CatalogFilter) -> bool:
    if flt.material_types and row.material not in {m.value for m in flt.material_types}:
        return False
    if flt.available_now and not row.on_shelf:
        return False
    return not flt.holdable or (row.owned and not row.on_shelf)


def reference(rows: list[Row], keyword: str, flt: CatalogFilter, sort: SearchSort) -> list[int]:
    """The rules, read plainly: every term in some field; relevance = the exact title, then every
    term in the title (or its reading), then the rest, newest record first within each."""
    parsed = Keyword.parse(keyword, MAX_QUERY_TERMS)

    def rank(row: Row) -> int:
        if parsed.whole in row.title_keys:
            return 0
        return 1 if all(any(t in k for k in row.title_keys) for t in parsed.terms) else 2

    found = [r for r in rows if _passes(r, flt)
             and all(any(t in k for k in (*r.title_keys, *r.other_keys)) for t in parsed.terms)]
    if sort is SearchSort.RELEVANCE:
        found.sort(key=lambda r: (rank(r), -r.id))
    elif sort is SearchSort.NEWEST:
        found.sort(key=lambda r: (-(r.year or 0), -r.id))
    else:
        found.sort(key=lambda r: (reading_key(r.title_keys[1] or r.title_keys[0]), r.id))
    return [r.id for r in found]


async def test_every_keyword_of_the_benchmark_mix_answers_as_the_rules_say(deps):
    await seed_catalog()
    rows = await _catalog()
    checked = 0
    for keyword in SEARCH_KEYWORDS:
        for sort in SearchSort:
            for name, flt in FILTERS.items():
                expected = reference(rows, keyword, flt, sort)
                # Pages of 3 read to the end; the first pages of 7 and 40 titles (the page size
                # tips the choice between the index's candidates and a walk of the order).
                assert await every_page(keyword, flt, sort, 3) == expected, (keyword, sort, name)
                for first in (7, 40):
                    page = await search(SearchCache(), keyword, flt, sort, limit=first)
                    assert [t.id for t in page.titles[:first]] == expected[:first], (keyword, sort, name, first)
                    count = await page.count()
                    assert count.value == len(expected) and count.exact, (keyword, sort, name)
                # A page kept by the cache (every page, here) is the same page, keys included.
                keeping = SearchCache(costly_page=0)
                found = await search(keeping, keyword, flt, sort, limit=7)
                kept = await search(keeping, keyword, flt, sort, limit=7)
                assert (kept.keys, [t.id for t in kept.titles]) == (found.keys, [t.id for t in found.titles])
                checked += len(expected)
        facets = await (await search(SearchCache(), keyword, CatalogFilter())).facets()  # type: ignore[misc]
        expected_types = {m: len(reference(rows, keyword, CatalogFilter(material_types=(m,)), SearchSort.RELEVANCE))
                          for m, _ in facets.material_types}
        assert {m: c.value for m, c in facets.material_types} == expected_types, keyword
        assert facets.available_now.value == len(reference(rows, keyword, CatalogFilter(available_now=True),
                                                           SearchSort.RELEVANCE))
        assert facets.holdable.value == len(reference(rows, keyword, CatalogFilter(holdable=True), SearchSort.RELEVANCE))
    assert checked > 5_000  # the mix finds plenty at this size (not a vacuous comparison)


@pytest.mark.skipif(not POSTGRES, reason="compares PostgreSQL (TEST_DATABASE_URL) with SQLite, which is always at hand")
async def test_sqlite_and_postgresql_answer_every_keyword_of_the_benchmark_mix_alike(deps, tmp_path):
    """The same generated catalog on both databases: the same titles in the same order, the same
    counts and facets, for every keyword of the mix, every order and narrowing."""
    await seed_catalog()
    here = await answers()
    sqlite = subprocess.run(
        [sys.executable, "-m", "tests.search_answers", f"sqlite://{tmp_path / 'answers.sqlite3'}"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    there = json.loads(sqlite.stdout)
    assert len(here) == len(SEARCH_KEYWORDS) * len(SearchSort) * len(FILTERS)
    different = [key for key in here if here[key] != there.get(key)]
    assert different == [], different[:5]
    assert sum(len(a["ids"]) for a in here.values()) > 1000  # type: ignore[arg-type, index]
