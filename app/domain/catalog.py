"""The catalog (資料を探す・一覧から探す): availability of titles, keyword search, lists.

Search matches Japanese substrings without word segmentation. Every text a title is found by
and every query are reduced by `search_key` (widths, kana variants, punctuation), then:

- SQLite: terms of 3+ characters are phrase queries on an FTS5 table with the trigram
  tokenizer (`titles_fts`, external content on `titles.search_text`); terms of 1–2 characters
  (猫, 宇宙) are single-token queries on a second FTS5 table of bigrams (`titles_bigram`):
  every 2-character substring is a token, and a 1-character term is a prefix query served by
  the table's 1-character prefix index. Both are exact and index-driven, kept in step with
  `titles.search_text` by triggers (migration 0003).
- PostgreSQL: `search_text LIKE '%term%'` for each term of 3+ characters, served by a pg_trgm
  GIN index; shorter terms (`strpos`, which no trigram index claims) are filtered while
  walking titles newest first.

Results come newest record first, so the index yields them already ordered and a page stops
reading after `limit + 1` rows; the total is counted only when a client asks for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Awaitable, Callable, Iterable, Sequence

from tortoise.functions import Count

from app import db
from app.domain.normalize import search_key, search_key_of_parts
from app.models import Hold, Title
from app.models.enums import ACTIVE_HOLD_STATUSES, HoldStatus, ItemStatus, MaterialType

# Copies in these states are not part of the collection a patron can borrow from.
_GONE = (ItemStatus.MISSING, ItemStatus.WITHDRAWN)
# Copies in the collection but not on the shelf (on loan, waiting on the hold shelf, in transit).
_OUT = tuple(s for s in ItemStatus if s not in _GONE and s is not ItemStatus.AVAILABLE)

# A query longer than this is not a keyword search (and would make a needlessly long statement).
# A copy's barcode: half-width letters, digits and hyphens, as the column holds them.
_BARCODE = re.compile(r"[0-9A-Za-z-]{1,32}")


def is_barcode(text: str) -> bool:
    """Whether `text` is a barcode as copies carry them (ASCII letters, digits, `-`; 1–32)."""
    return _BARCODE.fullmatch(text) is not None


MAX_QUERY_LENGTH = 200
MAX_QUERY_TERMS = 10
# Terms this long use the trigram index; shorter ones the bigram index (SQLite) or a scan (PostgreSQL).
TRIGRAM = 3


@dataclass(frozen=True)
class Availability:
    """貸出状況 of one title: loanable copies, how many are on the shelf, on loan, and the queue."""

    copies: int = 0
    available: int = 0
    on_loan: int = 0
    holds_waiting: int = 0
    # Copies for use in the library only (禁帯出), not missing or withdrawn.
    reference_copies: int = 0
    material_type: MaterialType | None = None

    @property
    def owned(self) -> bool:
        """所蔵: the library has a copy, loanable or for use in the library only."""
        return self.copies + self.reference_copies > 0

    @property
    def reference_only(self) -> bool:
        """Owned, but every copy is for use in the library only (禁帯出): nothing to hold."""
        return self.copies == 0 and self.reference_copies > 0

    @property
    def all_copies_out(self) -> bool:
        """Every loanable copy is checked out or otherwise off the shelf: a web hold is allowed."""
        return self.copies > 0 and self.available == 0


def holds_waiting_sql(title_id: str) -> str:
    """SQL of the number of holds waiting for the title `title_id` (a column): 予約待ち, the one
    definition (availability, renewals, My Page)."""
    return (f"(SELECT count(*) FROM holds w WHERE w.title_id = {title_id} "
            f"AND w.status = '{HoldStatus.WAITING.value}')")


def _availability_columns(sql: _Sql, title_id: str) -> str:
    """SQL columns copies, available, on_loan and holds_waiting of the title `title_id`: the
    one definition of 貸出状況 (index lookups on items (title_id, status) and holds)."""

    def copies(condition: str, loanable: bool = True) -> str:
        return (f"(SELECT count(*) FROM items i WHERE i.title_id = {title_id} "
                f"AND i.loanable = {sql.param(loanable)} AND i.status {condition})")

    gone = ", ".join(sql.param(s.value) for s in _GONE)
    return (
        f"{copies(f'NOT IN ({gone})')} AS copies, "
        f"{copies(f'NOT IN ({gone})', loanable=False)} AS reference_copies, "
        f"{copies('= ' + sql.param(ItemStatus.AVAILABLE.value))} AS available, "
        f"{copies('= ' + sql.param(ItemStatus.ON_LOAN.value))} AS on_loan, "
        f"{holds_waiting_sql(title_id)} AS holds_waiting"
    )


def _availability_of(row: dict) -> Availability:
    return Availability(int(row["copies"]), int(row["available"]), int(row["on_loan"]), int(row["holds_waiting"]),
                        int(row["reference_copies"]), MaterialType(row["material_type"]))


async def availability(title_ids: Iterable[int]) -> dict[int, Availability]:
    """Availability of many titles in one query (never one query per title)."""
    ids = list(set(title_ids))
    if not ids:
        return {}
    conn = db.connection()
    sql = _Sql(db.is_postgres(conn))
    columns = _availability_columns(sql, "t.id")
    listed = ", ".join(sql.param(i) for i in ids)
    rows = await conn.execute_query_dict(f"SELECT t.id, t.material_type, {columns} FROM titles t WHERE t.id IN ({listed})",
                                         sql.params)
    found = {row["id"]: _availability_of(row) for row in rows}
    return {i: found.get(i, Availability()) for i in ids}


def index_text(*parts: str | None) -> str:
    """The normalised text a title is found by (title, author, publisher and their readings).

    Spaces inside one part are dropped, so a reading written word by word (ワガハイ ハ ネコ デ
    アル) is found by ネコデアル; parts stay separated, so no match spans two of them.
    """
    return " ".join(k for k in search_key_of_parts([p for p in parts if p]) if k)


def title_index_text(title: Title) -> str:
    """`index_text` of every searchable field of a title."""
    return index_text(title.title, title.title_kana, title.author, title.author_kana,
                      title.publisher, title.publisher_kana)


def search_terms(keyword: str) -> list[str]:
    """The query as the index sees it: normalised terms, all of which must match.

    A term contained in another one adds nothing and is dropped (猫 in 吾輩ハ猫).
    """
    terms = sorted(set(search_key(keyword).split()), key=len, reverse=True)
    kept: list[str] = []
    for term in terms:
        if not any(term in longer for longer in kept):
            kept.append(term)
    return kept[:MAX_QUERY_TERMS]


@dataclass(frozen=True)
class CatalogFilter:
    """Narrowing of a search or a list: material types, on the shelf now, or holdable now."""

    material_types: tuple[MaterialType, ...] = ()
    available_now: bool = False
    holdable: bool = False
    # With `holdable`: the material types the library takes web holds on (policy).
    web_hold_materials: tuple[MaterialType, ...] = ()


@dataclass(frozen=True, slots=True)
class ShownTitle:
    """What the catalog shows of a title, read-only (searches and lists). Built straight from
    the row: a page of Tortoise models cost a good part of a search request."""

    id: int
    title: str
    title_kana: str
    author: str
    author_kana: str
    publisher: str
    publisher_kana: str
    published_year: int | None
    isbn: str | None
    ndc: str
    material_type: MaterialType
    arrived_on: date | None

    @classmethod
    def from_row(cls, row: dict, prefix: str = "", id_column: str = "id") -> ShownTitle:
        """From a row holding `SHOWN_COLUMNS` (named with `prefix` when read along with another table)."""
        return cls(
            row[id_column], row[prefix + "title"], row[prefix + "title_kana"], row[prefix + "author"],
            row[prefix + "author_kana"], row[prefix + "publisher"], row[prefix + "publisher_kana"],
            row[prefix + "published_year"], row[prefix + "isbn"], row[prefix + "ndc"],
            MaterialType(row[prefix + "material_type"]), db.to_date(row[prefix + "arrived_on"]),
        )


@dataclass
class TitlePage:
    """One page of titles (`limit + 1` rows fetched, to tell whether more follow) and a lazy count.

    Titles of searches and lists are read-only: only the columns the catalog shows are loaded.
    """

    titles: list[Title] | list[ShownTitle]
    count: Callable[[], Awaitable[int]]
    availability: dict[int, Availability] = field(default_factory=dict)  # when read with the page


class _Sql:
    """A statement built in pieces, with placeholders in the dialect of the connection."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.params: list[object] = []

    def param(self, value: object) -> str:
        """A numbered placeholder ($1 / ?1): pieces may be written in any order."""
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else f"?{len(self.params)}"


