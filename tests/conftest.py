"""Test wiring: a real database (a SQLite file, or PostgreSQL from TEST_DATABASE_URL), migrated
once per run and emptied before each test; the real ASGI app over HTTP; a clock the test sets."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from tortoise import Tortoise

from app import db
from app.clock import FixedClock
from app.domain.deps import Deps
from app.main import create_app
from app.settings import Settings
from tests.smtp import SmtpServer
from tests.support import GraphQLClient

# A Saturday morning at the library.
START = datetime(2026, 11, 28, 10, 0)
CLIENT_ADDRESS = "203.0.113.7"


# Without TEST_DATABASE_URL the run gets a SQLite file of its own, deleted (with its WAL files)
# when the run ends, or when the interpreter exits if the run never reached the end.
_SCRATCH = tempfile.TemporaryDirectory(prefix="library-test-")


def _database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite://{Path(_SCRATCH.name) / 'test.sqlite3'}"


DATABASE_URL = _database_url()


def database_name(url: str) -> str:
    """The database a URL names: PostgreSQL's database, or a SQLite file's name without suffix."""
    if url.startswith("postgres"):
        return urlsplit(url).path.strip("/")
    return Path(url.removeprefix("sqlite://").split("?")[0]).stem


def is_test_database(url: str) -> bool:
    """Whether the URL names a database meant for tests (`test`, `test_*`, `*_test`), which
    the suite may empty: every run drops its schema or deletes every row."""
    name = database_name(url)
    return name == "test" or name.startswith("test_") or name.endswith("_test")


def pytest_configure(config: pytest.Config) -> None:
    if not is_test_database(DATABASE_URL):
        raise pytest.UsageError(
            f"TEST_DATABASE_URL names the database {database_name(DATABASE_URL)!r}; the tests empty the "
            "database they run on, so its name must say it is for tests: test, test_<name> or <name>_test."
        )


async def _reset_postgres(url: str) -> None:
    assert is_test_database(url)
    await db.drop_everything(url)


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[str]:
    """Migrate a fresh database once for the whole run."""
    if DATABASE_URL.startswith("postgres"):
        await _reset_postgres(DATABASE_URL)
    await db.migrate(DATABASE_URL)
    await Tortoise.close_connections()
    await db.init_db(DATABASE_URL)
    yield DATABASE_URL
    await db.close_db()
    _SCRATCH.cleanup()


@pytest.fixture(autouse=True)
async def clean_database(database: str) -> None:
    """Every test starts with empty tables."""
    await db.empty_tables()


# GRAPHQL_EXECUTION=differential runs every compiled request through graphql-core as well and
# fails the test on any difference between the two answers (CI's PostgreSQL pass does).
GRAPHQL_EXECUTION = os.environ.get("GRAPHQL_EXECUTION", "compiled")


@pytest.fixture(autouse=True)
def compiled_matches_interpreted() -> Iterator[None]:
    from app.schema.compiled.differential import DIFFERENTIAL

    DIFFERENTIAL.clear()
    yield
    assert not DIFFERENTIAL.mismatches, f"compiled execution differs from graphql-core's: {DIFFERENTIAL.mismatches}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START, "Asia/Tokyo")


@pytest.fixture
def settings(database: str) -> Settings:
    return Settings(
        database_url=database,
        secret_key="test-secret-key",
        public_base_url="http://testserver",
        # Cheap hashing keeps the suite fast; production uses the OWASP defaults.
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        graphql_execution=GRAPHQL_EXECUTION,
    )


@pytest.fixture
def deps(app) -> Deps:
    """The same Deps object the app uses, for arranging data through the domain layer."""
    return app.state.deps


@pytest.fixture
def app(settings: Settings, clock: FixedClock):
    return create_app(settings, clock, manage_database=False)


def http_client(app, *, address: str = CLIENT_ADDRESS, base_url: str = "http://testserver") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.fixture
async def client(app) -> AsyncIterator[GraphQLClient]:
    async with http_client(app) as http:
        yield GraphQLClient(http)


@pytest.fixture
async def other_client(app) -> AsyncIterator[GraphQLClient]:
    """A second browser (its own cookie jar), e.g. another patron or a staff member."""
    async with http_client(app, address="198.51.100.20") as http:
        yield GraphQLClient(http)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on a free loopback port; `settings` points the app at it."""
    server = SmtpServer().start()
    yield server
    server.stop()
