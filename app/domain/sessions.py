"""Server-side sessions: the client holds an opaque token, the database only its hash."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from app import db
from app.domain.deps import Deps
from app.domain.security import new_token, token_hash
from app.models import Patron, Session, Staff
from app.models.enums import SessionKind, StaffRole

# last_seen_at is written at most this often, so a busy session costs no write per request.
_TOUCH_EVERY = timedelta(minutes=5)


async def start(deps: Deps, *, patron: Patron | None = None, staff: Staff | None = None) -> str:
    """Open a session for a patron or a staff member and return its token (shown once)."""
    if (patron is None) == (staff is None):
        raise ValueError("a session is either a patron's or a staff member's")
    token = new_token()
    now = deps.now()
    await Session.create(
        token_hash=token_hash(token),
        kind=SessionKind.PATRON if patron else SessionKind.STAFF,
        patron=patron,
        staff=staff,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=deps.settings.session_max_hours),
    )
    return token


@dataclass(slots=True)
class PatronRow:
    """The patron of a session as read with it: the columns of `Patron` (the same names), no model."""

    id: int
    card_number: str
    name_kana: str
    birth_date: date
    phone: str
    email: str | None
    contact_email: str | None
    pending_email: str | None
    password_hash: str | None
    password_set_at: datetime | None
    notify_due_reminder: bool
    reading_history_enabled_at: datetime | None
    hold_lock: int
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: dict, prefix: str) -> PatronRow:
        def c(name: str) -> Any:
            return row[prefix + name]

        return cls(c("id"), c("card_number"), c("name_kana"), db.to_date(c("birth_date")),  # type: ignore[arg-type]
                   c("phone"), c("email"), c("contact_email"), c("pending_email"), c("password_hash"),
                   db.to_datetime(c("password_set_at")), bool(c("notify_due_reminder")),
                   db.to_datetime(c("reading_history_enabled_at")), c("hold_lock"), bool(c("is_active")),
                   db.to_datetime(c("created_at")), db.to_datetime(c("updated_at")))  # type: ignore[arg-type]


@dataclass(slots=True)
class StaffRow:
    """The staff member of a session as read with it: the columns of `Staff` but the password hash."""

    id: int
    username: str
    display_name: str
    role: StaffRole
    is_active: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict, prefix: str) -> StaffRow:
        return cls(row[prefix + "id"], row[prefix + "username"], row[prefix + "display_name"],
                   StaffRole(row[prefix + "role"]), bool(row[prefix + "is_active"]),
                   db.to_datetime(row[prefix + "created_at"]))  # type: ignore[arg-type]


@dataclass(slots=True)
class LiveSession:
    """A live session with its patron or staff member (`resolve`): plain rows, read in one statement."""

    id: int
    kind: SessionKind
    patron_id: int | None
    staff_id: int | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    device: str | None
    patron: PatronRow | None
    staff: StaffRow | None


async def resolve(deps: Deps, token: str) -> LiveSession | None:
    """The live session for a token (with its patron or staff loaded), or None."""
    if not token or len(token) > 200:
        return None
    session = await _lookup(token_hash(token))
    if session is None:
        return None
    now = deps.now()
    account = session.patron if session.kind is SessionKind.PATRON else session.staff
    if session.expires_at <= now or session.last_seen_at <= idle_cutoff(deps, now) or account is None:
        await Session.filter(id=session.id).delete()
        return None
    if not account.is_active:
        return None
    if now - session.last_seen_at >= _TOUCH_EVERY:
        session.last_seen_at = now
        await Session.filter(id=session.id).update(last_seen_at=now)
    return session


async def _lookup(digest: str) -> LiveSession | None:
    """The session with its patron or staff member, in one statement.

    Every request with a token pays this, so it is written by hand and read into plain rows
    (query building and model instances cost more than the lookup).
    """
    rows = await db.fetch(_LOOKUP_SQL, digest)
    if not rows:
        return None
    row = rows[0]
    return LiveSession(
        row["id"], SessionKind(row["kind"]), row["patron_id"], row["staff_id"], db.to_datetime(row["created_at"]),
        db.to_datetime(row["last_seen_at"]), db.to_datetime(row["expires_at"]), row["device"],  # type: ignore[arg-type]
        PatronRow.from_row(row, "p__") if row["p__id"] is not None else None,
        StaffRow.from_row(row, "st__") if row["st__id"] is not None else None,
    )


_LOOKUP_SQL = (
    "SELECT s.id, s.kind, s.patron_id, s.staff_id, s.created_at, s.last_seen_at, s.expires_at, s.device, "
    + ", ".join([*(f"p.{f.name} AS p__{f.name}" for f in fields(PatronRow)),
                 *(f"st.{f.name} AS st__{f.name}" for f in fields(StaffRow))])
    + " FROM sessions s LEFT JOIN patrons p ON p.id = s.patron_id LEFT JOIN staff st ON st.id = s.staff_id"
    " WHERE s.token_hash = ?"
)


async def end(session_id: int) -> None:
    await Session.filter(id=session_id).delete()


async def end_by_token(token: str) -> None:
    """End the session a token opens, if any (a browser's cookie replaced by a new login)."""
    if token and len(token) <= 200:
        await Session.filter(token_hash=token_hash(token)).delete()


async def end_all_for_patron(patron_id: int, *, keep_session_id: int | None = None) -> int:
    """End every session of a patron (password registered or changed, "log out everywhere
    else"), except maybe the current one; how many ended."""
    query = Session.filter(patron_id=patron_id)
    if keep_session_id is not None:
        query = query.exclude(id=keep_session_id)
    return await query.delete()


# --- the patron's view of their sessions (プライバシー: ログイン中の端末) ---------------------


def device_summary(user_agent: str | None) -> str | None:
    """A short summary of a browser ("Chrome 120 / Windows 10 / …") from its User-Agent, or None.

    Only the summary is kept: the raw header is a fingerprint, and no address is stored.
    """
    from ua_parser import parse

    if not user_agent:
        return None
    found = parse(user_agent[:1000])
    parts = []
    for part in (found.user_agent, found.os):
        if part is not None and part.family != "Other":
            parts.append(f"{part.family} {part.major}" if part.major else part.family)
    if found.device is not None and found.device.family not in ("Other", "Spider"):
        parts.append(found.device.family)
    return " / ".join(parts)[:100] or None


async def record_device(token: str, user_agent: str | None) -> None:
    """Note the browser a new session was opened in (called right after login)."""
    device = await asyncio.to_thread(device_summary, user_agent)
    if device and token:
        await Session.filter(token_hash=token_hash(token)).update(device=device)


def idle_cutoff(deps: Deps, now: datetime) -> datetime:
    """A session last seen at or before this has been idle too long (`SESSION_IDLE_MINUTES`)."""
    return now - timedelta(minutes=deps.settings.session_idle_minutes)


def live(deps: Deps) -> Q:
    """Sessions that still open the door: not past their end nor idle too long (the rule
    `resolve` applies to one session)."""
    now = deps.now()
    return Q(expires_at__gt=now) & Q(last_seen_at__gt=idle_cutoff(deps, now))


async def live_for_patron(deps: Deps, patron_id: int) -> list[Session]:
    """The patron's sessions that are still live, the most recently used first."""
    return await Session.filter(live(deps), patron_id=patron_id).order_by("-last_seen_at", "-id")


async def end_for_patron(patron_id: int, session_id: int | None) -> bool:
    """End one session of the patron (any other patron's is "not found"); True if it existed."""
    return session_id is not None and await Session.filter(id=session_id, patron_id=patron_id).delete() > 0

