"""The SQLite database client: Tortoise's, with reads that run beside the writes.

Tortoise talks to SQLite over one aiosqlite connection, whose own thread runs every statement
one after the other. A library on SQLite serves every request from one process, so that one
thread would be the whole server's database: a catalog search waiting behind another's, while a
second core stays idle. This client keeps Tortoise's connection for writes and transactions, and
sends the hand-written reads (`app.db.fetch`, `Sql.fetch`, outside a transaction) to a few
read-only connections of their own (`READERS`), as Datasette does. SQLite's write-ahead log
lets them read while another connection writes; each read sees every transaction committed
before it starts, as a read on the writing connection would (PostgreSQL's pool behaves the same).

Reads are also batched: those of one request (`one_request`) started in the same turn of the
event loop (the fields of one GraphQL level: My Page's loans, holds, cart, favorites and reading
goal) go to a reader in one hand-off to its thread instead of one each, which on small reads
costs more than the reads. Reads wait in one queue, in the order they were started; a free
reader takes the oldest one's request's reads (those started since it waited included), and the
others wait for the next. A batch of several requests' reads would hold each of them until the
last one's were done (under the search load, a p95 of 19–24 ms instead of 15–16 ms). Reads
outside a request (the worker, the command line) count as one request.

An in-memory database (`:memory:`) is private to its connection: its reads go to Tortoise's
connection, batched the same way, under its lock.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sqlite3
from contextvars import ContextVar
from typing import Any, AsyncIterator

import aiosqlite
from tortoise.backends.sqlite.client import SqliteClient as TortoiseSqliteClient
from tortoise.exceptions import IntegrityError, OperationalError

# Read-only connections per process: one per core of a small server is plenty (the main thread
# runs Python for everything else).
READERS = 2

Statement = tuple[str, list]
Outcome = tuple[bool, Any]  # (failed, rows or the error)
Queued = list[tuple[str, list, asyncio.Future]]
_Waiting = tuple[str, list, asyncio.Future, object | None]  # a read, and whose (`_REQUEST`)

# Whose reads these are: one object per request (`one_request`), inherited by the tasks it starts.
_REQUEST: ContextVar[object | None] = ContextVar("reads_of_request", default=None)


def one_request() -> None:
    """From now on, the reads of the current task (and of the tasks it starts) are one request's:
    batched together, and apart from other requests' (`BatchedReads`)."""
    _REQUEST.set(object())


class SqliteClient(TortoiseSqliteClient):
    """Tortoise's SQLite client, with `fetch` for reads (batched, on the read-only connections)."""

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        super().__init__(file_path, **kwargs)
        self.reads = BatchedReads(self)

    async def fetch(self, sql: str, params: list) -> list[dict]:
        """The rows of a read, as dicts (`execute_query_dict`'s answer)."""
        return await self.reads.fetch(sql, params)

    async def close(self) -> None:
        await self.reads.close()
        await super().close()


