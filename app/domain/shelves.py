"""The patron's own library (マイページ): favorites, bookshelves, loan history (opt-in), reading marathon.

Reading records are the patron's secret (Japan Library Association): the loan history is kept
only while the patron has opted in, opting out deletes it, and the reading marathon keeps
numbers of loans per day, never titles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from tortoise.expressions import F
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from app import db
from app.domain import calendar, consent
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode, Validator
from app.domain.normalize import nfkc
from app.models import (
    Bookshelf,
    BookshelfEntry,
    Favorite,
    Patron,
    ReadingGoal,
    ReadingHistoryEntry,
    ReadingTally,
    Title,
)
from app.models.enums import ConsentKind

BOOKSHELF_NAME_MAX = 50
READING_GOAL_MAX = 1000
READING_PERIOD_MAX_YEARS = 3
_SPACES = re.compile(r"\s+")


async def _lock_patron(patron_id: int) -> Patron:
    """The patron row, locked until the transaction ends (PostgreSQL; SQLite runs one
    transaction at a time), so counting against a limit and adding cannot interleave."""
    return await Patron.select_for_update().get(id=patron_id)


async def _existing_title(title_id: int | None, field: str = "title_id") -> int:
    if title_id is None or not await Title.exists(id=title_id):
        raise DomainError(ErrorCode.NOT_FOUND, field)
    return title_id


# --- favorites (お気に入り) -------------------------------------------------------------------


async def add_favorite(deps: Deps, patron: Patron, title_id: int | None) -> Favorite:
    """Add a title to the favorites; adding it again changes nothing."""
    await _existing_title(title_id)
    async with in_transaction():
        await _lock_patron(patron.id)
        existing = await Favorite.get_or_none(patron_id=patron.id, title_id=title_id)
        if existing is not None:
            return existing
        limit = deps.settings.favorite_limit
        if await Favorite.filter(patron_id=patron.id).count() >= limit:
            raise DomainError(ErrorCode.LIMIT_REACHED, "title_id", limit=limit)
        return await Favorite.create(patron_id=patron.id, title_id=title_id, created_at=deps.now())


# --- the lists, each in its order (a keyset: the order's columns, the id last) ------------------

FAVORITES_ORDER = ("-created_at", "-id")  # last added first
BOOKSHELVES_ORDER = ("id",)  # oldest first
ENTRIES_ORDER = ("-added_at", "-id")  # last put on the shelf first
HISTORY_ORDER = ("-borrowed_on", "-id")  # newest first


def favorites(patron_id: int) -> QuerySet[Favorite]:
    """お気に入り of the patron, last added first."""
    return Favorite.filter(patron_id=patron_id).order_by(*FAVORITES_ORDER)


def bookshelves(patron_id: int) -> QuerySet[Bookshelf]:
    """The shelves the patron made (My本棚), oldest first."""
    return Bookshelf.filter(patron_id=patron_id).order_by(*BOOKSHELVES_ORDER)


def shelf_entries(bookshelf_id: int) -> QuerySet[BookshelfEntry]:
    """The titles on a shelf, last added first."""
    return BookshelfEntry.filter(bookshelf_id=bookshelf_id).order_by(*ENTRIES_ORDER)


def reading_history(patron_id: int) -> QuerySet[ReadingHistoryEntry]:
    """借りた本の履歴 of the patron, newest first (empty unless they opted in)."""
    return ReadingHistoryEntry.filter(patron_id=patron_id).order_by(*HISTORY_ORDER)


def entries_with_shelves() -> QuerySet[BookshelfEntry]:
    """Shelf entries read with their shelf, whose patron they belong to (`node` lookups)."""
    return BookshelfEntry.all().select_related("bookshelf")


async def bookshelf(shelf_id: int | None) -> Bookshelf:
    """A shelf as it is now (after a title was put on or taken off)."""
    return await Bookshelf.get(id=shelf_id)


async def favorite_title_ids(patron_id: int, title_ids: list[int]) -> set[int]:
    """Which of these titles the patron has in the favorites."""
    return set(await Favorite.filter(patron_id=patron_id, title_id__in=title_ids).values_list("title_id", flat=True))


async def count_favorites(patron_id: int) -> int:
    """How many titles the patron has in the favorites (My Page shows the number)."""
    rows = await db.fetch("SELECT count(*) AS n FROM favorites WHERE patron_id = ?", patron_id)
    return rows[0]["n"]


async def remove_favorite(patron: Patron, title_id: int | None) -> int | None:
    """Remove a title from the favorites; the id of the removed entry, None if it was not there."""
    await _existing_title(title_id)
    favorite = await Favorite.get_or_none(patron_id=patron.id, title_id=title_id)
    if favorite is None:
        return None
    await favorite.delete()
    return favorite.id


# --- bookshelves (My本棚) ------------------------------------------------------------------------


def bookshelf_name(raw: str) -> str:
    """A shelf name as stored: NFKC, spaces trimmed and collapsed; required and bounded."""
    name = _SPACES.sub(" ", nfkc(raw)).strip()
    if not name:
        raise DomainError(ErrorCode.NAME_REQUIRED, "name")
    if len(name) > BOOKSHELF_NAME_MAX:
        raise DomainError(ErrorCode.NAME_TOO_LONG, "name", max=BOOKSHELF_NAME_MAX)
    return name


async def _own_shelf(patron: Patron, shelf_id: int | None, *, lock: bool = False) -> Bookshelf:
    """The patron's shelf; another patron's shelf is NOT_FOUND, exactly like one that never existed."""
    query = Bookshelf.filter(id=shelf_id, patron_id=patron.id) if shelf_id is not None else None
    shelf = await (query.select_for_update() if lock else query).first() if query is not None else None
    if shelf is None:
        raise DomainError(ErrorCode.NOT_FOUND, "bookshelf_id")
    return shelf


async def _name_taken(patron: Patron, name: str, except_id: int | None = None) -> bool:
    query = Bookshelf.filter(patron_id=patron.id, name=name)
    if except_id is not None:
        query = query.exclude(id=except_id)
    return await query.exists()


async def create_bookshelf(deps: Deps, patron: Patron, name: str) -> Bookshelf:
    """本棚を作成する: a new, empty shelf with a name unique among the patron's shelves."""
    name = bookshelf_name(name)
    async with in_transaction():
        await _lock_patron(patron.id)
        limit = deps.settings.bookshelf_limit
        if await Bookshelf.filter(patron_id=patron.id).count() >= limit:
            raise DomainError(ErrorCode.LIMIT_REACHED, "name", limit=limit)
        if await _name_taken(patron, name):
            raise DomainError(ErrorCode.NAME_TAKEN, "name")
        now = deps.now()
        return await Bookshelf.create(patron_id=patron.id, name=name, created_at=now, updated_at=now)


