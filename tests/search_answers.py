"""What the catalog search answers for every keyword of the benchmark's mix over a generated
catalog (the benchmark's own seed, at a small scale): shared by the tests that compare it with
a plain-Python reference and with the other database.

    python -m tests.search_answers sqlite:///tmp/answers.sqlite3   # migrate, seed, print JSON
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timezone

from app import db
from app.domain.catalog import CatalogFilter
from app.domain.catalog_search import SearchCache, SearchSort, search
from app.models.enums import MaterialType
from app.settings import Settings
from bench import seed
from bench.words import SEARCH_KEYWORDS

TITLES = 1500
SEED_NOW = datetime(2026, 11, 28, 1, 0, tzinfo=timezone.utc)
# Narrowings asked of every keyword and order: none, on the shelf, two material types.
FILTERS = {"all": CatalogFilter(), "on shelf": CatalogFilter(available_now=True),
           "cd, kamishibai": CatalogFilter(material_types=(MaterialType.CD, MaterialType.KAMISHIBAI))}
CHEAP_HASHING = Settings(argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1)


async def seed_catalog() -> None:
    """The benchmark's data set at `TITLES` titles, the same on every database (ids included)."""
    await seed.seed(seed.Scale.tiny(TITLES), now=SEED_NOW, hasher_settings=CHEAP_HASHING)


async def every_page(keyword: str, flt: CatalogFilter, sort: SearchSort, first: int) -> list[int]:
    """The ids of every matching title, read page by page with keyset cursors."""
    cache = SearchCache()
    ids: list[int] = []
    after = None
    while True:
        page = await search(cache, keyword, flt, sort, after=after, limit=first)
        ids += [t.id for t in page.titles[:first]]
        if len(page.titles) <= first:
            return ids
        after = page.keys[first - 1]


async def answers(first: int = 20) -> dict[str, object]:
    """For every keyword, order and narrowing: the first page's ids, the count and the facets."""
    found: dict[str, object] = {}
    for keyword in SEARCH_KEYWORDS:
        for sort in SearchSort:
            for name, flt in FILTERS.items():
                page = await search(SearchCache(), keyword, flt, sort, limit=first)
                count = await page.count()
                facets = await page.facets()  # type: ignore[misc]
                found[f"{keyword} / {sort.value} / {name}"] = {
                    "ids": [t.id for t in page.titles], "count": [count.value, count.exact],
                    "facets": [[m.value, c.value, c.exact] for m, c in facets.material_types]
                    + [["on shelf", facets.available_now.value], ["holdable", facets.holdable.value]],
                }
    return found


async def _main(url: str) -> None:
    await db.migrate(url)
    await db.init_db(url)
    try:
        await seed_catalog()
        print(json.dumps(await answers(), ensure_ascii=False))
    finally:
        await db.close_db()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
