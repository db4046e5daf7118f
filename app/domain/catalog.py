"""The catalog (資料を探す・一覧から探す): availability of titles, narrowing, pages of titles, lists.

Keyword search itself is `app.domain.catalog_search`; the index it reads is described in
`app.domain.search_index`. Every list pages by keyset (`TitlePage.keys`): a page continues
after the key of the last row it showed, so rows added or removed before it never make a row
after it be skipped or shown twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Awaitable, Callable, Iterable, NamedTuple, Sequence

from app import db
from app.db import Sql
from app.models import Item
from app.models.enums import ACTIVE_HOLD_STATUSES, HoldStatus, ItemStatus, MaterialType

# A title's copies (所蔵) are all its copies but the withdrawn ones (除籍): a missing copy (不明)
# is still the library's, listed with its status (`copies_of`).
_WITHDRAWN = (ItemStatus.WITHDRAWN,)
# Of those, the ones a patron can borrow from (貸出状況, `Availability`) are the loanable copies
# that are not missing either.
_GONE = (ItemStatus.MISSING, *_WITHDRAWN)
# Copies in the collection but not on the shelf (on loan, waiting on the hold shelf, in transit).
_OUT = tuple(s for s in ItemStatus if s not in _GONE and s is not ItemStatus.AVAILABLE)
# A copy's barcode: half-width letters, digits and hyphens, as the column holds them.
_BARCODE = re.compile(r"[0-9A-Za-z-]{1,32}")


def is_barcode(text: str) -> bool:
    """Whether `text` is a barcode as copies carry them (ASCII letters, digits, `-`; 1–32)."""
    return _BARCODE.fullmatch(text) is not None


class Availability(NamedTuple):
    """貸出状況 of one title: loanable copies, how many are on the shelf, on loan, and the queue.
    (A named tuple: a page builds one per title, and a frozen dataclass costs several times more.)"""

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


async def copies_of(title_ids: Sequence[int]) -> dict[int, list[Item]]:
    """所蔵: the copies of each title, oldest first, withdrawn ones left out (missing and
    reference-only ones listed with their status), in one query."""
    by_title: dict[int, list[Item]] = {i: [] for i in title_ids}
    for item in await Item.filter(title_id__in=list(by_title)).exclude(status__in=_WITHDRAWN).order_by("id"):
        by_title[item.title_id].append(item)
    return by_title


def holds_waiting_sql(title_id: str) -> str:
    """SQL of the number of holds waiting for the title `title_id` (a column): 予約待ち, the one
    definition (availability, renewals, My Page)."""
    return (f"(SELECT count(*) FROM holds w WHERE w.title_id = {title_id} "
            f"AND w.status = '{HoldStatus.WAITING.value}')")


def _availability_columns(sql: Sql, title_id: str) -> str:
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
                        int(row["reference_copies"]), MATERIAL_TYPES[row["material_type"]])


async def availability(title_ids: Iterable[int]) -> dict[int, Availability]:
    """Availability of many titles in one query (never one query per title)."""
    ids = list(set(title_ids))
    if not ids:
        return {}
    sql = Sql()
    columns = _availability_columns(sql, "t.id")
    listed = ", ".join(sql.param(i) for i in ids)
    rows = await sql.fetch(f"SELECT t.id, t.material_type, {columns} FROM titles t WHERE t.id IN ({listed})")
    found = {row["id"]: _availability_of(row) for row in rows}
    return {i: found.get(i, Availability()) for i in ids}


@dataclass(frozen=True)
class CatalogFilter:
    """Narrowing of a search or a list: material types, on the shelf now, or holdable now."""

    material_types: tuple[MaterialType, ...] = ()
    available_now: bool = False
    holdable: bool = False
    # With `holdable`: the material types the library takes web holds on (policy).
    web_hold_materials: tuple[MaterialType, ...] = ()


def copy_exists(sql: Sql, title_id: str, statuses: Sequence[ItemStatus], negate: bool = False) -> str:
    """SQL: the title has a loanable copy whose status is (not) one of `statuses`."""
    listed = ", ".join(sql.param(s.value) for s in statuses)
    return (f"EXISTS (SELECT 1 FROM items i WHERE i.title_id = {title_id} AND i.loanable = {sql.param(True)} "
            f"AND i.status {'NOT IN' if negate else 'IN'} ({listed}))")


def on_shelf_sql(sql: Sql, title_id: str) -> str:
    """SQL of `Availability.available > 0`: a copy on the shelf now."""
    return copy_exists(sql, title_id, [ItemStatus.AVAILABLE])


def lendable_sql(sql: Sql, title_id: str) -> str:
    """SQL of `Availability.copies > 0`: a loanable copy that is neither missing nor withdrawn."""
    return copy_exists(sql, title_id, _GONE, negate=True)


def filter_conditions(sql: Sql, flt: CatalogFilter, title_id: str = "t.id") -> list[str]:
    """SQL of the filters; the availability ones are `Availability.available > 0` and
    `Availability.all_copies_out` (the same rules, evaluated inside the query)."""
    conditions = []
    if flt.material_types:
        types = ", ".join(sql.param(m.value) for m in flt.material_types)
        conditions.append(f"t.material_type IN ({types})")
    if flt.available_now:
        conditions.append(on_shelf_sql(sql, title_id))
    if flt.holdable:
        # Owned with no copy on the shelf: some loanable copy is out, none is available; and a
        # material type the library takes web holds on.
        conditions.append(copy_exists(sql, title_id, _OUT))
        conditions.append("NOT " + on_shelf_sql(sql, title_id))
        if flt.web_hold_materials:
            types = ", ".join(sql.param(m.value) for m in flt.web_hold_materials)
            conditions.append(f"t.material_type IN ({types})")
    return conditions


class ShownTitle(NamedTuple):
    """What the catalog shows of a title, read-only (searches and lists). Built straight from
    the row: a page of Tortoise models (or of frozen dataclasses) cost a good part of a search."""

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
    def from_row(cls, row: dict, columns: tuple[str, ...] | None = None) -> ShownTitle:
        """From a row holding `SHOWN_COLUMNS` under the names `columns` (`shown_columns(...)`:
        read along with another table), by default as they are with `id`."""
        (id_, title, title_kana, author, author_kana, publisher, publisher_kana, published_year, isbn, ndc,
         material_type, arrived_on) = columns or _SHOWN
        return cls(
            row[id_], row[title], row[title_kana], row[author], row[author_kana], row[publisher],
            row[publisher_kana], row[published_year], row[isbn], row[ndc], MATERIAL_TYPES[row[material_type]],
            db.to_date(row[arrived_on]),
        )


def shown_columns(prefix: str, id_column: str) -> tuple[str, ...]:
    """The names under which a row read along with another table holds a title's shown columns."""
    return (id_column, *(prefix + c for c in SHOWN_COLUMNS))


