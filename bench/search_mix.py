"""The catalog search the benchmark drives, and its data path measured in-process.

`bodies()`: the requests of the search scenario, rotated by wrk: every keyword of
`bench.words.SEARCH_KEYWORDS` in each of five views of a result list (relevance, newest,
五十音順, narrowed to titles on the shelf, narrowed to two material types), each asking for 20
titles with their availability, the total and the facets (`bench/queries/search.graphql`).

`data_path()`: the same searches through `app.domain.catalog_search` without HTTP or GraphQL:
the SQL statements and the Python around them, page, count and facets included. Each is timed
cold (a fresh count cache: the first search of a keyword after the catalog changed) and warm
(the cache holding its counts, as for every later search until the next change).
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench.words import SEARCH_KEYWORDS

DOCUMENT = Path(__file__).resolve().parent / "queries" / "search.graphql"
VIEWS: dict[str, dict[str, Any]] = {
    "relevance": {"sort": "RELEVANCE"},
    "newest": {"sort": "NEWEST"},
    "title reading": {"sort": "TITLE_READING"},
    "on the shelf": {"sort": "RELEVANCE", "filter": {"availableNow": True}},
    "picture books, kamishibai": {"sort": "RELEVANCE", "filter": {"materialTypes": ["PICTURE_BOOK", "KAMISHIBAI"]}},
}


def bodies() -> list[str]:
    """One JSON request body per keyword and view."""
    document = DOCUMENT.read_text()
    return [json.dumps({"query": document, "variables": {"keyword": keyword, **view}}, ensure_ascii=False)
            for view in VIEWS.values() for keyword in SEARCH_KEYWORDS]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def data_path(warm_rounds: int = 3) -> dict[str, Any]:
    """Milliseconds of every search of the mix in-process (the database opened by the caller):
    cold and warm, mean, p95 and max, and the slowest keyword of each."""
    from app.domain import catalog_search
    from app.domain.catalog import CatalogFilter
    from app.domain.catalog_search import SearchCache, SearchSort
    from app.models.enums import MaterialType

    def narrowing(view: dict[str, Any]) -> CatalogFilter:
        flt = view.get("filter", {})
        return CatalogFilter(tuple(MaterialType[m] for m in flt.get("materialTypes", ())),
                             flt.get("availableNow", False))

    async def one(cache: SearchCache, keyword: str, view: dict[str, Any]) -> float:
        started = time.perf_counter()
        result = await catalog_search.search(cache, keyword, narrowing(view), SearchSort[view["sort"]], limit=20)
        await result.count()
        await result.facets()  # type: ignore[misc]
        return (time.perf_counter() - started) * 1000

    cold: list[tuple[float, str]] = []
    warm: list[tuple[float, str]] = []
    for name, view in VIEWS.items():
        for keyword in SEARCH_KEYWORDS:
            cache = SearchCache()
            cold.append((await one(cache, keyword, view), f"{keyword} ({name})"))
            for _ in range(warm_rounds):
                warm.append((await one(cache, keyword, view), f"{keyword} ({name})"))

    def summary(samples: list[tuple[float, str]]) -> dict[str, Any]:
        values = [v for v, _ in samples]
        slowest = max(samples)
        return {"mean": statistics.mean(values), "p95": _percentile(values, 95), "max": slowest[0],
                "slowest": slowest[1]}

    return {"searches": len(cold), "cold": summary(cold), "warm": summary(warm)}
