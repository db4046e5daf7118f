"""Live connections of this server process: the patrons' sockets and the events they get.

`LiveHub` hands each event (`app.domain.events`) to the subscriptions of its patron on this
process, closes the sockets of a session that ended, and keeps the limits:

- Events reach every server process. On PostgreSQL the hub LISTENs on a connection of its own
  to the `library_events` channel; each new event row is announced there when its transaction
  commits, whichever process (a desk's request, the worker) wrote it. If that connection drops,
  the hub reconnects and reads what it missed from the table. On SQLite the one server process
  reads new rows every LIVE_POLL_MILLISECONDS (the writers' transactions commit in id order).
- A session that ends (logout, a password change, a new login in its place, expiry) closes its
  sockets with 4401. On PostgreSQL a trigger writes SESSION_ENDED when a session row is deleted,
  and every LIVE_SESSION_CHECK_SECONDS the hub checks that the sessions of its sockets are still
  live (idle and maximum lifetimes pass without a deletion). On SQLite the hub checks them each
  time it polls.
- Limits: LIVE_CONNECTIONS_PER_ADDRESS sockets from one client address (refused at the
  handshake, HTTP 429) and LIVE_CONNECTIONS_PER_PATRON per patron (closed with 4429 at
  `connection_init`), counted over every server process (`app.domain.live_sockets`);
  LIVE_MAX_MESSAGE_BYTES for a message from the client (closed with 1009); and a socket running
  no subscription for LIVE_IDLE_SECONDS is closed (1000).
- A subscriber that does not read its events (its queue is full) is closed with 1013: it
  reconnects and refetches, so nothing is silently lost.

The hub runs from the app's lifespan (`running()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import AsyncIterator, Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import db
from app.domain import events, live_sockets, sessions
from app.domain.deps import Deps
from app.domain.events import LiveEvent
from app.domain.mailer import process_holder
from app.models import Session
from app.models.enums import EventKind
from app.web.guards import GRAPHQL_PATH, deny_websocket

log = logging.getLogger(__name__)
request_log = logging.getLogger("library.request")

# graphql-transport-ws and RFC 6455 close codes the hub uses.
CLOSE_SESSION_ENDED = (4401, "Session ended")
CLOSE_TOO_MANY = (4429, "Too many connections")
CLOSE_IDLE = (1000, "Idle timeout")
CLOSE_TOO_BIG = (1009, "Message too big")
CLOSE_TOO_SLOW = (1013, "Events not read: reconnect and refetch")

_QUEUE_SIZE = 100
_REMEMBERED = 10_000  # event ids already handed on (a reconnection may read them again)
_CATCH_UP_SLACK = 1_000  # ids below the last one seen that may commit late (PostgreSQL)
_SWEEP_SECONDS = 1.0


@dataclass(eq=False)
class LiveConnection:
    """One admitted socket: its patron, its session and its running subscriptions."""

    hub: LiveHub
    patron_id: int
    session_id: int
    close_socket: Callable[[int, str], Awaitable[None]]
    queues: set[asyncio.Queue] = field(default_factory=set)
    idle_since: float | None = None
    closed: bool = False

    async def events(self) -> AsyncIterator[LiveEvent]:
        """This patron's events from now on, until the socket closes or the client completes."""
        queue: asyncio.Queue = asyncio.Queue(maxsize=_QUEUE_SIZE)
        self.queues.add(queue)
        self.idle_since = None
        try:
            while True:
                yield await queue.get()
        finally:
            self.queues.discard(queue)
            if not self.queues:
                self.idle_since = asyncio.get_running_loop().time()

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.close_socket(code, reason)


