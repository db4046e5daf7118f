"""The privacy dashboard (わたしの情報): what the service holds about the patron, the export of
all of it, and the deletion of the reading records the patron may delete.

Reading records are the patron's secret (Japan Library Association): the patron sees every kind
of data kept, how long, and how it goes; downloads all of it as JSON; and deletes in one step
the records that are theirs alone (loan history, reading-marathon counts, shelves, favorites).
Current loans and holds are the library's working records: they go when the copy is returned
or the hold ends, which the patron is told plainly.

The export is never stored: preparing it makes a one-time link (its token hashed in
`one_time_tokens`, valid PRIVACY_EXPORT_MINUTES, for the same patron's session only); the file
is written when the link is opened, and the link is spent by opening it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from tortoise.transactions import in_transaction

from app import db
from app.domain import consent, sessions
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode
from app.domain.normalize import nfkc
from app.domain.security import new_token, token_hash
from app.models import (
    Bookshelf,
    BookshelfEntry,
    CalendarFeed,
    Favorite,
    Hold,
    HoldCartEntry,
    Loan,
    Notice,
    OneTimeToken,
    Patron,
    ReadingGoal,
    ReadingHistoryEntry,
    ReadingTally,
)
from app.models.enums import ACTIVE_HOLD_STATUSES, ConsentKind, HoldStatus, TokenPurpose

EXPORT_FORMAT = "library-web/patron-data/1"
# What the patron types to confirm a deletion (the button's own words).
DELETE_CONFIRMATION = "削除する"


class PersonalData(str, Enum):
    """Every kind of personal data the service holds about a patron."""

    REGISTRATION = "registration"
    CONTACT_ADDRESS = "contact_address"
    CURRENT_LOANS = "current_loans"
    ACTIVE_HOLDS = "active_holds"
    CANCELLED_HOLDS = "cancelled_holds"
    LOAN_HISTORY = "loan_history"
    BOOKSHELVES = "bookshelves"
    FAVORITES = "favorites"
    HOLD_CART = "hold_cart"
    READING_MARATHON = "reading_marathon"
    NOTICES = "notices"
    SESSIONS = "sessions"
    CALENDAR_FEED = "calendar_feed"
    CONSENT_LEDGER = "consent_ledger"


class ReadingRecord(str, Enum):
    """The reading records a patron may delete from the web (deleteReadingRecords)."""

    LOAN_HISTORY = "loan_history"
    READING_TALLIES = "reading_tallies"
    BOOKSHELVES = "bookshelves"
    FAVORITES = "favorites"


# Deleted online by the patron: with deleteReadingRecords, or with the mutation of its own
# (removeEmail, removeFromHoldCart, endSession, revokeCalendarFeed).
_DELETABLE_ONLINE = {
    PersonalData.CONTACT_ADDRESS, PersonalData.LOAN_HISTORY, PersonalData.BOOKSHELVES, PersonalData.FAVORITES,
    PersonalData.HOLD_CART, PersonalData.READING_MARATHON, PersonalData.SESSIONS, PersonalData.CALENDAR_FEED,
}


@dataclass(frozen=True)
class Category:
    """One kind of data: how many rows the patron has, how long they are kept (days, or None
    when not by time) and whether the patron can delete them from the web."""

    kind: PersonalData
    count: int
    retention_days: int | None
    deletable_online: bool


def _retention_days(deps: Deps, kind: PersonalData) -> int | None:
    return {
        PersonalData.CANCELLED_HOLDS: deps.settings.hold_history_days,
        PersonalData.NOTICES: deps.settings.notice_retention_days,
    }.get(kind)


_ACTIVE = ", ".join(f"'{s.value}'" for s in ACTIVE_HOLD_STATUSES)
_CANCELLED = HoldStatus.CANCELLED.value
_COUNTS_SQL = (
    "SELECT "
    "(SELECT count(*) FROM loans WHERE patron_id = ? AND returned_at IS NULL) AS current_loans, "
    f"(SELECT count(*) FROM holds WHERE patron_id = ? AND status IN ({_ACTIVE})) AS active_holds, "
    f"(SELECT count(*) FROM holds WHERE patron_id = ? AND status = '{_CANCELLED}') AS cancelled_holds, "
    "(SELECT count(*) FROM reading_history WHERE patron_id = ?) AS loan_history, "
    "(SELECT count(*) FROM bookshelves WHERE patron_id = ?) AS bookshelves, "
    "(SELECT count(*) FROM favorites WHERE patron_id = ?) AS favorites, "
    "(SELECT count(*) FROM hold_cart_entries WHERE patron_id = ?) AS hold_cart, "
    "(SELECT count(*) FROM reading_tallies WHERE patron_id = ?) AS reading_marathon, "
    "(SELECT count(*) FROM notices WHERE patron_id = ?) AS notices, "
    # sessions.live, as SQL
    "(SELECT count(*) FROM sessions WHERE patron_id = ? AND expires_at > ? AND last_seen_at > ?) AS sessions, "
    "(SELECT count(*) FROM calendar_feeds WHERE patron_id = ?) AS calendar_feed, "
    "(SELECT count(*) FROM consent_records WHERE patron_id = ?) AS consent_ledger"
)


async def categories(deps: Deps, patron: Patron) -> list[Category]:
    """Every kind of data held about the patron, with counts (one statement)."""
    now = deps.now()
    idle_since = sessions.idle_cutoff(deps, now)
    p = patron.id
    (row,) = await db.fetch(_COUNTS_SQL, p, p, p, p, p, p, p, p, p, p, now, idle_since, p, p)
    addresses = len({a for a in (patron.email, patron.contact_email, patron.pending_email) if a})
    counts = {PersonalData.REGISTRATION: 1, PersonalData.CONTACT_ADDRESS: addresses,
              **{kind: row[kind.value] for kind in PersonalData if kind.value in row}}
    return [Category(kind, counts[kind], _retention_days(deps, kind), kind in _DELETABLE_ONLINE)
            for kind in PersonalData]


# --- deleting reading records ---------------------------------------------------------------

_RECORDS = {ReadingRecord.LOAN_HISTORY: ReadingHistoryEntry, ReadingRecord.READING_TALLIES: ReadingTally,
            ReadingRecord.BOOKSHELVES: Bookshelf, ReadingRecord.FAVORITES: Favorite}


@dataclass
class Deleted:
    """What a deletion removed, per kind, and what stays (current loans, active holds)."""

    counts: dict[ReadingRecord, int] = field(default_factory=dict)
    current_loans: int = 0
    active_holds: int = 0


async def delete_reading_records(deps: Deps, patron: Patron, confirmation: str,
                                 kinds: list[ReadingRecord] | None = None) -> Deleted:
    """Delete the chosen reading records (all four kinds by default) in one transaction, once the
    patron has typed 削除する. The loan-history choice stays as it is."""
    if nfkc(confirmation or "").strip() != DELETE_CONFIRMATION:
        raise DomainError(ErrorCode.CONFIRMATION_REQUIRED, "confirmation", phrase=DELETE_CONFIRMATION)
    chosen = list(dict.fromkeys(kinds)) if kinds else list(ReadingRecord)
    result = Deleted()
    async with in_transaction():
        # The patron's row lock: a checkout recording history at this moment waits, or is deleted too.
        await Patron.select_for_update().get(id=patron.id)
        for kind in chosen:
            rows = _RECORDS[kind].filter(patron_id=patron.id)
            # Counted first: on SQLite a delete's count includes the rows its cascade removed.
            result.counts[kind] = await rows.count()
            await rows.delete()
        await consent.record(deps, patron.id, ConsentKind.READING_RECORDS_DELETED)
        result.current_loans = await Loan.filter(patron_id=patron.id, returned_at=None).count()
        result.active_holds = await Hold.filter(patron_id=patron.id,
                                                status__in=ACTIVE_HOLD_STATUSES).count()
    return result


# --- the export -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportLink:
    """A prepared export: the one-time token of its link and when the link stops working."""

    token: str
    expires_at: datetime


async def prepare_export(deps: Deps, patron_id: int) -> ExportLink:
    """A new one-time export link for the patron (an earlier unused one stops working)."""
    now = deps.now()
    link = ExportLink(new_token(), now + timedelta(minutes=deps.settings.privacy_export_minutes))
    async with in_transaction():
        await OneTimeToken.filter(patron_id=patron_id, purpose=TokenPurpose.PRIVACY_EXPORT, used_at=None,
                                  revoked_at=None).update(revoked_at=now)
        await OneTimeToken.create(token_hash=token_hash(link.token), purpose=TokenPurpose.PRIVACY_EXPORT,
                                  patron_id=patron_id, created_at=now, expires_at=link.expires_at)
    return link


async def claim_export(deps: Deps, token: str, patron_id: int) -> None:
    """Spend an export link of this patron (once); INVALID_TOKEN or TOKEN_EXPIRED otherwise.

    Another patron's link is INVALID_TOKEN too, and is not spent: it stays its owner's.
    """
    now = deps.now()
    row = None
    if token and len(token) <= 200:
        row = await OneTimeToken.get_or_none(token_hash=token_hash(token), purpose=TokenPurpose.PRIVACY_EXPORT)
    if row is None or row.patron_id != patron_id or row.used_at is not None or row.revoked_at is not None:
        raise DomainError(ErrorCode.INVALID_TOKEN, "token")
    if row.expires_at <= now:
        raise DomainError(ErrorCode.TOKEN_EXPIRED, "token")
    if await OneTimeToken.filter(id=row.id, used_at=None, revoked_at=None).update(used_at=now) != 1:
        raise DomainError(ErrorCode.INVALID_TOKEN, "token")


def _title(title: Any) -> dict[str, Any]:
    return {"title": title.title, "author": title.author, "publisher": title.publisher, "isbn": title.isbn}


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def export_document(deps: Deps, patron_id: int) -> dict[str, Any]:
    """Everything the service holds about the patron, as a JSON-ready document."""
    patron = await Patron.get(id=patron_id)
    local = deps.clock.local

    def instant(value: datetime | None) -> str | None:
        return local(value).isoformat() if value is not None else None

    loans = await Loan.filter(patron_id=patron_id).select_related("title").order_by("due_date", "id")
    holds = await Hold.filter(patron_id=patron_id).select_related("title").order_by("placed_at", "id")
    history = await ReadingHistoryEntry.filter(patron_id=patron_id).select_related("title").order_by(
        "borrowed_on", "id")
    shelves = await Bookshelf.filter(patron_id=patron_id).order_by("created_at", "id")
    entries = await BookshelfEntry.filter(bookshelf__patron_id=patron_id).select_related("title").order_by(
        "added_at", "id")
    favorites = await Favorite.filter(patron_id=patron_id).select_related("title").order_by("created_at", "id")
    cart = await HoldCartEntry.filter(patron_id=patron_id).select_related("title").order_by("added_at", "id")
    goal = await ReadingGoal.get_or_none(patron_id=patron_id)
    tallies = await ReadingTally.filter(patron_id=patron_id).order_by("day")
    notices = await Notice.filter(patron_id=patron_id).order_by("created_at", "id")
    feed = await CalendarFeed.get_or_none(patron_id=patron_id)
    return {
        "format": EXPORT_FORMAT,
        "library": deps.settings.library_name,
        "exportedAt": instant(deps.now()),
        "patron": {
            "cardNumber": patron.card_number, "nameKana": patron.name_kana, "birthDate": _day(patron.birth_date),
            "phone": patron.phone, "email": patron.email, "contactEmail": patron.contact_email,
            "pendingEmail": patron.pending_email, "registeredAt": instant(patron.created_at),
            "passwordSetAt": instant(patron.password_set_at),
            "loanHistoryEnabledSince": instant(patron.reading_history_enabled_at),
            "notificationSettings": {"dueDateReminder": patron.notify_due_reminder},
        },
        "currentLoans": [{**_title(loan.title), "checkedOutAt": instant(loan.checked_out_at),
                          "dueDate": _day(loan.due_date), "renewalCount": loan.renewal_count} for loan in loans],
        "holds": [{**_title(h.title), "status": h.status.value, "source": h.source.value,
                   "contactEmail": h.contact_email, "placedAt": instant(h.placed_at), "readyAt": instant(h.ready_at),
                   "pickupDeadline": _day(h.pickup_deadline), "cancelledAt": instant(h.cancelled_at),
                   "cancelReason": h.cancel_reason.value if h.cancel_reason else None} for h in holds],
        "loanHistory": [{**_title(e.title), "borrowedOn": _day(e.borrowed_on)} for e in history],
        "bookshelves": [{"name": s.name, "createdAt": instant(s.created_at),
                         "titles": [{**_title(e.title), "addedAt": instant(e.added_at)}
                                    for e in entries if e.bookshelf_id == s.id]} for s in shelves],
        "favorites": [{**_title(f.title), "addedAt": instant(f.created_at)} for f in favorites],
        "holdCart": [{**_title(c.title), "addedAt": instant(c.added_at)} for c in cart],
        "readingMarathon": {
            "goal": {"target": goal.target, "periodStart": _day(goal.period_start),
                     "periodEnd": _day(goal.period_end)} if goal else None,
            "loansPerDay": [{"day": _day(t.day), "count": t.count} for t in tallies],
        },
        "notices": [{"kind": n.kind.value, "status": n.status.value, "toAddress": n.to_address,
                     "createdAt": instant(n.created_at), "sentAt": instant(n.sent_at)} for n in notices],
        "sessions": [{"device": s.device, "createdAt": instant(s.created_at), "lastSeenAt": instant(s.last_seen_at)}
                     for s in await sessions.live_for_patron(deps, patron_id)],
        "calendarFeed": {"createdAt": instant(feed.created_at), "lastFetchedAt": instant(feed.last_fetched_at)}
        if feed else None,
        "consentLedger": [{"kind": r.kind.value, "on": _day(r.on_date)} for r in await consent.ledger(patron_id)],
    }
