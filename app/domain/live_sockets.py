"""Open subscription sockets, counted on every server process (ライブ通知の接続数).

A socket is a row from its handshake to its close: its process (`holder`), an HMAC of its
client's address, and its patron once authenticated. The limits per address and per patron
count the live rows of all processes, under a lock, so several processes cannot together let
more through. Each process renews its rows' `seen_at` (`heartbeat`); the rows of a process
that died stop counting after `STALE_AFTER` heartbeats and are deleted by retention.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from app import db
from app.domain.deps import Deps
from app.domain.security import keyed_digest
from app.models import LiveSocket, Patron

STALE_AFTER = 3  # heartbeats missed before a socket's row stops counting


def _live_since(deps: Deps) -> datetime:
    return deps.now() - STALE_AFTER * timedelta(seconds=deps.settings.live_session_check_seconds)


async def open_socket(deps: Deps, holder: str, address: str) -> int | None:
    """Count a new socket from this address; its id, or None past LIVE_CONNECTIONS_PER_ADDRESS."""
    key = keyed_digest(deps.settings.secret_key, f"live:{address}")
    now = deps.now()
    async with in_transaction():
        await db.lock_key(f"live_sockets:{key}")
        open_now = await LiveSocket.filter(address_key=key, seen_at__gt=_live_since(deps)).count()
        if open_now >= deps.settings.live_connections_per_address:
            return None
        return (await LiveSocket.create(holder=holder, address_key=key, opened_at=now, seen_at=now)).id


async def assign_patron(deps: Deps, socket_id: int, patron_id: int) -> bool:
    """Count an authenticated socket against its patron; False past LIVE_CONNECTIONS_PER_PATRON."""
    async with in_transaction():
        await Patron.select_for_update().get(id=patron_id)  # the patron's sockets, one at a time
        open_now = await LiveSocket.filter(patron_id=patron_id, seen_at__gt=_live_since(deps)).count()
        if open_now >= deps.settings.live_connections_per_patron:
            return False
        await LiveSocket.filter(id=socket_id).update(patron_id=patron_id, seen_at=deps.now())
        return True


async def open_count(deps: Deps) -> int:
    """Sockets open now on all server processes (metrics)."""
    return await LiveSocket.filter(seen_at__gt=_live_since(deps)).count()


async def close_socket(socket_id: int) -> None:
    await LiveSocket.filter(id=socket_id).delete()


async def heartbeat(deps: Deps, holder: str) -> None:
    """This process's sockets are still open."""
    await LiveSocket.filter(holder=holder).update(seen_at=deps.now())


async def forget_holder(holder: str) -> None:
    """A process stopping: its sockets are gone."""
    await LiveSocket.filter(holder=holder).delete()


async def purge_stale(deps: Deps) -> int:
    """Delete the rows of processes that died (retention)."""
    return await LiveSocket.filter(seen_at__lt=_live_since(deps)).delete()
