"""Live events (お知らせの即時通知): what happened to a patron, for the patron's open apps.

An event is a row written in the transaction that causes it, exactly like a notice in the
outbox: it exists if and only if the change committed. The server processes hand it to the
patron's sockets (`app.web.live`): on PostgreSQL a trigger announces each new row with NOTIFY
(delivered at commit, to every listening process); on SQLite the one server process polls the
table. Events carry ids and dates, never titles: a client reads what it shows through the API,
with the patron's own session.

Rows are kept a day (`retention.purge`); a client that was not connected refetches when it opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

import orjson

from app import db
from app.domain.deps import Deps
from app.models import Event
from app.models.enums import EventKind

# PostgreSQL's NOTIFY channel (the trigger of migration 0008 names it too).
CHANNEL = "library_events"


async def publish(deps: Deps, patron_id: int, kind: EventKind, **data: Any) -> None:
    """Record an event for a patron in the caller's transaction (dates as ISO strings)."""
    await Event.create(patron_id=patron_id, kind=kind, data=data, created_at=deps.now())


@dataclass(frozen=True)
class LiveEvent:
    """An event as the server processes pass it on."""

    id: int
    patron_id: int | None
    session_id: int | None
    kind: EventKind
    data: dict[str, Any]
    created_at: datetime


_COLUMNS = "id, patron_id, session_id, kind, data, created_at"


def _event(row: dict) -> LiveEvent:
    data = row["data"]
    if isinstance(data, (str, bytes)):  # raw JSON text from either driver
        data = orjson.loads(data)
    return LiveEvent(row["id"], row["patron_id"], row["session_id"], EventKind(row["kind"]), data or {},
                     db.to_datetime(row["created_at"]))


async def after(last_id: int, limit: int = 500) -> list[LiveEvent]:
    """Events with an id above `last_id`, oldest first (SQLite: committed in id order)."""
    rows = await db.fetch(f"SELECT {_COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT ?", last_id, limit)
    return [_event(row) for row in rows]


async def by_ids(ids: Iterable[int]) -> list[LiveEvent]:
    """The events with these ids (those announced by NOTIFY), oldest first."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = await db.fetch(f"SELECT {_COLUMNS} FROM events WHERE id IN ({', '.join('?' * len(wanted))}) ORDER BY id",
                          *wanted)
    return [_event(row) for row in rows]


async def since(first_id: int, patron_ids: Iterable[int]) -> list[LiveEvent]:
    """The events of these patrons from `first_id` on: what a listener that lost its connection
    to PostgreSQL may have missed meanwhile."""
    patrons = sorted(set(patron_ids))
    if not patrons:
        return []
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE id >= ? AND patron_id IN ({', '.join('?' * len(patrons))}) ORDER BY id",
        first_id, *patrons,
    )
    return [_event(row) for row in rows]


async def last_id() -> int:
    """The id of the newest event (0 when there is none)."""
    rows = await db.fetch("SELECT max(id) AS last FROM events")
    return rows[0]["last"] or 0