def _filter_conditions(sql: _Sql, flt: CatalogFilter, title_id: str) -> list[str]:
    """SQL of the filters; the availability ones are `Availability.available > 0` and
    `Availability.all_copies_out` (the same rules, evaluated inside the query)."""
    conditions = []
    if flt.material_types:
        types = ", ".join(sql.param(m.value) for m in flt.material_types)
        conditions.append(f"t.material_type IN ({types})")

    def copies(negate: bool, *statuses: ItemStatus) -> str:
        """EXISTS a loanable copy whose status is (not) one of `statuses`."""
        loanable = sql.param(True)
        listed = ", ".join(sql.param(s.value) for s in statuses)
        return (f"EXISTS (SELECT 1 FROM items i WHERE i.title_id = {title_id} AND i.loanable = {loanable} "
                f"AND i.status {'NOT IN' if negate else 'IN'} ({listed}))")

    if flt.available_now:
        conditions.append(copies(False, ItemStatus.AVAILABLE))
    if flt.holdable:
        # Owned with no copy on the shelf = some loanable copy is out, none is available. The
        # copies out are few (an index on items (status, title_id)), so they drive the query.
        loanable, out = sql.param(True), ", ".join(sql.param(s.value) for s in _OUT)
        conditions.append(f"{title_id} IN (SELECT o.title_id FROM items o WHERE o.loanable = {loanable} "
                          f"AND o.status IN ({out}))")
        conditions.append("NOT " + copies(False, ItemStatus.AVAILABLE))
        if flt.web_hold_materials:
            types = ", ".join(sql.param(m.value) for m in flt.web_hold_materials)
            conditions.append(f"t.material_type IN ({types})")
    return conditions


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class _Query:
    sql: _Sql
    body: str  # FROM ... WHERE ...
    order: str  # ORDER BY terms
    key: str  # the title id column
    title_order: str = "t.id DESC"  # the same order in columns of titles t


