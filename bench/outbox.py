"""Outbox throughput: how many notices a second the real delivery code hands to a local SMTP server.

    python -m bench.outbox [--database-url URL] [--messages N] [--workers K]

Migrates a scratch database (a temporary SQLite file unless --database-url names one; a
PostgreSQL database is emptied first, so never point it at real data), queues N notices in
bulk, starts aiosmtpd in its own process (as a real mail server would be: it does not share
this process's GIL), then runs `library worker` iterations (`Worker.iterate`, the real claim,
render, send and record) until the outbox is empty. Every Message-ID the server accepted is
checked against the outbox: each notice exactly once. Prints a JSON line; `run()` returns it.
With --workers K (PostgreSQL only), K workers share the outbox concurrently.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_SERVER = r"""
import asyncio, sys
from aiosmtpd.controller import Controller

out = open(sys.argv[2], "a", buffering=1)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                out.write(line.split(b":", 1)[1].strip().decode() + "\n")
                break
            if not line:
                break
        return "250 2.0.0 Message accepted for delivery"

controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
controller.stop()
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _queue(deps: Any, messages: int) -> None:
    from app import db
    from app.models import Notice
    from app.models.enums import NoticeKind, NoticeStatus

    now = deps.now()
    columns = ["kind", "to_address", "dedupe_key", "data", "status", "attempts", "next_attempt_at", "created_at"]
    rows = []
    for n in range(messages):
        if n % 2:
            kind, data = NoticeKind.HOLD_READY, {"hold_id": n, "pickup_deadline": "2026-12-05"}
        else:
            kind, data = NoticeKind.HOLD_RECEIVED, {"hold_id": n, "placed_on": "2026-11-28", "source": "web"}
        rows.append([kind, f"patron{n}@example.jp", f"bench:{n}", data, NoticeStatus.PENDING, 0, now, now])
    await db.bulk_insert(Notice, columns, rows)


async def run(database_url: str | None = None, messages: int = 2000, workers: int = 1, **settings_: Any) -> dict:
    """Deliver `messages` queued notices into a local SMTP server; the figures as a dict."""
    from tortoise import Tortoise

    from app import db
    from app.clock import Clock
    from app.domain.deps import Deps
    from app.models import Notice
    from app.models.enums import NoticeStatus
    from app.settings import Settings
    from app.worker import Worker

    scratch = None
    if database_url is None:
        scratch = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
        database_url = f"sqlite://{scratch / 'outbox.sqlite3'}"
    if workers > 1 and database_url.startswith("sqlite"):
        raise SystemExit("SQLite runs one worker (the lease); use --workers 1 or a PostgreSQL URL")
    if database_url.startswith("postgres"):
        await db.drop_everything(database_url)
    await db.migrate(database_url)
    await Tortoise.close_connections()

    received = Path(tempfile.mkstemp(prefix="bench-outbox-", suffix=".ids")[1])
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(port), str(received)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    await db.init_db(database_url)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        # settings_: e.g. mail_batch_size=100, mail_connections=1, to compare side by side.
        settings = Settings(database_url=database_url, secret_key="bench", smtp_port=port, **settings_)
        deps = Deps.build(settings, Clock(settings.tz))
        await _queue(deps, messages)

        fleet = [Worker(deps, steps=[], holder=f"bench-{n}") for n in range(workers)]
        for worker in fleet:
            await worker.start()

        async def drain(worker: Worker) -> int:
            rounds = 0
            while True:
                rounds += 1
                if (await worker.iterate()).delivery.claimed == 0:
                    return rounds

        started = time.perf_counter()
        rounds = await asyncio.gather(*(drain(w) for w in fleet))
        seconds = time.perf_counter() - started
        for worker in fleet:
            await worker.stop()

        expected = dict(await Notice.filter(status=NoticeStatus.SENT).values_list("message_id", "id"))
        left = await Notice.exclude(status=NoticeStatus.SENT).count()
        # The server writes each id as it accepts the message; the last 250 may still be on its way to disk.
        deadline = time.monotonic() + 10
        while True:
            ids = received.read_text().splitlines()
            if len(ids) >= len(expected) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        duplicates = len(ids) - len(set(ids))
        ok = left == 0 and len(expected) == messages and set(ids) == set(expected) and duplicates == 0
        return {
            "messages": messages,
            "seconds": round(seconds, 3),
            "per_second": round(messages / seconds, 1),
            "workers": workers,
            "rounds": sum(rounds),
            "batch_size": settings.mail_batch_size,
            "connections": getattr(settings, "mail_connections", 1),
            "received": len(ids),
            "duplicates": duplicates,
            "not_sent": left,
            "all_delivered_once": ok,
            "database": database_url.split(":", 1)[0],
        }
    finally:
        await db.close_db()
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
        received.unlink(missing_ok=True)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="scratch database (emptied!); default: a temporary SQLite file")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="concurrent workers (PostgreSQL only)")
    parser.add_argument("--batch-size", type=int, help="MAIL_BATCH_SIZE (default: the setting's default)")
    parser.add_argument("--connections", type=int, help="MAIL_CONNECTIONS (default: the setting's default)")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in (("mail_batch_size", args.batch_size), ("mail_connections", args.connections))
                 if v is not None}
    result = asyncio.run(run(args.database_url, args.messages, args.workers, **overrides))
    print(json.dumps(result))
    return 0 if result["all_delivered_once"] else 1


if __name__ == "__main__":
    sys.exit(main())
