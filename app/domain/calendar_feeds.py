"""Calendar feeds (iCalendar, RFC 5545): the library's public calendar, and a private feed per
patron with due dates and pickup deadlines (カレンダー配信).

A patron's feed has a secret address, created, rotated and revoked by the patron. Its token is
derived from a stored nonce with SECRET_KEY (as e-mail confirmation links are), so the patron can
see the address again while a copy of the database alone opens nothing. Calendar apps copy
events to third-party clouds: the feed names no titles unless the library names them in its
notices too (NOTICES_INCLUDE_TITLES), and says so where the patron creates it.

UIDs are stable: a loan keeps its UID while it is renewed, so a renewal moves the event (with a
higher SEQUENCE) instead of adding one; a returned loan leaves the feed. They are HMACs of the
row id, so the calendar's cloud learns no ids.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from app import db
from app.domain import messages
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode
from app.domain.security import keyed_digest, keyed_token, token_hash
from app.models import CalendarDay, CalendarEvent, CalendarFeed, Patron
from app.models.enums import HoldStatus
from app.settings import Settings

_PURPOSE = "calendar_feed"
PUBLIC_PATH = "/calendar/library.ics"
PRIVATE_PATH = "/calendar/patron.ics"
# The public feed: from a month back to a year ahead.
_PUBLIC_PAST = timedelta(days=31)
_PUBLIC_AHEAD = timedelta(days=366)
# A fetch is noted at most this often (calendar apps poll).
_TOUCH_EVERY = timedelta(minutes=15)


# --- the patron's secret address -------------------------------------------------------------


def feed_url(settings: Settings, feed: CalendarFeed) -> str:
    """The secret https address of a patron's feed."""
    return f"{settings.public_base_url}{PRIVATE_PATH}?token={keyed_token(settings.secret_key, _PURPOSE, feed.nonce)}"


def names_titles(settings: Settings) -> bool:
    """Whether private feeds name titles: only if the library's notices do (NOTICES_INCLUDE_TITLES)."""
    return settings.notices_include_titles


def privacy_note(settings: Settings) -> str:
    """What the patron is told where the feed is created: where events go, and whether titles do."""
    return messages.CALENDAR_FEED_NOTE_WITH_TITLES if names_titles(settings) else messages.CALENDAR_FEED_NOTE


def _new_secret(settings: Settings) -> dict[str, str]:
    nonce = secrets.token_urlsafe(32)
    return {"nonce": nonce, "token_hash": token_hash(keyed_token(settings.secret_key, _PURPOSE, nonce))}


async def of_patron(patron_id: int) -> CalendarFeed | None:
    return await CalendarFeed.get_or_none(patron_id=patron_id)


async def create(deps: Deps, patron_id: int) -> CalendarFeed:
    """The patron's feed, created if there is none yet (creating again changes nothing)."""
    async with in_transaction():
        await Patron.select_for_update().get(id=patron_id)
        existing = await of_patron(patron_id)
        if existing is not None:
            return existing
        return await CalendarFeed.create(patron_id=patron_id, created_at=deps.now(), **_new_secret(deps.settings))


async def rotate(deps: Deps, patron_id: int) -> CalendarFeed:
    """A new secret address; the old one stops working at once."""
    async with in_transaction():
        feed = await CalendarFeed.select_for_update().get_or_none(patron_id=patron_id)
        if feed is None:
            raise DomainError(ErrorCode.NOT_FOUND)
        await CalendarFeed.filter(id=feed.id).update(created_at=deps.now(), last_fetched_at=None,
                                                     **_new_secret(deps.settings))
        return await CalendarFeed.get(id=feed.id)


async def revoke(patron_id: int) -> None:
    """Stop the feed: its address answers 404 from now on."""
    if not await CalendarFeed.filter(patron_id=patron_id).delete():
        raise DomainError(ErrorCode.NOT_FOUND)


