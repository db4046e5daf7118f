"""The library calendar: which days are open, and events (開館日・休館日・行事)."""

from __future__ import annotations

from datetime import date, timedelta

from app.models import CalendarDay

# A due date is moved past closed days; a run of closed days longer than this is a data error.
_MAX_CLOSED_RUN = 366


async def closed_days(start: date, end: date) -> set[date]:
    """Closed days between start and end, both included."""
    rows = await CalendarDay.filter(day__gte=start, day__lte=end, is_closed=True).values_list("day", flat=True)
    return set(rows)


async def next_open_day(day: date) -> date:
    """The day itself if the library is open then, else the first open day after it."""
    closed = await closed_days(day, day + timedelta(days=_MAX_CLOSED_RUN))
    while day in closed:
        day += timedelta(days=1)
    return day


async def set_day(day: date, *, closed: bool, note: str = "") -> CalendarDay:
    """Mark a day closed (休館日) or open again."""
    row, _ = await CalendarDay.update_or_create(defaults={"is_closed": closed, "note": note}, day=day)
    return row