def _sqlite_search(terms: list[str], flt: CatalogFilter) -> _Query:
    sql = _Sql(postgres=False)
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    short_terms = [t for t in terms if len(t) < TRIGRAM]
    if long_terms:
        # Each long term is a trigram phrase; short ones are checked on the joined row.
        table, match = "titles_fts", " AND ".join(_fts_phrase(t) for t in long_terms)
    else:
        # A 2-character term is one bigram token, a 1-character term a prefix of tokens.
        table, match = "titles_bigram", " AND ".join(_fts_phrase(t) + ("*" if len(t) == 1 else "") for t in short_terms)
        short_terms = []
    where = [f"f.{table} MATCH {sql.param(match)}"]
    where += [f"instr(t.search_text, {sql.param(t)}) > 0" for t in short_terms]
    where += _filter_conditions(sql, flt, "f.rowid")
    needs_title = short_terms or flt.material_types or (flt.holdable and flt.web_hold_materials)
    join = " JOIN titles t ON t.id = f.rowid" if needs_title else ""
    return _Query(sql, f"FROM {table} f{join} WHERE {' AND '.join(where)}", "f.rowid DESC", "f.rowid")


def _titles_query(postgres: bool, terms: list[str], flt: CatalogFilter) -> _Query:
    """Titles containing every term (LIKE, the pg_trgm index on PostgreSQL; instr on SQLite), or
    all titles: for PostgreSQL, and on SQLite when another condition narrows the titles more."""
    sql = _Sql(postgres)
    if postgres:
        # LIKE lets the pg_trgm index serve a term of 3+ characters. A shorter term has no
        # trigram, yet the planner would still take the index and read all of it (about a
        # second over 300,000 titles): strpos, the same test, keeps it to the walk of titles.
        where = [f"t.search_text LIKE {sql.param('%' + _escape_like(t) + '%')}" if len(t) >= TRIGRAM
                 else f"strpos(t.search_text, {sql.param(t)}) > 0" for t in terms]
    else:
        where = [f"instr(t.search_text, {sql.param(t)}) > 0" for t in terms]
    where += _filter_conditions(sql, flt, "t.id")
    return _Query(sql, "FROM titles t" + (f" WHERE {' AND '.join(where)}" if where else ""), "t.id DESC", "t.id")


