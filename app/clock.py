"""Time for the whole service: one clock object, injected, so tests decide what "today" is."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo


class Clock:
    """The real clock, optionally moved by whole days. `today()` is the date in the library's
    time zone.

    The offset (`LIBRARY_TODAY`, `--today`) lets a developer or an acceptance tester see a hold
    expire or a loan fall overdue; time still runs, so sessions and throttles behave as usual.
    """

    def __init__(self, tz: ZoneInfo | str = "Asia/Tokyo", offset_days: int = 0) -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.offset = timedelta(days=offset_days)

    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""
        return datetime.now(timezone.utc) + self.offset

    def today(self) -> date:
        """Today's date at the library."""
        return self.now().astimezone(self.tz).date()

    def local(self, instant: datetime) -> datetime:
        """An instant expressed in the library's time zone."""
        return instant.astimezone(self.tz)

    def start_of(self, day: date) -> datetime:
        """The instant a library day begins, in UTC (as timestamps are stored)."""
        return datetime(day.year, day.month, day.day, tzinfo=self.tz).astimezone(timezone.utc)


class FixedClock(Clock):
    """A clock that stands still until a test moves it."""

    def __init__(self, at: datetime, tz: ZoneInfo | str = "Asia/Tokyo") -> None:
        super().__init__(tz)
        if at.tzinfo is None:
            at = at.replace(tzinfo=self.tz)
        self._now = at.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        """Move to an instant (naive datetimes are library-local)."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=self.tz)
        self._now = at.astimezone(timezone.utc)

    def set_date(self, day: date, hour: int = 10) -> None:
        """Move to a library-local date at the given hour."""
        self.set(datetime(day.year, day.month, day.day, hour))

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> None:
        """Move forward by a timedelta or keyword arguments (days=1, minutes=5, ...)."""
        self._now += delta if delta is not None else timedelta(**kwargs)


def offset_days(value: str, real_today: date) -> int:
    """Days to move the clock for a `LIBRARY_TODAY`/`--today` value: a date (`2026-12-10`) or a
    signed number of days (`+8`, `-1`). Raises ValueError for anything else."""
    text = value.strip()
    if text[:1] in "+-" and text[1:].isdigit():
        return int(text)
    try:
        return (date.fromisoformat(text) - real_today).days
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD) or a number of days (+8, -1): {value!r}") from None
