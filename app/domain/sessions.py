"""Server-side sessions: the client holds an opaque token, the database only its hash."""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta

from tortoise import fields
from tortoise.expressions import Q

from app import db
from app.domain.deps import Deps
from app.domain.security import new_token, token_hash
from app.models import Patron, Session, Staff
from app.models.enums import SessionKind

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


async def resolve(deps: Deps, token: str) -> Session | None:
    """The live session for a token (with its patron or staff loaded), or None."""
    if not token or len(token) > 200:
        return None
    session = await _lookup(token_hash(token))
    if session is None:
        return None
    now = deps.now()
    idle_limit = timedelta(minutes=deps.settings.session_idle_minutes)
    account = session.patron if session.kind is SessionKind.PATRON else session.staff
    if session.expires_at <= now or session.last_seen_at + idle_limit <= now or account is None:
        await Session.filter(id=session.id).delete()
        return None
    if not account.is_active:
        return None
    if now - session.last_seen_at >= _TOUCH_EVERY:
        session.last_seen_at = now
        await Session.filter(id=session.id).update(last_seen_at=now)
    return session


async def _lookup(digest: str) -> Session | None:
    """The session with its patron or staff member, in one statement.

    Every request with a token pays this, so it is written by hand (query building costs more
    than the lookup); the models are built as `select_related` builds them.
    """
    rows = await db.fetch(_lookup_sql(), digest)
    if not rows:
        return None
    row = rows[0]
    session = Session._init_from_db(**_columns(Session, row, ""))
    for attr, model, prefix in (("patron", Patron, "p__"), ("staff", Staff, "st__")):
        found = row[f"{prefix}id"] is not None
        related = model._init_from_db(**_columns(model, row, prefix)) if found else None
        object.__setattr__(session, f"_{attr}", related)
    return session


def _columns(model: type, row: dict, prefix: str) -> dict:
    """The model's columns from the row, timestamps already parsed (SQLite returns text, which
    Tortoise would parse with a slower parser of its own)."""
    values = {c: row[prefix + c] for c in model._meta.db_fields}
    timestamps, dates = _dated_columns(model)
    for column in timestamps:
        if values[column] is not None:
            values[column] = db.to_datetime(values[column])
    for column in dates:
        if values[column] is not None:
            values[column] = db.to_date(values[column])
    return values


@functools.cache
def _dated_columns(model: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The model's timestamp columns and its date columns."""
    fields_map = model._meta.fields_map
    return (tuple(f.source_field or n for n, f in fields_map.items() if isinstance(f, fields.DatetimeField)),
            tuple(f.source_field or n for n, f in fields_map.items() if isinstance(f, fields.DateField)
                  and not isinstance(f, fields.DatetimeField)))


@functools.cache
def _lookup_sql() -> str:
    columns = [f"s.{c} AS {c}" for c in Session._meta.db_fields]
    columns += [f"p.{c} AS p__{c}" for c in Patron._meta.db_fields]
    columns += [f"st.{c} AS st__{c}" for c in Staff._meta.db_fields]
    return (f"SELECT {', '.join(columns)} FROM sessions s LEFT JOIN patrons p ON p.id = s.patron_id "
            "LEFT JOIN staff st ON st.id = s.staff_id WHERE s.token_hash = ?")


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


def _live(deps: Deps) -> Q:
    """Sessions that still open the door: not past their end nor idle too long."""
    now = deps.now()
    return Q(expires_at__gt=now) & Q(last_seen_at__gt=now - timedelta(minutes=deps.settings.session_idle_minutes))


async def live_for_patron(deps: Deps, patron_id: int) -> list[Session]:
    """The patron's sessions that are still live, the most recently used first."""
    return await Session.filter(_live(deps), patron_id=patron_id).order_by("-last_seen_at", "-id")


async def end_for_patron(patron_id: int, session_id: int | None) -> bool:
    """End one session of the patron (any other patron's is "not found"); True if it existed."""
    return session_id is not None and await Session.filter(id=session_id, patron_id=patron_id).delete() > 0