# What the catalog shows of a title; the bookkeeping columns (search text, timestamps) stay out.
SHOWN_COLUMNS = ("title", "title_kana", "author", "author_kana", "publisher", "publisher_kana", "published_year",
                 "isbn", "ndc", "material_type", "arrived_on")
_SHOWN = ("id", *SHOWN_COLUMNS)


async def _run(query: _Query, offset: int, limit: int) -> TitlePage:
    """One page of titles (plus one) with their availability in a single statement; the total
    is counted only when asked."""
    conn = db.connection()
    sql = query.sql
    count_params = list(sql.params)
    columns = ", ".join(f"t.{c}" for c in _SHOWN)
    page = (f"SELECT {columns}, {_availability_columns(sql, 't.id')} FROM titles t "
            f"JOIN (SELECT {query.key} AS page_id {query.body} ORDER BY {query.order} "
            f"LIMIT {sql.param(limit + 1)} OFFSET {sql.param(offset)}) page "
            f"ON t.id = page.page_id ORDER BY {query.title_order}")
    rows = await conn.execute_query_dict(page, sql.params)

    async def count() -> int:
        if (rows or offset == 0) and len(rows) <= limit:
            # The last page (or no match at all), read whole: the total is known without
            # counting the matches again.
            return offset + len(rows)
        result = await conn.execute_query_dict(f"SELECT count(*) AS n {query.body}", count_params)
        return int(result[0]["n"])

    return TitlePage([ShownTitle.from_row(row) for row in rows], count,
                     {row["id"]: _availability_of(row) for row in rows})


async def _titles_in_order(ids: Sequence[int]) -> list[Title]:
    found = {t.id: t for t in await Title.filter(id__in=list(ids))} if ids else {}
    return [found[i] for i in ids if i in found]


async def search(keyword: str, flt: CatalogFilter = CatalogFilter(), *, offset: int = 0, limit: int = 20) -> TitlePage:
    """資料検索: titles whose title, author, publisher or readings contain every term, newest first.

    An empty keyword lists the whole catalog (narrowed by the filters).
    """
    postgres = db.is_postgres()
    terms = search_terms(keyword)
    # Holdable titles (every copy out) are few: checking their text beats walking the matches.
    if terms and not postgres and not flt.holdable:
        query = _sqlite_search(terms, flt)
    else:
        query = _titles_query(postgres, terms, flt)
    return await _run(query, offset, limit)


async def new_arrivals(today: date, days: int, flt: CatalogFilter = CatalogFilter(), *,
                       offset: int = 0, limit: int = 20) -> TitlePage:
    """新着資料: titles received in the last `days` days (today included), newest first."""
    query = _titles_query(db.is_postgres(), [], flt)
    sql = query.sql
    window = f"t.arrived_on > {sql.param(today - timedelta(days=days))} AND t.arrived_on <= {sql.param(today)}"
    query.body += (" AND " if " WHERE " in query.body else " WHERE ") + window
    query.order = query.title_order = "t.arrived_on DESC, t.id DESC"
    return await _run(query, offset, limit)


async def most_held(*, offset: int = 0, limit: int = 20) -> TitlePage:
    """予約の多い資料: titles by their number of active holds (waiting or ready), most first."""
    active = Hold.filter(status__in=list(ACTIVE_HOLD_STATUSES))
    rows = (
        await active.annotate(n=Count("id")).group_by("title_id")
        .order_by("-n", "-title_id").offset(offset).limit(limit + 1).values("title_id", "n")
    )

    async def count() -> int:
        return len(await active.distinct().values_list("title_id", flat=True))

    return TitlePage(await _titles_in_order([r["title_id"] for r in rows]), count)
