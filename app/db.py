"""Database wiring: the Tortoise configuration, start-up and migrations for SQLite and PostgreSQL,
and the one place that knows their dialects: hand-written statements (`fetch`, `Sql`,
`bulk_insert`), planner statistics (`analyze`) and what each database allows (`single_writer`,
`lock_key`). Code elsewhere writes SQL both databases read, and asks here for the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Sequence

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.models import Model
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url

from app.sqlite_client import SqliteClient
from app.sqlite_client import one_request as one_request  # noqa: PLC0414 - reads of one request batched apart (SQLite)

MODELS_MODULE = "app.models"
MIGRATIONS_MODULE = "app.migrations"
SQLITE_ENGINE = "app.sqlite_client"  # Tortoise's SQLite client, with reads beside the writes


def tortoise_config(database_url: str) -> dict[str, Any]:
    """Tortoise config for a DATABASE_URL (sqlite://path or postgres://user@host/db)."""
    connection = expand_db_url(database_url)
    if connection["engine"] == "tortoise.backends.sqlite":
        connection["engine"] = SQLITE_ENGINE
        creds = connection["credentials"]
        path = Path(creds["file_path"])
        prepare_sqlite_directory(path)
        if str(path) != ":memory:":
            private_sqlite_file(path)
        # Wait for a concurrent writer (the worker process) instead of failing at once.
        creds.setdefault("busy_timeout", 5000)
        creds.setdefault("synchronous", "NORMAL")
    return {
        "connections": {"default": connection},
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# The default database's directory (sqlite://data/...), created on first use so that the quick
# start works in a fresh checkout. Any other directory must exist: a typo in DATABASE_URL must
# not quietly start a new, empty library.
DEFAULT_SQLITE_DIRECTORY = Path("data")


class DatabaseLocationError(Exception):
    """DATABASE_URL names a SQLite file in a directory that does not exist."""


def prepare_sqlite_directory(path: Path) -> None:
    """Create ./data for the default database; refuse a file in any other missing directory."""
    if str(path) == ":memory:" or path.parent.is_dir():
        return
    if path.parent == DEFAULT_SQLITE_DIRECTORY:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # patrons' data: the service user's alone
        return
    raise DatabaseLocationError(
        f"DATABASE_URL names {path}, but the directory {path.parent} does not exist "
        "(create it first, or correct DATABASE_URL)"
    )


async def drop_everything(postgres_url: str) -> None:
    """Drop every table, index and function of a PostgreSQL database (the `public` schema) so
    that migrations start from nothing: for test and benchmark databases only, never the library's."""
    import asyncpg

    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def empty_tables() -> None:
    """Delete every row of every table; ids start again at 1 on both databases."""
    conn = connection()
    tables = [model._meta.db_table for model in Tortoise.apps["models"].values()]
    if is_postgres(conn):
        await conn.execute_script(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        return
    has_sequences = await conn.execute_query_dict(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='sqlite_sequence'"
    )
    await conn.execute_script(
        "PRAGMA foreign_keys=OFF;" + "".join(f"DELETE FROM {t};" for t in tables)
        + ("DELETE FROM sqlite_sequence;" if has_sequences else "") + "PRAGMA foreign_keys=ON;"
    )


def migrations_on_disk() -> set[str]:
    """The names of the migrations this version of the code ships (app/migrations/00NN_*.py)."""
    import app.migrations

    return {p.stem for p in Path(app.migrations.__file__).parent.glob("[0-9][0-9][0-9][0-9]_*.py")}


async def pending_migrations() -> list[str]:
    """Migrations on disk that the database has not applied (raises if it cannot be reached)."""
    from tortoise.migrations.recorder import MigrationRecorder

    conn = connection()
    await conn.execute_query("SELECT 1")
    applied = {key.name for key in await MigrationRecorder(conn).applied_migrations() if key.app_label == "models"}
    return sorted(migrations_on_disk() - applied)


def private_sqlite_file(path: Path) -> None:
    """Make the SQLite file (patrons, password hashes) readable by the service user only.

    Its directory is created 0700 and the file 0600 before SQLite opens it; SQLite gives the
    -wal and -shm files it creates the database file's mode. An existing file or companion that
    others may read is narrowed to its owner.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = file.stat().st_mode & 0o777
            if mode & 0o077:
                file.chmod(mode & 0o700)
        except FileNotFoundError:
            pass


class DatabaseUnavailable(Exception):
    """The database of DATABASE_URL cannot be used (a bad URL, unreachable, refused)."""


async def check_connection(database_url: str) -> None:
    """Open the database once with its driver and run `SELECT 1` (the ORM's connections are
    left alone); raise `DatabaseUnavailable` with the reason."""
    try:
        settings = tortoise_config(database_url)["connections"]["default"]
    except OSError as error:  # the SQLite file's directory cannot be made
        raise DatabaseUnavailable(_first_line(error)) from None
    except Exception as error:  # noqa: BLE001 - whatever Tortoise makes of a malformed URL
        raise DatabaseUnavailable(f"DATABASE_URL cannot be read ({_first_line(error)})") from None
    creds = settings["credentials"]
    try:
        if settings["engine"] == SQLITE_ENGINE:
            import sqlite3

            with contextlib.closing(sqlite3.connect(creds["file_path"])) as conn:
                conn.execute("SELECT 1")
        else:
            import asyncpg

            conn = await asyncpg.connect(host=creds.get("host"), port=creds.get("port"), user=creds.get("user"),
                                         password=creds.get("password"), database=creds.get("database"), timeout=10)
            try:
                await conn.fetchval("SELECT 1")
            finally:
                await conn.close()
    except Exception as error:  # noqa: BLE001 - refused, unknown host, bad password, no such database
        raise DatabaseUnavailable(_first_line(error)) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


async def init_db(database_url: str) -> None:
    """Open the ORM for this process (connections are made lazily)."""
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate(database_url: str) -> None:
    """Apply every pending migration (idempotent)."""
    from tortoise.migrations.api import migrate as run_migrations

    try:
        await run_migrations(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


def connection() -> BaseDBAsyncClient:
    """The connection of the current context: a transaction's inside one, else the default."""
    return get_connection("default")


def is_postgres(conn: BaseDBAsyncClient | None = None) -> bool:
    return (conn or connection()).capabilities.dialect == "postgres"


def single_writer(database_url: str | None = None) -> bool:
    """SQLite writes one transaction at a time: one worker (its lease) and one server process;
    PostgreSQL has no such limit. Of the URL when given (before the ORM is open), else of the
    open connection."""
    if database_url is not None:
        return database_url.startswith("sqlite")
    return not is_postgres()


async def lock_key(key: str) -> None:
    """Serialise the transactions that take the same key until they end: a PostgreSQL advisory
    transaction lock (SQLite runs one transaction at a time already). For limits on things that
    have no row of their own to lock."""
    conn = connection()
    if is_postgres(conn):
        await conn.execute_query("SELECT pg_advisory_xact_lock(hashtext($1))", [key])


async def fetch(sql: str, *params: Any) -> list[dict]:
    """Rows of a hand-written statement with `?` placeholders (rewritten to `$n` on PostgreSQL).

    For hot read paths: no query building and no model instances, only the columns asked for
    (convert dates with `to_date` / `to_datetime`; SQLite returns them as text). Reads only
    (a statement that writes goes through `write`): on SQLite, outside a transaction, they run on the
    read-only connections, those of one turn of the event loop together (`app.sqlite_client`).
    """
    conn = connection()
    return await _read(conn, _placeholders(sql, is_postgres(conn)), list(params))


async def together(*awaitables: Awaitable[Any]) -> list[Any]:
    """The results of independent reads, started at once: on SQLite their statements go to a
    reader in one hand-off (`app.sqlite_client`), on PostgreSQL over the pool's connections."""
    return await asyncio.gather(*awaitables)


async def _read(conn: BaseDBAsyncClient, sql: str, params: list) -> list[dict]:
    if type(conn) is SqliteClient:  # not a transaction's connection: its reads see its writes
        return await conn.fetch(sql, params)
    return await conn.execute_query_dict(sql, params)


async def write(sql: str, *params: Any) -> list[dict]:
    """Run a statement that writes, `?` placeholders as in `fetch`: the rows it returns
    (`RETURNING`), if any. On the connection that writes (its transaction's, inside one)."""
    conn = connection()
    return await conn.execute_query_dict(_placeholders(sql, is_postgres(conn)), list(params))


# A quoted string or identifier (quotes inside doubled), or a placeholder.
_QUOTED_OR_MARK = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?")


@functools.lru_cache(maxsize=256)
def _placeholders(sql: str, postgres: bool) -> str:
    """The statement with its `?` placeholders in the dialect: `$1`, `$2`, … on PostgreSQL; a
    `?` inside a quoted string or identifier is text, not a placeholder."""
    if not postgres:
        return sql
    numbers = iter(range(1, sql.count("?") + 1))
    return _QUOTED_OR_MARK.sub(lambda m: f"${next(numbers)}" if m[0] == "?" else m[0], sql)


class Sql:
    """A statement built in pieces, with numbered placeholders in the dialect of the connection
    ($1 on PostgreSQL, ?1 on SQLite), for statements composed at run time (searches, lists)."""

    def __init__(self, postgres: bool | None = None) -> None:
        self.postgres = is_postgres() if postgres is None else postgres
        self.params: list[object] = []
        self._numbers: dict[tuple[type, object], str] = {}

    def param(self, value: object, *, shared: bool = True) -> str:
        """A numbered placeholder ($1 / ?1), the same one for a value used again: pieces may be
        written in any order. Not `shared` where one value may fill columns of different types
        (PostgreSQL deduces one type per placeholder), e.g. the rows of an INSERT."""
        key = (type(value), value) if shared and isinstance(value, (str, int, bool, float)) else None
        if key is not None and key in self._numbers:
            return self._numbers[key]
        self.params.append(value)
        mark = f"${len(self.params)}" if self.postgres else f"?{len(self.params)}"
        if key is not None:
            self._numbers[key] = mark
        return mark

    def position(self, text: str, part: str) -> str:
        """SQL: where `part` first occurs in `text` (1-based, 0 if nowhere), code point by code point."""
        return f"{'strpos' if self.postgres else 'instr'}({text}, {part})"

    async def fetch(self, statement: str) -> list[dict]:
        """The rows of `statement` (a read, as with `fetch`), built with this object's placeholders."""
        return await _read(connection(), statement, self.params)


async def analyze(tables: str, *, finished: bool = True, gin_indexes: Sequence[str] = ()) -> None:
    """Fresh planner statistics after many rows were written to `tables` (as PostgreSQL's ANALYZE
    lists them, e.g. "titles (id, isbn), items"). PostgreSQL: ANALYZE, then the pending entries
    of the GIN `gin_indexes` merged into the index (every search reads through them until then);
    while the writing goes on (`finished=False`) only PostgreSQL needs it, which otherwise plans
    lookups of new rows as table scans. SQLite: `PRAGMA optimize` once finished."""
    conn = connection()
    if is_postgres(conn):
        await conn.execute_script(f"ANALYZE {tables}")
        for index in gin_indexes:
            await conn.execute_query(f"SELECT gin_clean_pending_list('{index}'::regclass)")
    elif finished:
        await conn.execute_script("PRAGMA optimize")


def to_date(value: Any) -> date | None:
    """A DATE column as read by either driver."""
    return value if value is None or isinstance(value, date) else date.fromisoformat(value)


def to_datetime(value: Any) -> datetime | None:
    """A timestamp column (stored in UTC) as an aware datetime, as read by either driver."""
    if value is None:
        return None
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


# asyncpg allows 32767 parameters in one statement.
_MAX_PARAMS = 30000


async def bulk_insert(model: type[Model], columns: list[str], rows: list[list[Any]],
                      returning: tuple[str, ...] = ()) -> list[dict]:
    """Insert many rows with multi-row INSERT statements; the `returning` columns of each row.

    Unlike `bulk_create` (one statement per row), triggers then run inside one statement per
    chunk: on SQLite the search index (FTS5) keeps its pending entries in memory instead of
    writing a segment for every row, several times faster.
    """
    conn = connection()
    postgres = is_postgres(conn)
    fields = [model._meta.fields_map[c] for c in columns]
    per_statement = max(1, _MAX_PARAMS // len(columns))
    found: list[dict] = []
    for start in range(0, len(rows), per_statement):
        sql = Sql(postgres)
        groups = [
            f"({', '.join(sql.param(field.to_db_value(value, model), shared=False) for field, value in zip(fields, row))})"
            for row in rows[start: start + per_statement]
        ]
        statement = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) VALUES {', '.join(groups)}"
        if returning:
            found += await conn.execute_query_dict(f"{statement} RETURNING {', '.join(returning)}", sql.params)
        else:
            await conn.execute_query(statement, sql.params)
    return found