# A material type by its stored value (the enum's own lookup costs more, once per row).
MATERIAL_TYPES: dict[str, MaterialType] = {m.value: m for m in MaterialType}


# What the catalog shows of a title; the bookkeeping columns (search columns, timestamps) stay out.
SHOWN_COLUMNS = ("title", "title_kana", "author", "author_kana", "publisher", "publisher_kana", "published_year",
                 "isbn", "ndc", "material_type", "arrived_on")
_SHOWN = ("id", *SHOWN_COLUMNS)


@dataclass(frozen=True)
class Count:
    """A number of titles; `exact` is false when it is a lower bound (counting stopped at a limit)."""

    value: int
    exact: bool = True


@dataclass
class TitlePage:
    """One page of titles (`limit + 1` rows fetched, to tell whether more follow), the keyset key
    of each row (its cursor), the availability read with them, and a lazy count."""

    titles: list[ShownTitle]
    keys: list[tuple[Any, ...]]
    count: Callable[[], Awaitable[Count]]
    availability: dict[int, Availability] = field(default_factory=dict)
    known_count: Count | None = None  # the count, when it was at hand with the page

    def count_now(self) -> Count | Awaitable[Count]:
        """The count if at hand (no statement, no coroutine), else an awaitable of it."""
        return self.known_count if self.known_count is not None else self.count()


