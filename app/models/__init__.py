"""Tortoise models: one module per domain concept, all imported here for the Tortoise app.

Model docstrings become SQL table comments: keep semicolons and apostrophes out of them
(Tortoise splits statements on ";" and does not escape quotes on SQLite).
"""

from app.models.accounts import AuthThrottle, GuestRate, OneTimeToken, Patron, Session, Staff
from app.models.calendar import CalendarDay, CalendarEvent
from app.models.catalog import Item, Title
from app.models.circulation import Hold, HoldCartEntry, Loan
from app.models.notices import JobRun, Notice, OutboxState, WorkerLease
from app.models.privacy import CalendarFeed, ConsentRecord, Event, LiveSocket
from app.models.shelves import (
    Bookshelf,
    BookshelfEntry,
    Favorite,
    ReadingGoal,
    ReadingHistoryEntry,
    ReadingTally,
)

__models__ = [
    Patron,
    Staff,
    Session,
    OneTimeToken,
    AuthThrottle,
    GuestRate,
    Title,
    Item,
    Loan,
    Hold,
    HoldCartEntry,
    Favorite,
    Bookshelf,
    BookshelfEntry,
    ReadingHistoryEntry,
    ReadingGoal,
    ReadingTally,
    CalendarDay,
    CalendarEvent,
    Notice,
    JobRun,
    WorkerLease,
    OutboxState,
    ConsentRecord,
    CalendarFeed,
    Event,
    LiveSocket,
]