class BatchedReads:
    """The reads waiting for a reader, and the readers (opened on first use, up to `READERS`)."""

    def __init__(self, client: SqliteClient) -> None:
        self.client = client
        self.queued: list[_Waiting] = []  # oldest first; while any wait, one batch is on its way to a reader
        self.idle: list[aiosqlite.Connection] = []
        self.opened: list[aiosqlite.Connection] = []
        self.size = 0  # readers opened or opening
        self.waiting: collections.deque[asyncio.Future] = collections.deque()  # batches waiting for a reader
        self.running: set[asyncio.Task] = set()
        self.private = client.filename == ":memory:" or "mode=memory" in client.filename

    def fetch(self, sql: str, params: list) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self.queued:
            self._start(loop)
        self.queued.append((sql, params, future, _REQUEST.get()))
        return future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        # Its first step runs after the current one: the reads started before then are queued.
        task = loop.create_task(self._run())
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _run(self) -> None:
        queued = None
        try:
            async with self._connection() as connection:
                queued = self._take()  # with the reads that joined while it waited
                outcomes = await self.execute(connection, [(sql, params) for sql, params, _ in queued])
        except BaseException as error:  # the connection itself failed (closed, cancelled)
            self._fail(queued if queued is not None else self._take(), error)
            if not isinstance(error, Exception):
                raise
            return
        for (_sql, _params, future), (failed, value) in zip(queued, outcomes):
            if not future.done():  # its reader may have been cancelled meanwhile
                if failed:
                    future.set_exception(value)
                else:
                    future.set_result(value)

    def _take(self) -> Queued:
        """The reads of the oldest waiting read's request; the others wait for the next batch."""
        if not self.queued:
            return []
        request = self.queued[0][3]
        taken = [(sql, params, future) for sql, params, future, whose in self.queued if whose is request]
        self.queued = [waiting for waiting in self.queued if waiting[3] is not request]
        if self.queued:
            self._start(asyncio.get_running_loop())
        return taken

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[aiosqlite.Connection]:
        """A free reader, or Tortoise's connection (under its lock) for a private database."""
        if self.private:
            async with self.client.acquire_connection() as connection:
                yield connection
            return
        reader = await self._reader()
        try:
            yield reader
        finally:
            self._release(reader)

    @staticmethod
    def _fail(queued: Queued, error: BaseException) -> None:
        for _sql, _params, future in queued:
            if not future.done():
                future.set_exception(error if isinstance(error, Exception) else asyncio.CancelledError())

    @staticmethod
    async def execute(connection: aiosqlite.Connection, statements: list[Statement]) -> list[Outcome]:
        """Run the statements one after the other in one hand-off to the connection's thread.
        (`bench/statements.py` counts the statements here.)"""
        return await connection._execute(_run_reads, connection._conn, statements)

    # --- the readers ----------------------------------------------------------------------

    async def _reader(self) -> aiosqlite.Connection:
        """An idle reader: one left by a batch, a new one while fewer than `READERS`, or the
        next one freed (handed to the batches waiting in the order they came)."""
        while True:
            if self.idle:
                return self.idle.pop()
            if self.size < READERS:
                self.size += 1
                try:
                    reader = await self._open()
                except BaseException:
                    self.size -= 1
                    raise
                self.opened.append(reader)
                return reader
            waiter: asyncio.Future[aiosqlite.Connection | None] = asyncio.get_running_loop().create_future()
            self.waiting.append(waiter)
            try:
                handed = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._release(waiter.result())  # handed over as this batch was cancelled
                raise
            if handed is not None:
                return handed
            # None: the readers were closed meanwhile; open one anew (as Tortoise reconnects)

    def _release(self, reader: aiosqlite.Connection) -> None:
        if reader not in self.opened:  # closed meanwhile
            return
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(reader)
                return
        self.idle.append(reader)

    async def _open(self) -> aiosqlite.Connection:
        reader = await aiosqlite.connect(self.client.filename, isolation_level=None)
        reader._conn.row_factory = sqlite3.Row
        busy = self.client.pragmas.get("busy_timeout", 5000)
        for pragma in (f"busy_timeout = {int(busy)}", "query_only = ON"):
            await (await reader.execute(f"PRAGMA {pragma}")).close()
        return reader

    async def close(self) -> None:
        readers, self.opened, self.idle, self.size = self.opened, [], [], 0
        while self.waiting:  # batches waiting for a reader open one anew (as Tortoise reconnects)
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
        for reader in readers:
            await reader.close()


def _run_reads(conn: sqlite3.Connection, statements: list[Statement]) -> list[Outcome]:
    """On the connection's thread: each statement as Tortoise's `execute_query_dict` runs it
    (rows as dicts, its errors translated), one statement's failure leaving the others alone."""
    outcomes: list[Outcome] = []
    for sql, params in statements:
        try:
            cursor = conn.execute(sql.replace("\x00", "'||CHAR(0)||'"), params)
            try:
                outcomes.append((False, list(map(dict, cursor.fetchall()))))
            finally:
                cursor.close()
        except sqlite3.OperationalError as error:
            outcomes.append((True, OperationalError(error)))
        except sqlite3.IntegrityError as error:
            outcomes.append((True, IntegrityError(error)))
        except Exception as error:  # noqa: BLE001 - handed to the statement's reader
            outcomes.append((True, error))
    return outcomes


client_class = SqliteClient
