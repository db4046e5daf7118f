"""My Page reads (貸出中一覧・予約中一覧・取消済予約一覧・予約カート), and the order of each list.

Read on every visit of My Page: one hand-written statement per list, titles joined, only the
columns shown, rows as plain objects with the models' attribute names (the rules take them as
they take models). No model instances and no query building: they cost more than the database
does here. The cancelled holds, a page away from My Page, are a query the schema pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tortoise.queryset import QuerySet

from app import db
from app.domain import catalog
from app.domain.circulation.queue import WAITING, place_in_line
from app.models import Hold
from app.models.enums import ACTIVE_HOLD_STATUSES, CancelReason, HoldSource, HoldStatus


_TITLE_COLUMNS = ", ".join(f"t.{f} AS t_{f}" for f in catalog.SHOWN_COLUMNS)


_TITLE_NAMES = catalog.shown_columns("t_", "title_id")


def _title_row(row: dict) -> catalog.ShownTitle:
    return catalog.ShownTitle.from_row(row, _TITLE_NAMES)


@dataclass(slots=True)
class CurrentLoan:
    """A current loan with its title and the number of holds waiting for the title."""

    id: int
    item_id: int
    title_id: int
    patron_id: int
    checked_out_at: datetime
    due_date: date
    renewal_count: int
    title: catalog.ShownTitle
    holds_waiting: int
    returned_at: datetime | None = None


# The order of 貸出中一覧: earliest due date first, the id breaking ties (a keyset: (due date, id)).
LOAN_LIST_KEY_TYPES = (date, int)


def loan_list_key(loan: CurrentLoan) -> tuple[date, int]:
    return (loan.due_date, loan.id)


async def current_loans(patron_id: int, after: tuple[date, int] | None, limit: int) -> tuple[list[CurrentLoan], int]:
    """Up to `limit` of the patron's current loans after the key `after` (from the start: None),
    earliest due date first, and the number of all of them: one statement."""
    keyset, values = "", []
    if after is not None:
        keyset, values = " AND (l.due_date > ? OR (l.due_date = ? AND l.id > ?))", [after[0], after[0], after[1]]
    rows = await db.fetch(
        "SELECT l.id, l.item_id, l.title_id, l.checked_out_at, l.due_date, l.renewal_count, "
        f"{catalog.holds_waiting_sql('l.title_id')} AS holds_waiting, "
        "(SELECT count(*) FROM loans a WHERE a.patron_id = l.patron_id AND a.returned_at IS NULL) AS total, "
        f"{_TITLE_COLUMNS} "
        "FROM loans l JOIN titles t ON t.id = l.title_id WHERE l.patron_id = ? AND l.returned_at IS NULL"
        f"{keyset} ORDER BY l.due_date, l.id LIMIT ?",
        patron_id, *values, limit,
    )
    loans = [
        CurrentLoan(row["id"], row["item_id"], row["title_id"], patron_id, db.to_datetime(row["checked_out_at"]),
                    db.to_date(row["due_date"]), row["renewal_count"], _title_row(row), row["holds_waiting"])
        for row in rows
    ]
    if rows:
        return loans, rows[0]["total"]
    total = await db.fetch("SELECT count(*) AS n FROM loans WHERE patron_id = ? AND returned_at IS NULL", patron_id) \
        if after is not None else [{"n": 0}]
    return loans, total[0]["n"]


@dataclass(slots=True)
class ActiveHold:
    """A waiting or ready hold with its title and, while waiting, its place in line."""

    id: int
    patron_id: int
    title_id: int
    item_id: int | None
    source: HoldSource
    status: HoldStatus
    contact_email: str | None
    placed_at: datetime
    ready_at: datetime | None
    pickup_deadline: date | None
    title: catalog.ShownTitle
    queue_position: int | None
    cancelled_at: datetime | None = None
    cancel_reason: CancelReason | None = None


# The order of 予約中一覧: ready holds first (to collect), then in the order placed, the id breaking
# ties (a keyset: (0 for ready, placed at, id)).
HOLD_LIST_KEY_TYPES = (int, datetime, int)


def hold_list_key(hold: ActiveHold) -> tuple[int, datetime, int]:
    return (0 if hold.status is HoldStatus.READY else 1, hold.placed_at, hold.id)


# The order of the cart: in the order titles were added (a keyset: (added at, id)).
CART_KEY_TYPES = (datetime, int)


def cart_key(line: CartLine) -> tuple[datetime, int]:
    return (line.added_at, line.id)


async def active_holds(patron_id: int) -> list[ActiveHold]:
    """The patron's waiting and ready holds, ready ones first, then in the order placed: one statement."""
    rows = await db.fetch(
        "SELECT h.id, h.title_id, h.item_id, h.source, h.status, h.contact_email, h.placed_at, h.ready_at, "
        f"h.pickup_deadline, CASE WHEN h.status = ? THEN {place_in_line('h')} END AS queue_position, "
        f"{_TITLE_COLUMNS} FROM holds h JOIN titles t ON t.id = h.title_id "
        "WHERE h.patron_id = ? AND h.status IN (?, ?)",
        WAITING, patron_id, *(s.value for s in ACTIVE_HOLD_STATUSES),
    )
    holds = [
        ActiveHold(row["id"], patron_id, row["title_id"], row["item_id"], HoldSource(row["source"]),
                   HoldStatus(row["status"]), row["contact_email"], db.to_datetime(row["placed_at"]),
                   db.to_datetime(row["ready_at"]), db.to_date(row["pickup_deadline"]), _title_row(row),
                   row["queue_position"])
        for row in rows
    ]
    holds.sort(key=hold_list_key)
    return holds


@dataclass(slots=True)
class CartLine:
    """A title in the hold cart, with the title."""

    id: int
    patron_id: int
    title_id: int
    added_at: datetime
    title: catalog.ShownTitle


async def cart_lines(patron_id: int) -> list[CartLine]:
    """The whole hold cart (at most the cart limit), in the order titles were added: one statement."""
    rows = await db.fetch(
        f"SELECT c.id, c.title_id, c.added_at, {_TITLE_COLUMNS} FROM hold_cart_entries c "
        "JOIN titles t ON t.id = c.title_id WHERE c.patron_id = ? ORDER BY c.added_at, c.id",
        patron_id,
    )
    return [CartLine(row["id"], patron_id, row["title_id"], db.to_datetime(row["added_at"]), _title_row(row))
            for row in rows]


# The order of 取消済予約一覧: the latest cancelled first, the id breaking ties.
CANCELLED_ORDER = ("-cancelled_at", "-id")


def cancelled_holds(patron_id: int) -> QuerySet[Hold]:
    """The patron's cancelled and expired holds, latest first (read with `select_related("title")`
    to show their titles without a query each)."""
    return Hold.filter(patron_id=patron_id, status=HoldStatus.CANCELLED).order_by(*CANCELLED_ORDER)
