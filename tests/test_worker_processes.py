"""Real `library worker` processes: three at once on PostgreSQL share the outbox and the daily
steps (every notice reaches the SMTP server exactly once, each step runs once a day); on SQLite
a second worker refuses to start. The processes use the real clock; the test polls the database
and the server with a deadline and never sleeps a fixed time."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest

from app import db
from app.clock import Clock
from app.domain import circulation
from app.domain.deps import Deps
from app.models import Hold, JobRun, Loan, Notice, WorkerLease
from app.models.enums import HoldStatus, NoticeKind, NoticeStatus
from app.worker import scheduled_steps
from tests.circulation_support import hold, lend, patron
from tests.processes import Process, library_env, until
from tests.support import make_title

WORKERS = 3
QUEUED = 300


@pytest.fixture
def real_deps(settings) -> Deps:
    """Deps on the real clock, as the worker processes see it."""
    return Deps.build(settings, Clock(settings.tz))


async def _arrange_daily_work(deps: Deps) -> None:
    """Three patrons with a loan due tomorrow (due reminders) and a ready hold whose pickup
    deadline has passed while someone else waits (hold expiry passes the copy on)."""
    today = deps.today()
    for n in (1, 2, 3):
        loan = await lend(deps, await patron(deps, n), await make_title(deps, f"本{n}"))
        await Loan.filter(id=loan.id).update(due_date=today + timedelta(days=1))
    title = await make_title(deps, "こころ")
    lender, first, second = await patron(deps, 4), await patron(deps, 5), await patron(deps, 6)
    item = (await lend(deps, lender, title)).item_id
    await hold(deps, first, title)
    await hold(deps, second, title)
    await circulation.checkin(deps, (await Loan.get(item_id=item).prefetch_related("item")).item.barcode)
    await Hold.filter(patron_id=first.id, status=HoldStatus.READY).update(pickup_deadline=today - timedelta(days=1))


async def _queue(deps: Deps, count: int) -> None:
    now = deps.now()
    columns = ["kind", "to_address", "dedupe_key", "data", "status", "attempts", "next_attempt_at", "created_at"]
    rows = [[NoticeKind.HOLD_RECEIVED, f"reader{n}@example.jp", f"hold_received:{10_000 + n}",
             {"hold_id": 10_000 + n, "placed_on": deps.today().isoformat(), "source": "web"},
             NoticeStatus.PENDING, 0, now, now] for n in range(count)]
    await db.bulk_insert(Notice, columns, rows)


async def test_three_workers_on_postgresql_send_each_notice_once_and_run_each_daily_step_once(
        database, real_deps, smtp_server):
    if not db.is_postgres():
        pytest.skip("several workers need PostgreSQL (SKIP LOCKED); SQLite runs one, see the next test")
    await _arrange_daily_work(real_deps)
    env = library_env(database, smtp_port=smtp_server.port, mail_batch_size=5, mail_connections=2,
                      worker_poll_seconds=1, daily_jobs_hour=0)
    workers = [Process.library("worker", env=env, name=f"worker{n}") for n in range(WORKERS)]
    try:
        for worker in workers:
            await worker.wait_for_output("Ctrl-C to stop")
        # Queued once all three are running, so they race for it.
        await _queue(real_deps, QUEUED)

        async def done() -> bool:
            ran = await JobRun.filter(last_run_on=real_deps.today()).count()
            return ran == len(scheduled_steps()) and not await Notice.exists(status=NoticeStatus.PENDING)

        await until(done, what="the outbox to empty and the daily steps to run")
        assert [await w.stop() for w in workers] == [0] * WORKERS
        logs = [w.output for w in workers]
    finally:
        for worker in workers:
            worker.cleanup()

    rows = await Notice.all()
    assert len(rows) == QUEUED + 3 + 2 + 1 + 1  # queued, reminders, hold received, ready, ready for the next
    assert {r.status for r in rows} == {NoticeStatus.SENT}
    received = Counter(str(m.message["Message-ID"]) for m in smtp_server.received)
    assert max(received.values()) == 1, [mid for mid, n in received.items() if n > 1]
    assert set(received) == {r.message_id for r in rows}
    assert await Notice.filter(kind=NoticeKind.DUE_REMINDER).count() == 3
    assert await Hold.filter(status=HoldStatus.READY, patron__card_number="100000006").count() == 1
    # Each daily step ran in exactly one of the workers; the outbox was shared between them.
    for step in scheduled_steps():
        assert sum(log.count(f"scheduled step {step.name}:") for log in logs) == 1, step.name
    sent_by = [len(re.findall(r"notice \d+ \(\w+\): sent", log)) for log in logs]
    assert sum(sent_by) == len(rows)
    assert sum(1 for n in sent_by if n) >= 2, sent_by


async def test_a_second_worker_on_sqlite_refuses_to_start_and_says_how_to_recover(database, real_deps):
    if db.is_postgres():
        pytest.skip("SQLite only: PostgreSQL runs several workers")
    until_ = real_deps.now() + timedelta(seconds=real_deps.settings.worker_lease_seconds)
    await WorkerLease.create(name="worker", holder="library-host:4242", expires_at=until_)
    second = Process.library("worker", env=library_env(database), name="second-worker")
    try:
        assert await second.exit_code() == 1
        output = " ".join(second.output.split())
    finally:
        second.cleanup()
    assert "another worker is already running (library-host:4242" in output
    assert "stop it first" in output and "lease to expire" in output
    assert (await WorkerLease.get(name="worker")).holder == "library-host:4242"
