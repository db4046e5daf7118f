"""Live notifications: how long from the commit of a check-in to the `next` message on the
waiting patron's socket.

    python -m bench.live [--database-url URL] [--events N]

Migrates a scratch database (a temporary SQLite file unless --database-url names one; a
PostgreSQL database is emptied first, so never point it at real data), serves the app on a real
uvicorn in this process, opens one graphql-transport-ws socket per patron (the `websockets`
client), then checks in N copies one after another, each readying one patron's hold, and times
each event from the check-in's commit to its arrival (check-ins spaced at random, so that they
do not fall in step with the SQLite poll). SQLite's figure is bounded by
LIVE_POLL_MILLISECONDS (the poll); PostgreSQL's is NOTIFY's. Prints a JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


async def run(database_url: str | None = None, events: int = 50) -> dict[str, Any]:
    import uvicorn
    from websockets.asyncio.client import connect

    from app import db
    from app.domain import circulation, sessions
    from app.domain.search_index import TitleFields, indexed_columns
    from app.domain.deps import Deps
    from app.main import create_app
    from app.models import Hold, Item, Loan, Patron, Title
    from app.models.enums import HoldSource, HoldStatus, ItemStatus
    from app.settings import Settings
    from bench.outbox import _free_port

    url = database_url or f"sqlite://{Path(tempfile.mkdtemp(prefix='bench-live-')) / 'live.sqlite3'}"
    if url.startswith("postgres"):
        await db.drop_everything(url)
    await db.migrate(url)
    await db.init_db(url)
    settings = Settings(database_url=url, secret_key="bench", argon2_time_cost=1, argon2_memory_kib=1024,
                        live_connections_per_address=events + 10)
    deps = Deps.build(settings)
    now = deps.now()
    barcodes, tokens = [], []
    for n in range(events):
        patron = await Patron.create(card_number=f"1{n:08d}", name_kana="コガ", birth_date=now.date(),
                                     phone="0929421151", contact_email=f"p{n}@example.jp", created_at=now,
                                     updated_at=now)
        title = await Title.create(title=f"本{n}", title_kana="ホン", author="", author_kana="", publisher="",
                                   **indexed_columns(TitleFields(f"本{n}", "ホン")), created_at=now, updated_at=now)
        item = await Item.create(barcode=f"B{n:08d}", title=title, status=ItemStatus.ON_LOAN, loanable=True,
                                 location="", created_at=now)
        await Loan.create(item=item, title=title, patron=None, checked_out_at=now, due_date=now.date())
        await Hold.create(patron=patron, title=title, source=HoldSource.WEB, status=HoldStatus.WAITING,
                          contact_email=patron.contact_email, placed_at=now)
        barcodes.append(item.barcode)
        tokens.append(await sessions.start(deps, patron=patron))

    app = create_app(settings, manage_database=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on",
                                           ws="websockets-sansio"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    latencies: list[float] = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            sockets = []
            for token in tokens:
                socket = await stack.enter_async_context(
                    connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]))
                await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
                assert json.loads(await socket.recv())["type"] == "connection_ack"
                await socket.send(json.dumps({"type": "subscribe", "id": "1",
                                              "payload": {"query": "subscription { viewerEvents { kind } }"}}))
                sockets.append(socket)
            await asyncio.sleep(1)  # let the subscriptions start
            rng = random.Random(7)
            for socket, barcode in zip(sockets, barcodes):
                # Check-ins come at any moment, not in step with the SQLite poll.
                await asyncio.sleep(rng.uniform(0, 0.6))
                await circulation.checkin(deps, barcode)
                committed = time.perf_counter()
                message = json.loads(await asyncio.wait_for(socket.recv(), 30))
                latencies.append((time.perf_counter() - committed) * 1000)
                assert message["payload"]["data"]["viewerEvents"]["kind"] == "HOLD_READY", message
    finally:
        server.should_exit = True
        await serving
        await db.close_db()
    latencies.sort()
    return {
        "database": "postgres" if url.startswith("postgres") else "sqlite",
        "events": len(latencies),
        "poll_ms": settings.live_poll_milliseconds if not url.startswith("postgres") else None,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
        "max_ms": round(latencies[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="scratch database (emptied!); default a temporary SQLite file")
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.database_url, args.events))))


if __name__ == "__main__":
    main()
