"""資料検索 (F17): keyword search with relevance, newest and 五十音順 orders, narrowing by material
type and availability, facet counts, keyset pages; the same answers on SQLite and PostgreSQL.

A title matches when every term of the keyword occurs in its title, author, publisher or one of
their readings (`app.domain.search_index` says how titles and keywords are reduced). Orders:

- RELEVANCE: the title is exactly the keyword (title or its reading), then the title holds every
  term, then the rest (a term only in the author or publisher); newest record first within each.
- NEWEST: by year of publication, newest first (no year last), then newest record first.
- TITLE_READING: 五十音順 of the title's reading, then oldest record first.

How one search runs, in two or three statements whatever the catalog's size:

1. The catalog's versions (`catalog_versions`, bumped by triggers on every change of titles or
   copies) and its size.
2. The keyword's counts, from `SearchCache` while the versions they were computed at stand, or
   else one grouped statement over the matches: by rank and material type (exact), and, only
   when facets or availability narrowing ask for it, by material type and shelf state, over
   the newest `SHELF_COUNT_LIMIT` matches (exact when there are no more; else a lower bound).
3. One page: candidates from the token index (FTS5 / GIN), or a walk of the order's own index
   when the matches are so many that the walk meets `limit + 1` of them sooner; every
   candidate is confirmed on its search text; the titles and their availability come in the
   same statement. On SQLite the FTS5 index yields candidates newest first, so a relevance
   page stops after `limit + 1` of them; PostgreSQL's GIN index yields a bitmap, so there the
   counts decide between it and the walk. A walk is an index range of `WALK_BUDGET` times its
   expected length; when the matches are bunched elsewhere in the order, the index's
   candidates take over. A page that took over `COSTLY_PAGE` to find is kept by its ids.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Awaitable, Callable, Iterable

from app import db
from app.db import Sql
from app.domain.catalog import (
    Availability, CatalogFilter, Count, ShownTitle, TitlePage, after_key, filter_conditions, lendable_sql,
    on_shelf_sql, read_page,
)
from app.domain.errors import DomainError, ErrorCode
from app.domain.search_index import (
    GROUP_BREAK, MAX_KEYWORD_LENGTH, AllOf, Keyword, Prefix, TokenQuery, any_of, material_token,
)
from app.models.enums import MaterialType

MAX_QUERY_TERMS = 10
# What reading one row costs, in microseconds, measured at 300,000 titles with the catalog in
# memory: a candidate of the token index (SQLite: FTS5 then the row; PostgreSQL: a heap page of
# the GIN bitmap), a row met walking the ids (PostgreSQL: the heap in its own order, many rows
# to a page) or another order's index (a row looked up per entry). The page strategy weighs them.
_ROW_COST = {
    (False, "candidate"): 1.0, (False, "walk by key"): 2.5,
    (True, "candidate"): 1.8, (True, "walk by id"): 0.25, (True, "walk by key"): 5.0,
}
# A walk may read `WALK_BUDGET` times the rows it is expected to before the index takes over;
# a page that took longer than `COSTLY_PAGE` seconds to find is kept in the cache (by its ids).
WALK_BUDGET = 4
COSTLY_PAGE = 0.001
# Shelf states (per title) are counted over at most this many matches, newest first.
SHELF_COUNT_LIMIT = 10_000
# Control characters (tab and line breaks pass: they separate words) and lone surrogates.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class SearchSort(str, Enum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    TITLE_READING = "title_reading"


# Ranks of the relevance order.
EXACT, IN_TITLE, ELSEWHERE = 0, 1, 2
# Shelf states of a title: a copy on the shelf; copies to lend, every one out (holdable, for a
# material type taken on the web); no copy to lend (not owned, or 禁帯出 only).
ON_SHELF, ALL_OUT, NONE_TO_LEND = 0, 1, 2
_ALL_STATES = frozenset((ON_SHELF, ALL_OUT, NONE_TO_LEND))
# After every text key in code point order (SQLite's BINARY, PostgreSQL's "C"): the last code point.
_PAST_TEXT = "\U0010ffff"


def parse_keyword(keyword: str) -> Keyword:
    """The keyword as the index sees it, or a `DomainError` for one no search can take."""
    if len(keyword) > MAX_KEYWORD_LENGTH:
        raise DomainError(ErrorCode.KEYWORD_TOO_LONG, "keyword", limit=MAX_KEYWORD_LENGTH)
    if _FORBIDDEN.search(keyword):
        raise DomainError(ErrorCode.KEYWORD_INVALID_CHARACTER, "keyword")
    return Keyword.parse(keyword, MAX_QUERY_TERMS)


# --- counts and their cache ---------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogState:
    """The versions of the catalog's titles and copies (`catalog_versions`) and its size (the
    highest title id, close enough to weigh strategies)."""

    titles: int
    items: int
    size: int


async def catalog_state() -> CatalogState:
    rows = await db.fetch(
        "SELECT name, version FROM catalog_versions UNION ALL SELECT 'size', coalesce(max(id), 0) FROM titles")
    values = {row["name"]: int(row["version"]) for row in rows}
    return CatalogState(values["titles"], values["items"], values["size"])


@dataclass(frozen=True)
class MatchCounts:
    """Titles matching a keyword by (rank, material type): from the catalog alone, exact."""

    by_rank: dict[tuple[int, str], int]

    def matching(self, materials: frozenset[str] | None = None, ranks: Iterable[int] | None = None) -> int:
        wanted = set(ranks) if ranks is not None else None
        return sum(n for (rank, material), n in self.by_rank.items()
                   if (materials is None or material in materials) and (wanted is None or rank in wanted))


@dataclass(frozen=True)
class ShelfCounts:
    """Matching titles by (material type, shelf state), over the newest `SHELF_COUNT_LIMIT`
    matches: exact when `complete`, else lower bounds."""

    by_state: dict[tuple[str, int], int]
    complete: bool

    def matching(self, materials: frozenset[str] | None, states: frozenset[int]) -> Count:
        return Count(sum(n for (material, state), n in self.by_state.items()
                         if (materials is None or material in materials) and state in states), self.complete)


class SearchCache:
    """Counts of recent keywords, each kept with the catalog versions it was computed at and
    used only while they stand: any change of a title (import, edits) or of a copy (checkout,
    check-in, a hold trapped, an import) bumps a version, so no count is ever stale. Per
    process, least recently used first out."""

    def __init__(self, size: int = 1024, costly_page: float = COSTLY_PAGE) -> None:
        self.size = size
        self.costly_page = costly_page  # seconds: a page found slower than this is kept
        self._entries: OrderedDict[Any, tuple[Any, Any]] = OrderedDict()
        # The catalog's versions as this process read them last (`search` plans with them).
        self.state: CatalogState | None = None

    async def get(self, key: Any, version: Any, compute: Callable[[], Awaitable[Any]]) -> Any:
        """The value kept for `key` at `version`, else `compute()`'s, kept."""
        found = self.peek(key, version)
        if found is None:
            found = await compute()
            self.put(key, version, found)
        return found

    def peek(self, key: Any, version: Any) -> Any:
        """The value kept for `key` at `version`, or None."""
        found = self._entries.get(key)
        if found is None or found[0] != version:
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(self, key: Any, version: Any, value: Any) -> None:
        self._entries[key] = (version, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self.state = None


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facets:
    """How many titles each narrowing option would show, for the keyword and the other options."""

    material_types: tuple[tuple[MaterialType, Count], ...]
    available_now: Count
    holdable: Count


@dataclass
class SearchResult(TitlePage):
    """A page of a search, with the facets of the whole result (lazy) and the terms searched."""

    facets: Callable[[], Awaitable[Facets]] | None = None
    terms: tuple[str, ...] = ()
    known_facets: Facets | None = None  # the facets, when their counts were at hand

    def facets_now(self) -> Facets | Awaitable[Facets] | None:
        """The facets if at hand, else an awaitable of them (None for lists without them)."""
        if self.known_facets is not None:
            return self.known_facets
        return self.facets() if self.facets is not None else None


# --- SQL ----------------------------------------------------------------------------------------


_FTS_SOURCE = "titles_search f JOIN titles t ON t.id = f.rowid"


def _fts_query(query: TokenQuery) -> str:
    """An FTS5 query string: tokens quoted, AND / OR spelled out with parentheses."""
    if isinstance(query, Prefix):
        return _fts_query(query.start) + "*"
    if isinstance(query, str):
        return '"' + query.replace('"', '""') + '"'
    joiner = " AND " if isinstance(query, AllOf) else " OR "
    return "(" + joiner.join(_fts_query(part) for part in query.parts) + ")"


def _tsquery(query: TokenQuery) -> str:
    """A PostgreSQL tsquery: tokens quoted as lexemes, & and | with parentheses."""
    if isinstance(query, Prefix):
        return _tsquery(query.start) + ":*"
    if isinstance(query, str):
        return "'" + query.replace("\\", "\\\\").replace("'", "''") + "'"
    joiner = " & " if isinstance(query, AllOf) else " | "
    return "(" + joiner.join(_tsquery(part) for part in query.parts) + ")"


@dataclass
class _Select:
    """One ordered, limited SELECT of candidate titles: `SELECT <id>, <keys> FROM ... ORDER BY ...`."""

    keys: list[str]  # SQL of the key columns k0, k1... (besides the id)
    order: list[tuple[str, str]]  # (SQL, ASC/DESC) of the order, the id last
    conditions: list[str]
    keyset: list[str] = field(default_factory=list)  # the rows after the cursor (on columns of t)
    text_keys: frozenset[str] = frozenset()  # order expressions of text (the others are numbers)


def _on(sql: str, alias: str) -> str:
    """SQL naming columns of `t` renamed to name those of another alias of titles."""
    return sql.replace("t.", f"{alias}.")


class _Search:
    """The SQL of one keyword and narrowing, in one dialect."""

    def __init__(self, keyword: Keyword, flt: CatalogFilter, postgres: bool) -> None:
        self.keyword = keyword
        self.flt = flt
        self.postgres = postgres
        self.sql = Sql(postgres)
        self.selected = frozenset(m.value for m in flt.material_types) or None
        self.web = frozenset(m.value for m in flt.web_hold_materials) or None
        self.materials = self.selected  # the material types the narrowing leaves
        self.states = _ALL_STATES
        if flt.available_now:
            self.states = self.states & {ON_SHELF}
        if flt.holdable:
            self.states = self.states & {ALL_OUT}
            self.materials = self.holdable_materials()

    def holdable_materials(self) -> frozenset[str] | None:
        """The chosen material types the library takes web holds on (None: any type)."""
        if self.web is None:
            return self.selected
        return self.web if self.selected is None else self.selected & self.web

    @property
    def narrowed_by_shelf(self) -> bool:
        return self.states != _ALL_STATES

    # -- matching --

    def _position(self, part: str) -> str:
        return self.sql.position("t.search_text", self.sql.param(part))

    def _in_title(self, part: str) -> str:
        return f"{self._position(part)} BETWEEN 1 AND {self._position(GROUP_BREAK)}"

    def contains_all(self) -> list[str]:
        return [f"{self._position(term)} > 0" for term in self.keyword.terms]

    def _title_holds_all(self) -> str:
        return " AND ".join(self._in_title(term) for term in self.keyword.terms)

    def _exact(self) -> str | None:
        return self._in_title(f" {self.keyword.whole} ") if self.keyword.exact() else None

    def rank(self) -> str:
        """SQL of a matching title's rank (EXACT, IN_TITLE, ELSEWHERE)."""
        if not self.keyword.terms:
            return str(ELSEWHERE)
        exact = self._exact()
        first = f"WHEN {exact} THEN {EXACT} " if exact else ""
        return f"CASE {first}WHEN {self._title_holds_all()} THEN {IN_TITLE} ELSE {ELSEWHERE} END"

    def ranks(self) -> list[int]:
        if not self.keyword.terms:
            return [ELSEWHERE]
        return [EXACT, IN_TITLE, ELSEWHERE] if self.keyword.exact() else [IN_TITLE, ELSEWHERE]

    def _rank_is(self, rank: int) -> list[str]:
        if not self.keyword.terms:
            return []
        if rank == EXACT:
            return [*self.contains_all(), self._exact()]  # type: ignore[list-item]
        if rank == IN_TITLE:
            exact = self._exact()
            return [self._title_holds_all(), *([f"NOT ({exact})"] if exact else [])]
        return [*self.contains_all(), f"NOT ({self._title_holds_all()})"]

    def _tokens(self, query: TokenQuery | None) -> TokenQuery | None:
        """The token query narrowed to the wanted material types (tokens too)."""
        if self.materials is None:
            return query
        wanted = any_of([material_token(m) for m in sorted(self.materials)])
        return wanted if query is None else AllOf((query, wanted))

    def _rank_tokens(self, rank: int) -> TokenQuery | None:
        if not self.keyword.terms:
            return self._tokens(None)
        if rank == EXACT:
            return self._tokens(self.keyword.exact())
        return self._tokens(self.keyword.in_title() if rank == IN_TITLE else self.keyword.beyond_title())

    def _source(self, tokens: TokenQuery | None) -> tuple[str, list[str], str]:
        """FROM clause, its conditions and the id column: the token index's candidates, or all titles."""
        if tokens is None:
            return "titles t", [], "t.id"
        if self.postgres:
            return "titles t", [f"t.search_grams::tsvector @@ {self.sql.param(_tsquery(tokens))}::tsquery"], "t.id"
        return _FTS_SOURCE, [f"f.titles_search MATCH {self.sql.param(_fts_query(tokens))}"], "f.rowid"

    def select(self, tokens: TokenQuery | None, chosen: _Select, limit: int, budget: int | None = None) -> str:
        """The candidates (index) when `tokens` is given, else a walk of the order's index (of
        at most `budget` rows when given)."""
        source, where, id_column = self._source(tokens)
        order = [(id_column if expr == "t.id" else expr, direction) for expr, direction in chosen.order]
        if tokens is not None and self.postgres:
            # A bitmap of the GIN candidates, then sorted: an expression keeps the planner from
            # walking the order's index instead (the walk is the other strategy, chosen above).
            order = [(f"{expr} || ''" if expr in chosen.text_keys else f"{expr} + 0", d) for expr, d in order]
        keys = "".join(f", {key} AS k{i}" for i, key in enumerate(chosen.keys))
        conditions = [*where, *chosen.conditions, *chosen.keyset]
        if budget is not None:
            conditions.append(self._walk_bound(chosen, budget))
        return (f"SELECT {id_column} AS id{keys} FROM {source} WHERE {' AND '.join(conditions) or 'TRUE'} "
                f"ORDER BY {', '.join(f'{e} {d}' for e, d in order)} LIMIT {self.sql.param(limit)}")

    def _walk_bound(self, chosen: _Select, budget: int) -> str:
        """SQL: the row is at most `budget` rows past the cursor in the order's index: a range of
        the index, so the walk stops there. The bound row is read from the index alone (the
        keyset and the order name columns of `t`, there of `b`); past the last row, no bound."""
        (key, direction), (id_column, _) = chosen.order
        walked = " AND ".join(_on(c, "b") for c in chosen.keyset) or "TRUE"
        order = ", ".join(f"{_on(e, 'b')} {d}" for e, d in chosen.order)

        def bound(expr: str, past: object) -> str:
            return (f"coalesce((SELECT {_on(expr, 'b')} FROM titles b WHERE {walked} ORDER BY {order} "
                    f"LIMIT 1 OFFSET {self.sql.param(budget)}), {self.sql.param(past)})")

        ascending = direction == "ASC"
        last_key = (_PAST_TEXT if key in chosen.text_keys else 2**31 - 1) if ascending else -1
        key_bound, id_bound = bound(key, last_key), bound(id_column, 2**31 - 1 if ascending else -1)
        up_to, before = ("<=", "<") if ascending else (">=", ">")
        return f"{key} {up_to} {key_bound} AND ({key} {before} {key_bound} OR {id_column} {up_to} {id_bound})"

    # -- counts --

    async def match_counts(self) -> MatchCounts:
        search = _Search(self.keyword, CatalogFilter(), self.postgres)
        sql = search.sql
        if not self.keyword.terms:
            rows = await db.fetch("SELECT material_type AS m, count(*) AS n FROM titles GROUP BY material_type")
            return MatchCounts({(ELSEWHERE, str(row["m"])): int(row["n"]) for row in rows})
        source, where, _ = search._source(self.keyword.anywhere())
        rank = search.rank()
        rows = await sql.fetch(
            f"SELECT t.material_type AS m, {rank} AS r, count(*) AS n FROM {source} "
            f"WHERE {' AND '.join([*where, *search.contains_all()])} GROUP BY t.material_type, {rank}")
        return MatchCounts({(int(row["r"]), str(row["m"])): int(row["n"]) for row in rows})

    async def shelf_counts(self, matches: MatchCounts) -> ShelfCounts:
        search = _Search(self.keyword, CatalogFilter(), self.postgres)
        sql = search.sql
        newest = _Select(["t.material_type"], [("t.id", "DESC")], search.contains_all())
        tokens = self.keyword.anywhere() if self.keyword.terms else None
        examined = search.select(tokens, newest, SHELF_COUNT_LIMIT)
        state = (f"CASE WHEN {on_shelf_sql(sql, 'c.id')} THEN {ON_SHELF} "
                 f"WHEN {lendable_sql(sql, 'c.id')} THEN {ALL_OUT} ELSE {NONE_TO_LEND} END")
        rows = await sql.fetch(f"SELECT c.k0 AS m, {state} AS s, count(*) AS n FROM ({examined}) c GROUP BY c.k0, {state}")
        return ShelfCounts({(str(row["m"]), int(row["s"])): int(row["n"]) for row in rows},
                           matches.matching() <= SHELF_COUNT_LIMIT)

    # -- pages --

    def _expected(self, matches: MatchCounts, shelf: ShelfCounts | None, ranks: Iterable[int]) -> int | None:
        """About how many titles of these ranks the narrowing leaves; None when certainly none."""
        n = matches.matching(self.materials, ranks)
        if n and shelf is not None and self.narrowed_by_shelf:
            part = shelf.matching(self.materials, self.states).value
            whole = shelf.matching(self.materials, _ALL_STATES).value
            if part == 0 and shelf.complete:
                return None
            n = max(1, n * part // whole) if whole else n
        return n or None

    def _strategy(self, tokens: TokenQuery | None, expected: int, size: int, limit: int,
                  by_id: bool) -> tuple[bool, int | None]:
        """(use the index, walk budget): read the index's `expected` candidates, or walk the
        order's index, which meets `limit + 1` matches after about (limit + 1) * size / expected
        rows when the matches are spread evenly (`_ROW_COST` weighs the two kinds of rows).
        A walk stops after `WALK_BUDGET` times that (matches bunched in the order, 五十音順 of
        よくわかる…, would have it read most of the catalog) and the index takes over. FTS5
        yields its candidates in id order: for an id order it is always the index there."""
        if tokens is None:
            return False, None  # the whole catalog (or a narrowing of it): a walk finds rows at once
        if by_id and not self.postgres:
            return True, None
        walk = (limit + 1) * max(size, 1) // max(expected, 1)
        walk_cost = _ROW_COST[self.postgres, "walk by id" if by_id else "walk by key"]
        if walk_cost * walk >= _ROW_COST[self.postgres, "candidate"] * expected:
            return True, None
        return False, max(WALK_BUDGET * walk, 200)

    async def page(self, sort: SearchSort, after: tuple | None, limit: int, matches: MatchCounts,
                   shelf: ShelfCounts | None, size: int) -> tuple[list[ShownTitle], list[tuple],
                                                                   dict[int, Availability]]:
        """The page's titles, keys and availability."""
        if sort is SearchSort.RELEVANCE:
            return await self._by_relevance(after, limit, matches, shelf, size)
        return await self._by_order(sort, after, limit, matches, shelf, size)

    async def by_ids(self, sort: SearchSort, ids: list[int]) -> tuple[list[ShownTitle], list[tuple],
                                                                       dict[int, Availability]]:
        """The page of these titles (a page kept by the cache), with their keys and availability now."""
        if not ids:
            return [], [], {}
        self.sql = Sql(self.postgres)
        key, direction = self._order_key(sort)
        listed = ", ".join(self.sql.param(i) for i in ids)
        ranked = f"SELECT t.id AS id, {key} AS k0 FROM titles t WHERE t.id IN ({listed})"
        return await read_page(self.sql, ranked, ["k0", "id"], f"page.k0 {direction}, page.id {'DESC' if sort is SearchSort.RELEVANCE else direction}")

    def _order_key(self, sort: SearchSort) -> tuple[str, str]:
        if sort is SearchSort.RELEVANCE:
            return self.rank(), "ASC"
        if sort is SearchSort.NEWEST:
            return "coalesce(t.published_year, 0)", "DESC"
        return "t.title_reading_key", "ASC"

    async def _by_relevance(self, after: tuple | None, limit: int, matches: MatchCounts, shelf: ShelfCounts | None,
                            size: int) -> tuple[list[ShownTitle], list[tuple], dict[int, Availability]]:
        for walks_allowed in (True, False):
            self.sql = Sql(self.postgres)
            selects, walked = [], False
            narrowing = filter_conditions(self.sql, self.flt)
            for rank in self.ranks():
                if after is not None and rank < after[0]:
                    continue
                expected = self._expected(matches, shelf, [rank])
                if expected is None:
                    continue
                tokens = self._rank_tokens(rank)
                use_index, budget = self._strategy(tokens, expected, size, limit, by_id=True)
                if not walks_allowed and tokens is not None:
                    use_index, budget = True, None
                walked = walked or budget is not None
                keyset = []
                start = after[1] if after is not None and rank == after[0] else None
                if start is not None:
                    keyset.append(f"{'f.rowid' if use_index and not self.postgres else 't.id'} < {self.sql.param(start)}")
                if budget is not None:
                    # Ids are about as many as titles: the walk down the ids (the heap in its own
                    # order) stops `budget` ids below where it starts.
                    keyset.append(f"t.id > {self.sql.param((size + 1 if start is None else start) - budget)}")
                chosen = _Select([str(rank)], [("t.id", "DESC")], [*self._rank_is(rank), *narrowing], keyset)
                selects.append(self.select(tokens if use_index else None, chosen, limit + 1))
            if not selects:
                return [], [], {}
            ranked = (" UNION ALL ".join(f"SELECT * FROM ({s}) s{i}" for i, s in enumerate(selects))
                      + (f" ORDER BY k0, id DESC LIMIT {self.sql.param(limit + 1)}" if len(selects) > 1 else ""))
            titles, keys, known = await read_page(self.sql, ranked, ["k0", "id"], "page.k0, page.id DESC")
            if len(titles) > limit or not walked:
                return titles, keys, known
            # A walk ran out of budget before the page was full: the index's candidates.
        return titles, keys, known

    async def _by_order(self, sort: SearchSort, after: tuple | None, limit: int, matches: MatchCounts,
                        shelf: ShelfCounts | None, size: int) -> tuple[list[ShownTitle], list[tuple],
                                                                        dict[int, Availability]]:
        expected = self._expected(matches, shelf, self.ranks())
        if expected is None:
            return [], [], {}
        key, direction = self._order_key(sort)
        tokens = self._tokens(self.keyword.anywhere() if self.keyword.terms else None)
        use_index, budget = self._strategy(tokens, expected, size, limit, by_id=False)
        while True:
            self.sql = Sql(self.postgres)
            conditions = [*self.contains_all(), *filter_conditions(self.sql, self.flt)]
            keyset = [after_key([key, "t.id"], [direction, direction], self.sql, after)] if after is not None else []
            chosen = _Select([key], [(key, direction), ("t.id", direction)], conditions, keyset,
                             frozenset({"t.title_reading_key"}))
            ranked = self.select(tokens if use_index else None, chosen, limit + 1, budget)
            titles, keys, known = await read_page(self.sql, ranked, ["k0", "id"],
                                                  f"page.k0 {direction}, page.id {direction}")
            if use_index or budget is None or len(titles) > limit:
                return titles, keys, known
            # The walk ran out of budget before the page was full: the index's candidates.
            use_index, budget = True, None


async def search(cache: SearchCache, keyword: str, flt: CatalogFilter = CatalogFilter(),
                 sort: SearchSort = SearchSort.RELEVANCE, *, after: tuple | None = None, limit: int = 20) -> SearchResult:
    """資料検索: titles whose title, author, publisher or readings hold every term of the keyword,
    in the order asked, after the keyset key `after`; an empty keyword lists the whole catalog.
    The count and the facets are computed (or taken from `cache`) when asked."""
    parsed = parse_keyword(keyword)
    if parsed.unsearchable:
        return _nothing(parsed)
    search = _Search(parsed, flt, db.is_postgres())
    page_key = ("page", parsed.terms, parsed.whole, flt, sort, after, limit)

    def page_version(at: CatalogState) -> Any:
        return (at.titles, at.items) if search.narrowed_by_shelf else at.titles

    async def read_page(at: CatalogState, matches: MatchCounts, shelf: ShelfCounts | None) -> PageRead:
        # A page that was costly to find (matches bunched in the order, a long walk) is kept,
        # by its ids, while what it depends on stands; its titles and availability are read anew.
        kept = cache.peek(page_key, page_version(at))
        if kept is not None:
            return await search.by_ids(sort, kept)
        started = time.perf_counter()
        found = await search.page(sort, after, limit, matches, shelf, at.size)
        if time.perf_counter() - started > cache.costly_page:
            cache.put(page_key, page_version(at), [t.id for t in found[0]])
        return found

    # The page is read together with the catalog's versions when the counts it is planned with
    # are kept for the versions read last (one trip to the database instead of two), and used
    # only if the versions still stand: exactly what reading them one after the other gives.
    early: PageRead | None = None
    guess = cache.state
    planned = _planned(cache, search, parsed, guess) if guess is not None and limit > 0 else None
    if planned is not None:
        state, early = await db.together(catalog_state(), read_page(guess, *planned))
        if state != guess:
            early = None
    else:
        state = await catalog_state()
    cache.state = state
    matches: MatchCounts = await cache.get(*_matches_entry(parsed, state), search.match_counts)

    async def shelf() -> ShelfCounts:
        return await cache.get(*_shelf_entry(parsed, state), lambda: search.shelf_counts(matches))

    known_shelf = await shelf() if search.narrowed_by_shelf else None
    titles: list[ShownTitle] = []
    keys: list[tuple] = []
    availability: dict[int, Availability] = {}
    if limit > 0:
        titles, keys, availability = early if early is not None else await read_page(state, matches, known_shelf)

    def counted(shelf_counts: ShelfCounts | None) -> Count:
        if not search.narrowed_by_shelf:
            return Count(matches.matching(search.materials))
        if shelf_counts is None:
            raise RuntimeError("a search narrowed by what is on the shelf is counted with its shelf counts")
        return shelf_counts.matching(search.materials, search.states)

    def faceted(shelf_counts: ShelfCounts) -> Facets:
        by_type = []
        for material in MaterialType:
            only = frozenset((material.value,))
            if flt.holdable and search.web is not None:
                only &= search.web
            by_type.append((material, shelf_counts.matching(only, search.states) if search.narrowed_by_shelf
                            else Count(matches.matching(only))))
        # Each option is counted with the other groups' choices, not its own group's (the
        # material types with the shelf narrowing; on the shelf and holdable with the types).
        return Facets(tuple(by_type), shelf_counts.matching(search.selected, frozenset({ON_SHELF})),
                      shelf_counts.matching(search.holdable_materials(), frozenset({ALL_OUT})))

    async def count() -> Count:
        return counted(known_shelf or (await shelf() if search.narrowed_by_shelf else None))

    async def facets() -> Facets:
        return faceted(await shelf())

    # What is at hand (the counts just read or kept) is given as it is: no coroutine per field.
    at_hand = known_shelf or cache.peek(*_shelf_entry(parsed, state))
    known_facets = None
    if at_hand is not None:  # kept like the counts they come from (immutable, shared)
        facets_key, facets_version = ("facets", parsed.terms, parsed.whole, flt), (state.titles, state.items)
        known_facets = cache.peek(facets_key, facets_version)
        if known_facets is None:
            known_facets = faceted(at_hand)
            cache.put(facets_key, facets_version, known_facets)
    return SearchResult(titles, keys, count, availability, counted(known_shelf), facets=facets, terms=parsed.terms,
                        known_facets=known_facets)


PageRead = tuple[list[ShownTitle], list[tuple], dict[int, Availability]]


# What the cache keeps a keyword's counts under, and the catalog versions they hold for.
def _matches_entry(parsed: Keyword, at: CatalogState) -> tuple[Any, Any]:
    return ("matches", parsed.terms, parsed.whole), at.titles


def _shelf_entry(parsed: Keyword, at: CatalogState) -> tuple[Any, Any]:
    return ("shelf", parsed.terms), (at.titles, at.items)


def _planned(cache: SearchCache, search: _Search, parsed: Keyword,
             at: CatalogState) -> tuple[MatchCounts, ShelfCounts | None] | None:
    """The counts a page is planned with, if kept for the catalog state `at`."""
    matches = cache.peek(*_matches_entry(parsed, at))
    if matches is None:
        return None
    if not search.narrowed_by_shelf:
        return matches, None
    shelf = cache.peek(*_shelf_entry(parsed, at))
    return (matches, shelf) if shelf is not None else None


def _nothing(parsed: Keyword) -> SearchResult:
    """The empty result of a keyword with nothing to search for."""
    async def none() -> Count:
        return Count(0)

    async def facets() -> Facets:
        return Facets(tuple((m, Count(0)) for m in MaterialType), Count(0), Count(0))

    return SearchResult([], [], none, facets=facets, terms=parsed.terms)
