"""The library calendar: which days are open, and events (開館日・休館日・行事).

A day is open unless staff marked it closed (休館日); events are listed on their day.
"""

from __future__ import annotations

import calendar as _calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.domain.errors import DomainError, ErrorCode, Validator
from app.domain.normalize import nfkc
from app.models import CalendarDay, CalendarEvent

# A due date is moved past closed days; a run of closed days longer than this is a data error.
_MAX_CLOSED_RUN = 366
NOTE_MAX = 200
EVENT_TITLE_MAX = 200
EVENT_DESCRIPTION_MAX = 2000
_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


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
    """Mark a day closed (休館日) or open again, with a note shown on the calendar (e.g. 臨時休館)."""
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise DomainError(ErrorCode.TEXT_TOO_LONG, "note", max=NOTE_MAX)
    row, _ = await CalendarDay.update_or_create(defaults={"is_closed": closed, "note": note}, day=day)
    return row


@dataclass(frozen=True)
class DayView:
    """One day of the month: open or closed, its note and its events."""

    day: date
    closed: bool
    note: str
    events: list[CalendarEvent] = field(default_factory=list)


@dataclass(frozen=True)
class MonthView:
    year: int
    month: int
    days: list[DayView]

    @property
    def events(self) -> list[CalendarEvent]:
        return [e for d in self.days for e in d.events]


def valid_period(start: date, end: date, max_years: int) -> bool:
    """A period of days (both included): it ends on or after its start, and within `max_years`."""
    return start <= end < _years_after(start, max_years)


def _years_after(day: date, years: int) -> date:
    """The same day `years` later (28 February for 29 February); date.max past the calendar."""
    if day.year + years > date.max.year:
        return date.max
    return day.replace(year=day.year + years, day=min(day.day, 28) if (day.month, day.day) == (2, 29) else day.day)


def month_range(year: int, month: int) -> tuple[date, date]:
    """First and last day of a month; ValueError if there is no such month."""
    if not (1 <= month <= 12 and date.min.year <= year <= date.max.year):
        raise ValueError(f"no month {year}-{month}")
    return date(year, month, 1), date(year, month, _calendar.monthrange(year, month)[1])


async def _days(first: date, last: date) -> list[DayView]:
    """Every day from first to last with its state and events (two queries)."""
    marked = {row.day: row for row in await CalendarDay.filter(day__gte=first, day__lte=last)}
    events: dict[date, list[CalendarEvent]] = {}
    rows = await CalendarEvent.filter(day__gte=first, day__lte=last)
    # Events without a time (all day) come first on both databases (they order NULLs differently).
    for event in sorted(rows, key=lambda e: (e.day, e.starts_at or "", e.id)):
        events.setdefault(event.day, []).append(event)
    days = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        row = marked.get(day)
        days.append(DayView(day, bool(row and row.is_closed), row.note if row else "", events.get(day, [])))
    return days


async def month_view(year: int, month: int) -> MonthView:
    """開館カレンダー of one month: every day, open or closed, with its events."""
    first, last = month_range(year, month)
    return MonthView(year, month, await _days(first, last))


async def day_view(day: date) -> DayView:
    """One day of the calendar."""
    return (await _days(day, day))[0]


def event_time(raw: str | None) -> str | None:
    """A start time as "HH:MM" (full-width digits and 9:30 accepted), None when not given."""
    if raw is None or not raw.strip():
        return None
    match = _TIME.fullmatch(nfkc(raw).strip())
    if match is None:
        raise DomainError(ErrorCode.INVALID_TIME, "starts_at")
    return f"{int(match[1]):02d}:{match[2]}"


async def add_event(day: date, title: str, *, description: str = "", starts_at: str | None = None) -> CalendarEvent:
    """Add an event (行事) to a day, e.g. 2026/02/11 赤ちゃんおはなし会."""
    check = Validator()
    title, description = title.strip(), description.strip()
    if not title:
        check.add(ErrorCode.NAME_REQUIRED, "title")
    elif len(title) > EVENT_TITLE_MAX:
        check.add(ErrorCode.NAME_TOO_LONG, "title", max=EVENT_TITLE_MAX)
    if len(description) > EVENT_DESCRIPTION_MAX:
        check.add(ErrorCode.TEXT_TOO_LONG, "description", max=EVENT_DESCRIPTION_MAX)
    try:
        time = event_time(starts_at)
    except DomainError as error:
        check.failures.extend(error.failures)
    check.check()
    return await CalendarEvent.create(day=day, title=title, description=description, starts_at=time)


async def remove_event(event_id: int | None) -> int:
    """Remove an event; NOT_FOUND if there is no such event."""
    deleted = await CalendarEvent.filter(id=event_id).delete() if event_id is not None else 0
    if not deleted:
        raise DomainError(ErrorCode.NOT_FOUND, "event_id")
    return event_id