class LiveHub:
    """This process's live connections, fed by the event source of its database."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.by_patron: dict[int, set[LiveConnection]] = {}
        self.by_session: dict[int, set[LiveConnection]] = {}
        # This process in `live_sockets` (several apps may share a process in tests).
        self.holder = f"{process_holder()}:{uuid.uuid4().hex[:8]}"
        self._handed_on: OrderedDict[int, None] = OrderedDict()
        self._tasks: list[asyncio.Task] = []
        self._last_session_check = 0.0

    # --- lifecycle ---------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LiveHub]:
        """Listen for events and watch the sockets while the app runs."""
        source = self._listen if db.is_postgres() else self._poll
        self._tasks = [asyncio.create_task(source(), name="live-events"),
                       asyncio.create_task(self._sweep(), name="live-sweep")]
        try:
            yield self
        finally:
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for connection in [c for group in self.by_patron.values() for c in group]:
                await connection.close(1001, "Server shutting down")
            with contextlib.suppress(Exception):
                await live_sockets.forget_holder(self.holder)

    # --- admission -----------------------------------------------------------------------

    async def open_socket(self, address: str) -> int | None:
        """Count a new socket from this address; its id, or None past the limit."""
        return await live_sockets.open_socket(self.deps, self.holder, address)

    async def close_socket(self, socket_id: int) -> None:
        await live_sockets.close_socket(socket_id)

    async def admit(self, socket_id: int, patron_id: int, session_id: int,
                    close_socket: Callable[[int, str], Awaitable[None]]) -> LiveConnection | None:
        """Register an authenticated socket; None past the patron's limit."""
        if not await live_sockets.assign_patron(self.deps, socket_id, patron_id):
            return None
        connection = LiveConnection(self, patron_id, session_id, close_socket,
                                    idle_since=asyncio.get_running_loop().time())
        self.by_patron.setdefault(patron_id, set()).add(connection)
        self.by_session.setdefault(session_id, set()).add(connection)
        return connection

    def leave(self, connection: LiveConnection) -> None:
        """Forget a socket that closed."""
        connection.closed = True
        for index, key in ((self.by_patron, connection.patron_id), (self.by_session, connection.session_id)):
            group = index.get(key)
            if group is not None:
                group.discard(connection)
                if not group:
                    del index[key]

    # --- handing events on -----------------------------------------------------------------

    async def dispatch(self, batch: list[LiveEvent]) -> None:
        """Hand each event to the subscriptions of its patron here, or close an ended session's sockets."""
        for event in batch:
            if event.id in self._handed_on:
                continue
            self._handed_on[event.id] = None
            if len(self._handed_on) > _REMEMBERED:
                self._handed_on.popitem(last=False)
            if event.kind is EventKind.SESSION_ENDED:
                for connection in list(self.by_session.get(event.session_id or 0, ())):
                    await connection.close(*CLOSE_SESSION_ENDED)
                continue
            for connection in list(self.by_patron.get(event.patron_id or 0, ())):
                for queue in list(connection.queues):
                    try:
                        queue.put_nowait(event)
                    except asyncio.QueueFull:
                        await connection.close(*CLOSE_TOO_SLOW)

    async def _poll(self) -> None:
        """SQLite: read the rows committed since the last read, every LIVE_POLL_MILLISECONDS."""
        interval = self.settings.live_poll_milliseconds / 1000
        last = await events.last_id()
        while True:
            try:
                batch = await events.after(last)
            except Exception as error:  # noqa: BLE001 - a busy or restarting database: read again later
                # The type only: a database error's message may quote row values.
                log.warning("live_events_read_failed", extra={"json_fields": {"error_type": type(error).__name__}})
                batch = []
            if batch:
                last = batch[-1].id
                await self.dispatch(batch)
                continue
            with contextlib.suppress(Exception):
                await self.close_lapsed_sessions()
            await asyncio.sleep(interval)

    async def _listen(self) -> None:
        """PostgreSQL: LISTEN on a connection of our own; reconnect and catch up if it drops."""
        import asyncpg

        credentials = db.tortoise_config(self.settings.database_url)["connections"]["default"]["credentials"]
        last_seen: int | None = None
        catch_up_from: int | None = None
        with contextlib.suppress(Exception):  # where to catch up from, if the first LISTEN fails
            catch_up_from = await events.last_id() + 1
        pause = 0.5
        while True:
            announced: asyncio.Queue[str | None] = asyncio.Queue()
            connection = None
            try:
                connection = await asyncpg.connect(
                    host=credentials.get("host"), port=credentials.get("port"), user=credentials.get("user"),
                    password=credentials.get("password"), database=credentials.get("database"),
                )
                connection.add_termination_listener(lambda _: announced.put_nowait(None))
                await connection.add_listener(events.CHANNEL, lambda *args: announced.put_nowait(args[3]))
                if last_seen is not None:
                    # Ids are handed out before commit, so a row below the last one seen may have
                    # committed late: look back a little (what was handed on already is skipped).
                    catch_up_from = max(1, last_seen - _CATCH_UP_SLACK)
                if catch_up_from is not None:
                    # What was committed while we were not listening.
                    await self.dispatch(await events.since(catch_up_from, list(self.by_patron)))
                last_seen = last_seen if last_seen is not None else await events.last_id()
                pause = 0.5
                while True:
                    payload = await announced.get()
                    if payload is None:
                        raise ConnectionError("the LISTEN connection closed")
                    payloads = [payload]
                    while not announced.empty():
                        payloads.append(announced.get_nowait())
                    if None in payloads:
                        raise ConnectionError("the LISTEN connection closed")
                    wanted = []
                    for text in payloads:
                        event_id, _, patron_id = text.partition(" ")
                        last_seen = max(last_seen or 0, int(event_id))
                        if int(patron_id or 0) in self.by_patron:
                            wanted.append(int(event_id))
                    await self.dispatch(await events.by_ids(wanted))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the database restarting: listen again
                log.warning("live_events_listen_lost", extra={"json_fields": {
                    "error_type": type(error).__name__, "retry_seconds": pause}})
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)

    # --- idle sockets and sessions that lapsed ---------------------------------------------

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_SWEEP_SECONDS)
            now = loop.time()
            for connection in [c for group in self.by_patron.values() for c in group]:
                if connection.idle_since is not None and now - connection.idle_since >= self.settings.live_idle_seconds:
                    await connection.close(*CLOSE_IDLE)
            if now - self._last_session_check >= self.settings.live_session_check_seconds:
                self._last_session_check = now
                with contextlib.suppress(Exception):
                    await live_sockets.heartbeat(self.deps, self.holder)
                    await self.close_lapsed_sessions()

    async def close_lapsed_sessions(self) -> None:
        """Close the sockets of sessions that ended by time (idle or past their maximum)."""
        if not self.by_session:
            return
        live = set(await Session.filter(sessions.live(self.deps), id__in=list(self.by_session))
                   .values_list("id", flat=True))
        for session_id in [s for s in self.by_session if s not in live]:
            for connection in list(self.by_session.get(session_id, ())):
                await connection.close(*CLOSE_SESSION_ENDED)


