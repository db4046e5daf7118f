"""The benchmark's databases: reset, seed (or reuse) per catalog size, the patrons it logs in,
the in-process search data path and the outbox figure."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.config import database_url, DEFAULT_TITLES, sqlite_path


async def _reset(url: str, sqlite_path: str) -> None:
    """An empty database before seeding: the SQLite file deleted, PostgreSQL's schema dropped."""
    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            with_suffix = Path(sqlite_path + suffix)
            if with_suffix.exists():
                with_suffix.unlink()
    else:
        from app import db

        await db.drop_everything(url)


async def ensure_seeded(args: argparse.Namespace) -> dict[str, Any]:
    from app import db
    from bench import seed

    url = database_url(args)
    if args.database == "postgres":
        # A fresh server has neither `bench` nor the databases of the other catalog sizes.
        await create_postgres_database(url)
    if args.database == "sqlite":
        # The database's directory, private as `library serve` wants it (a fresh clone has none).
        Path(sqlite_path(args)).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    scale = seed.Scale.sized(args.size)
    await db.migrate(url)
    await db.init_db(url)
    try:
        if not args.reseed and await seed.seeded_key() == scale.key():
            print(f"seed: reusing {url} (seed {scale.key()[:40]}...)")
            return {"reused": True, "seconds": None}
    finally:
        await db.close_db()
    print(f"seed: seeding {url} ...")
    await _reset(url, sqlite_path(args))
    started = time.perf_counter()
    await db.migrate(url)
    await db.init_db(url)
    try:
        report = await seed.seed(scale, log=lambda m: print(f"  {m}"))
        problems = await seed.check()
    finally:
        await db.close_db()
    if problems:
        raise SystemExit(f"seed: inconsistent data: {problems}")
    seconds = time.perf_counter() - started
    print(f"seed: done in {seconds:.0f} s (migration included): " + ", ".join(f"{k} {v:,}" for k, v in report.rows.items()))
    return {"reused": False, "seconds": seconds, "rows": report.rows}


async def create_postgres_database(url: str) -> None:
    """Create `url`'s database when the server does not have it yet (asked of the server's
    `postgres` maintenance database)."""
    import asyncpg
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    conn = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def bench_patrons(args: argparse.Namespace) -> dict[str, Any]:
    """Card numbers to log in (a deterministic spread over all patrons), and the patrons with
    exactly 1 and 30 current loans for the statement count."""
    from app import db

    await db.init_db(database_url(args))
    try:
        conn = db.connection()
        total = (await conn.execute_query_dict("SELECT count(*) AS n FROM patrons"))[0]["n"]
        step = max(1, total // args.patrons)
        ids = list(range(1 + step // 2, total + 1, step))[: args.patrons]

        async def with_loans(n: int) -> int:
            rows = await conn.execute_query_dict(
                "SELECT patron_id FROM loans WHERE returned_at IS NULL GROUP BY patron_id "
                f"HAVING count(*) = {n} ORDER BY patron_id LIMIT 1")
            return rows[0]["patron_id"]

        return {"cards": [f"10{i:07d}" for i in ids], "one": await with_loans(1), "thirty": await with_loans(30)}
    finally:
        await db.close_db()


async def measure_data_path(args: argparse.Namespace) -> dict[str, Any]:
    """The search mix in-process on the current size's database (`bench.search_mix.data_path`)."""
    from app import db
    from bench import search_mix

    await db.init_db(database_url(args))
    try:
        return await search_mix.data_path()
    finally:
        await db.close_db()


async def outbox_figure(args: argparse.Namespace) -> dict[str, Any] | None:
    from bench import outbox

    if args.database == "sqlite":
        # A scratch database, so the outbox run leaves the seeded one as it was.
        from app import db

        path = Path(tempfile.mkdtemp(prefix="bench-outbox-")) / "outbox.sqlite3"
        url = f"sqlite://{path}"
        await db.migrate(url)
    else:
        # Never the seeded database: the outbox run empties its database first.
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(database_url(args))
        url = urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_outbox"))
        await create_postgres_database(url)
    return await outbox.run(url)