async def rename_bookshelf(deps: Deps, patron: Patron, shelf_id: int | None, name: str) -> Bookshelf:
    """Give a shelf a new name (unique among the patron's shelves)."""
    async with in_transaction():
        await _lock_patron(patron.id)
        shelf = await _own_shelf(patron, shelf_id)
        name = bookshelf_name(name)
        if name != shelf.name:
            if await _name_taken(patron, name, except_id=shelf.id):
                raise DomainError(ErrorCode.NAME_TAKEN, "name")
            shelf.name, shelf.updated_at = name, deps.now()
            await shelf.save(update_fields=["name", "updated_at"])
        return shelf


async def delete_bookshelf(patron: Patron, shelf_id: int | None) -> int:
    """Delete a shelf and what was on it (the titles themselves stay in the catalog)."""
    shelf = await _own_shelf(patron, shelf_id)
    await shelf.delete()
    return shelf.id


async def add_to_bookshelf(deps: Deps, patron: Patron, shelf_id: int | None, title_id: int | None) -> BookshelfEntry:
    """Put a title on a shelf; putting it there again changes nothing."""
    async with in_transaction():
        shelf = await _own_shelf(patron, shelf_id, lock=True)
        await _existing_title(title_id)
        existing = await BookshelfEntry.get_or_none(bookshelf_id=shelf.id, title_id=title_id)
        if existing is not None:
            return existing
        limit = deps.settings.bookshelf_entry_limit
        if await BookshelfEntry.filter(bookshelf_id=shelf.id).count() >= limit:
            raise DomainError(ErrorCode.LIMIT_REACHED, "title_id", limit=limit)
        now = deps.now()
        await Bookshelf.filter(id=shelf.id).update(updated_at=now)
        return await BookshelfEntry.create(bookshelf_id=shelf.id, title_id=title_id, added_at=now)


async def remove_from_bookshelf(deps: Deps, patron: Patron, shelf_id: int | None, title_id: int | None) -> int | None:
    """Take a title off a shelf; the id of the removed entry, None if it was not there."""
    shelf = await _own_shelf(patron, shelf_id)
    await _existing_title(title_id)
    entry = await BookshelfEntry.get_or_none(bookshelf_id=shelf.id, title_id=title_id)
    if entry is None:
        return None
    await entry.delete()
    await Bookshelf.filter(id=shelf.id).update(updated_at=deps.now())
    return entry.id


# --- loan history (借りた本の履歴) ------------------------------------------------------------------