class LiveConnectionGuard:
    """ASGI middleware for WebSocket handshakes: the per-address limit (HTTP 429 before the
    socket opens) and the size of each message from the client (1009)."""

    def __init__(self, app: ASGIApp, *, hub: LiveHub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown",))[0]
        socket_id = await self.hub.open_socket(address)
        if socket_id is None:
            await deny_websocket(scope, receive, send, 429, "Too many connections from this address.", "RATE_LIMITED")
            return
        # The subscription handler counts the socket against its patron by this id.
        scope["live_socket"] = socket_id
        limit = self.hub.settings.live_max_message_bytes
        too_big = False
        started = time.perf_counter()
        outcome: dict[str, int | None] = {"status": None, "close_code": None}

        async def limited_receive() -> Message:
            nonlocal too_big
            message = await receive()
            if message["type"] == "websocket.disconnect":
                outcome["close_code"] = outcome["close_code"] or message.get("code", 1000)
            elif message["type"] == "websocket.receive":
                size = len(message.get("text") or "") + len(message.get("bytes") or b"")
                if size > limit:
                    too_big = True
                    await send({"type": "websocket.close", "code": CLOSE_TOO_BIG[0], "reason": CLOSE_TOO_BIG[1]})
                    return {"type": "websocket.disconnect", "code": CLOSE_TOO_BIG[0]}
            return message

        async def guarded_send(message: Message) -> None:
            if message["type"] == "websocket.accept":
                outcome["status"] = 101
            elif message["type"] == "websocket.close":
                outcome["status"] = outcome["status"] or 403
                outcome["close_code"] = outcome["close_code"] or message.get("code", 1000)
            if not too_big:  # once closed for size, the app's last words go nowhere
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        finally:
            with contextlib.suppress(Exception):
                await self.hub.close_socket(socket_id)
            if too_big:
                outcome["close_code"] = CLOSE_TOO_BIG[0]
            # One line per socket, like a request's: no address, no token, no patron.
            request_log.info("websocket", extra={"json_fields": {
                "route": scope.get("path") if scope.get("path") == GRAPHQL_PATH else None, **outcome,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }})