async def patron_for_token(deps: Deps, token: str) -> int | None:
    """The active patron whose feed this token opens (noting the fetch), or None."""
    if not token or len(token) > 200:
        return None
    rows = await db.fetch(
        "SELECT f.id, f.patron_id, f.last_fetched_at FROM calendar_feeds f JOIN patrons p ON p.id = f.patron_id "
        "WHERE f.token_hash = ? AND p.is_active", token_hash(token),
    )
    if not rows:
        return None
    now = deps.now()
    last = db.to_datetime(rows[0]["last_fetched_at"])
    if last is None or now - last >= _TOUCH_EVERY:
        await CalendarFeed.filter(id=rows[0]["id"]).update(last_fetched_at=now)
    return rows[0]["patron_id"]


# --- what the feeds hold ---------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One calendar event: all day (`at` None) or at a library-local time on `day`."""

    uid: str
    day: date
    summary: str
    description: str = ""
    at: str | None = None  # "HH:MM"
    sequence: int = 0


def _uid(settings: Settings, kind: str, key: object) -> str:
    host = urlsplit(settings.public_base_url).hostname or "library"
    return f"{kind}-{keyed_digest(settings.secret_key, f'{_PURPOSE}:{kind}:{key}')[:24]}@{host}"


def _named(label: str, title: str | None) -> str:
    return f"{label}：{title}" if title else label


async def patron_entries(deps: Deps, patron_id: int) -> list[Entry]:
    """Due dates of the patron's current loans and pickup deadlines of their ready holds."""
    settings = deps.settings
    titles = names_titles(settings)
    loans = await db.fetch(
        "SELECT l.id, l.due_date, l.renewal_count, t.title FROM loans l JOIN titles t ON t.id = l.title_id "
        "WHERE l.patron_id = ? AND l.returned_at IS NULL ORDER BY l.due_date, l.id", patron_id,
    )
    holds = await db.fetch(
        "SELECT h.id, h.pickup_deadline, t.title FROM holds h JOIN titles t ON t.id = h.title_id "
        "WHERE h.patron_id = ? AND h.status = ? AND h.pickup_deadline IS NOT NULL ORDER BY h.pickup_deadline, h.id",
        patron_id, HoldStatus.READY.value,
    )
    library = settings.library_name
    return [
        *(Entry(_uid(settings, "loan", row["id"]), db.to_date(row["due_date"]),
                _named(messages.ICAL_DUE_DATE, row["title"] if titles else None),
                messages.ICAL_DUE_DATE_DESCRIPTION.format(library=library), sequence=row["renewal_count"])
          for row in loans),
        *(Entry(_uid(settings, "hold", row["id"]), db.to_date(row["pickup_deadline"]),
                _named(messages.ICAL_PICKUP_DEADLINE, row["title"] if titles else None),
                messages.ICAL_PICKUP_DEADLINE_DESCRIPTION.format(library=library))
          for row in holds),
    ]


async def library_entries(deps: Deps) -> list[Entry]:
    """Closed days and events of the library calendar, from a month back to a year ahead."""
    today = deps.today()
    first, last = today - _PUBLIC_PAST, today + _PUBLIC_AHEAD
    closed = await CalendarDay.filter(day__gte=first, day__lte=last, is_closed=True).order_by("day")
    events = await CalendarEvent.filter(day__gte=first, day__lte=last).order_by("day", "id")
    host = urlsplit(deps.settings.public_base_url).hostname or "library"
    return [
        *(Entry(f"closed-{d.day:%Y%m%d}@{host}", d.day, _named(messages.ICAL_CLOSED, d.note or None)) for d in closed),
        *(Entry(f"event-{e.id}@{host}", e.day, e.title, e.description, at=e.starts_at) for e in events),
    ]


def stamp(now: datetime) -> datetime:
    """DTSTAMP of a feed's events: when the feed was written."""
    return now.replace(microsecond=0)