async def read_page(sql: Sql, ranked: str, keys: Sequence[str], order: str) -> tuple[list[ShownTitle], list[tuple],
                                                                                      dict[int, Availability]]:
    """The titles of a page with their availability in one statement. `ranked` selects `id` and
    the key columns `keys` of the page's rows; `order` orders the rows by them (table `page`)."""
    columns = ", ".join(f"t.{c}" for c in _SHOWN)
    key_columns = "".join(f", page.{k}" for k in keys if k != "id")
    rows = await sql.fetch(
        f"SELECT {columns}{key_columns}, {_availability_columns(sql, 't.id')} FROM titles t "
        f"JOIN ({ranked}) page ON t.id = page.id ORDER BY {order}")
    return ([ShownTitle.from_row(row) for row in rows], [tuple(row[k] for k in keys) for row in rows],
            {row["id"]: _availability_of(row) for row in rows})


def after_key(columns: Sequence[str], directions: Sequence[str], sql: Sql, key: Sequence[Any]) -> str:
    """SQL: the row comes after `key` in the order of `columns` (each ASC or DESC)."""
    # (a, b) after (x, y): a beyond x, or a = x and b beyond y; spelled out, since row values
    # cannot mix directions.
    alternatives = []
    for i, (column, direction) in enumerate(zip(columns, directions)):
        equal = [f"{c} = {sql.param(v)}" for c, v in zip(columns[:i], key[:i])]
        beyond = f"{column} {'<' if direction == 'DESC' else '>'} {sql.param(key[i])}"
        alternatives.append("(" + " AND ".join([*equal, beyond]) + ")")
    return "(" + " OR ".join(alternatives) + ")"


async def new_arrivals(today: date, days: int, flt: CatalogFilter = CatalogFilter(), *,
                       after: tuple | None = None, limit: int = 20) -> TitlePage:
    """新着資料: titles received in the last `days` days (today included), newest first."""
    conn = db.connection()
    sql = Sql()
    where = [f"t.arrived_on > {sql.param(today - timedelta(days=days))}", f"t.arrived_on <= {sql.param(today)}",
             *filter_conditions(sql, flt)]
    count_where, count_params = " AND ".join(where), list(sql.params)
    if after is not None:
        where.append(after_key(["t.arrived_on", "t.id"], ["DESC", "DESC"], sql, after))
    ranked = (f"SELECT t.id, t.arrived_on AS k0 FROM titles t WHERE {' AND '.join(where)} "
              f"ORDER BY t.arrived_on DESC, t.id DESC LIMIT {sql.param(limit + 1)}")
    titles, keys, known = await read_page(sql, ranked, ["k0", "id"], "page.k0 DESC, page.id DESC")

    async def count() -> Count:
        rows = await conn.execute_query_dict(f"SELECT count(*) AS n FROM titles t WHERE {count_where}", count_params)
        return Count(int(rows[0]["n"]))

    return TitlePage(titles, [(db.to_date(k[0]), k[1]) for k in keys], count, known)


async def most_held(*, after: tuple | None = None, limit: int = 20) -> TitlePage:
    """予約の多い資料: titles by their number of active holds (waiting or ready), most first."""
    conn = db.connection()
    sql = Sql()
    active = ", ".join(sql.param(s.value) for s in ACTIVE_HOLD_STATUSES)
    held = f"SELECT h.title_id AS id, count(*) AS k0 FROM holds h WHERE h.status IN ({active}) GROUP BY h.title_id"
    count_sql, count_params = f"SELECT count(*) AS n FROM ({held}) counted", list(sql.params)
    beyond = f" WHERE {after_key(['held.k0', 'held.id'], ['DESC', 'DESC'], sql, after)}" if after is not None else ""
    ranked = f"SELECT held.id, held.k0 FROM ({held}) held{beyond} ORDER BY held.k0 DESC, held.id DESC " \
             f"LIMIT {sql.param(limit + 1)}"
    titles, keys, known = await read_page(sql, ranked, ["k0", "id"], "page.k0 DESC, page.id DESC")

    async def count() -> Count:
        return Count(int((await conn.execute_query_dict(count_sql, count_params))[0]["n"]))

    return TitlePage(titles, keys, count, known)