async def set_reading_history_enabled(deps: Deps, patron: Patron, enabled: bool) -> tuple[Patron, int]:
    """Opt in (the consent time is recorded; later checkouts are kept) or out (everything kept
    is deleted). Returns the patron and the number of history entries deleted."""
    async with in_transaction():
        locked = await _lock_patron(patron.id)
        deleted = 0
        if enabled and locked.reading_history_enabled_at is None:
            locked.reading_history_enabled_at = deps.now()
            await consent.record(deps, patron.id, ConsentKind.LOAN_HISTORY_ON)
        elif not enabled:
            if locked.reading_history_enabled_at is not None:
                await consent.record(deps, patron.id, ConsentKind.LOAN_HISTORY_OFF)
            locked.reading_history_enabled_at = None
            deleted = await ReadingHistoryEntry.filter(patron_id=patron.id).delete()
        locked.updated_at = deps.now()
        await locked.save(update_fields=["reading_history_enabled_at", "updated_at"])
    return locked, deleted


async def record_checkout(patron: Patron, title_id: int, day: date) -> None:
    """Called by circulation in the checkout transaction: count the loan, and keep the title
    in the loan history only if the patron has opted in."""
    # The consent is read under the patron's row lock, so an opt-out that commits first is
    # seen, and one that comes later deletes this entry too.
    locked = await _lock_patron(patron.id)
    if locked.reading_history_enabled_at is not None:
        await ReadingHistoryEntry.create(patron_id=patron.id, title_id=title_id, borrowed_on=day)
    await ReadingTally.bulk_create([ReadingTally(patron_id=patron.id, day=day, count=0)], ignore_conflicts=True)
    await ReadingTally.filter(patron_id=patron.id, day=day).update(count=F("count") + 1)


# --- reading marathon (読書マラソン) ------------------------------------------------------------------


@dataclass(frozen=True)
class MonthCount:
    year: int
    month: int
    count: int


@dataclass(frozen=True)
class Marathon:
    """Progress toward the goal: loans started within the period, by month for a chart."""

    target: int
    period_start: date
    period_end: date
    count: int
    months: list[MonthCount]

    @property
    def remaining(self) -> int:
        return max(0, self.target - self.count)

    @property
    def percent(self) -> int:
        """Whole percent of the target reached (above 100 once the goal is passed)."""
        return self.count * 100 // self.target

    @property
    def achieved(self) -> bool:
        return self.count >= self.target


async def set_reading_goal(deps: Deps, patron: Patron, target: int, period_start: date, period_end: date) -> Marathon:
    """Set (or replace) the goal: a number of loans between two dates, both included."""
    check = Validator()
    if not 1 <= target <= READING_GOAL_MAX:
        check.add(ErrorCode.INVALID_GOAL, "target", max=READING_GOAL_MAX)
    if not calendar.valid_period(period_start, period_end, READING_PERIOD_MAX_YEARS):
        check.add(ErrorCode.INVALID_PERIOD, "period_end", years=READING_PERIOD_MAX_YEARS)
    check.check()
    await ReadingGoal.update_or_create(
        defaults={"target": target, "period_start": period_start, "period_end": period_end, "updated_at": deps.now()},
        patron_id=patron.id,
    )
    marathon = await reading_marathon(patron)
    if marathon is None:
        raise RuntimeError(f"the reading goal of patron {patron.id} was set but cannot be read")
    return marathon


async def clear_reading_goal(patron: Patron) -> bool:
    """Remove the goal (読書マラソンをやめる); True if there was one. The monthly counts stay:
    they hold no titles, and a new goal counts the loans of its period again."""
    return await ReadingGoal.filter(patron_id=patron.id).delete() > 0


async def reading_marathon(patron: Patron) -> Marathon | None:
    """The patron's goal and progress, or None if no goal is set (one statement: My Page)."""
    rows = await db.fetch(
        "SELECT g.target, g.period_start, g.period_end, r.day, r.count FROM reading_goals g "
        "LEFT JOIN reading_tallies r ON r.patron_id = g.patron_id AND r.day >= g.period_start "
        "AND r.day <= g.period_end WHERE g.patron_id = ?",
        patron.id,
    )
    if not rows:
        return None
    start, end = db.to_date(rows[0]["period_start"]), db.to_date(rows[0]["period_end"])
    by_month: dict[tuple[int, int], int] = {}
    for row in rows:
        if row["day"] is not None:
            day = db.to_date(row["day"])
            by_month[(day.year, day.month)] = by_month.get((day.year, day.month), 0) + row["count"]
    months = [MonthCount(y, m, by_month.get((y, m), 0)) for y, m in _months(start, end)]
    return Marathon(rows[0]["target"], start, end, sum(by_month.values()), months)


def _months(start: date, end: date) -> list[tuple[int, int]]:
    """Every (year, month) from the month of `start` to the month of `end`."""
    year, month, months = start.year, start.month, []
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
