"""The patron's own library: favorites, bookshelves, loan history (opt-in), reading marathon."""

from __future__ import annotations

from datetime import date

from tortoise.expressions import F

from app.models import Patron, ReadingHistoryEntry, ReadingTally


async def record_checkout(patron: Patron, title_id: int, day: date) -> None:
    """Called by circulation in the checkout transaction: count the loan, and keep the title
    in the loan history only if the patron has opted in."""
    if patron.reading_history_enabled_at is not None:
        await ReadingHistoryEntry.create(patron_id=patron.id, title_id=title_id, borrowed_on=day)
    await ReadingTally.bulk_create([ReadingTally(patron_id=patron.id, day=day, count=0)], ignore_conflicts=True)
    await ReadingTally.filter(patron_id=patron.id, day=day).update(count=F("count") + 1)
