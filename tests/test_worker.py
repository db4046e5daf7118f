"""The worker: daily steps once per library day (tracked in JobRun), one worker on SQLite, and an
iteration that runs the steps and delivers the outbox. Driven step by step: nothing sleeps."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import pytest

from app import db
from app.domain import notices
from app.models import JobRun, Notice, WorkerLease
from app.models.enums import NoticeKind, NoticeStatus
from app.settings import Settings, SettingsError
from app.worker import (
    ImpossibleSettings,
    ScheduledStep,
    Worker,
    WorkerAlreadyRunning,
    run_scheduled,
    scheduled_steps,
    setting_problems,
)


@pytest.fixture
def settings(settings, smtp_server):
    return settings.replace(smtp_port=smtp_server.port)


class Recorder:
    """A daily step that counts its runs (and can be made to fail)."""

    def __init__(self, fail: bool = False) -> None:
        self.days: list[date] = []
        self.fail = fail

    async def __call__(self, deps) -> int:
        if self.fail:
            raise RuntimeError("step broke")
        self.days.append(deps.today())
        return len(self.days)


async def test_each_daily_step_runs_once_a_library_day(deps, clock):
    step = Recorder()
    steps = [ScheduledStep("counting", step)]

    assert await run_scheduled(deps, steps) == {"counting": 1}
    assert await run_scheduled(deps, steps) == {}
    clock.advance(hours=13)  # 23:00, still Saturday
    assert await run_scheduled(deps, steps) == {}
    clock.set(datetime(2026, 11, 29, 8, 0))
    assert await run_scheduled(deps, steps) == {"counting": 2}

    assert step.days == [date(2026, 11, 28), date(2026, 11, 29)]
    run = await JobRun.get(name="counting")
    assert run.last_run_on == date(2026, 11, 29) and run.last_run_at == deps.now()


async def test_daily_steps_wait_for_the_morning(deps, clock):
    step = Recorder()
    clock.set(datetime(2026, 11, 29, 0, 30))  # no mails to patrons after midnight

    assert await run_scheduled(deps, [ScheduledStep("counting", step)]) == {}
    clock.set(datetime(2026, 11, 29, 8, 0))
    assert await run_scheduled(deps, [ScheduledStep("counting", step)]) == {"counting": 1}


async def test_a_failing_step_is_tried_again_and_does_not_stop_the_others(deps):
    broken, fine = Recorder(fail=True), Recorder()
    steps = [ScheduledStep("broken", broken), ScheduledStep("fine", fine)]

    assert await run_scheduled(deps, steps) == {"fine": 1}
    broken.fail = False
    assert await run_scheduled(deps, steps) == {"broken": 1}


def test_the_daily_steps_are_hold_expiry_then_due_reminders_and_events_then_retention():
    assert [step.name for step in scheduled_steps()] == ["hold_expiry", "due_reminders", "due_soon_events",
                                                         "retention"]


async def test_an_iteration_runs_the_daily_steps_and_delivers_the_outbox(deps, smtp_server):
    await notices.enqueue(deps, NoticeKind.HOLD_RECEIVED, dedupe_key="hold_received:1", patron_id=None,
                          to_address="hanako@example.jp",
                          data={"hold_id": 1, "title_id": 1, "placed_on": "2026-11-28", "source": "counter"})
    step = Recorder()
    worker = Worker(deps, steps=[ScheduledStep("counting", step)], holder="test-worker")
    await worker.start()
    try:
        result = await worker.iterate()
    finally:
        await worker.stop()

    assert result.scheduled == {"counting": 1}
    assert result.delivery.sent == 1 and len(smtp_server.received) == 1
    assert (await Notice.get()).status is NoticeStatus.SENT


async def test_workers_share_the_outbox_on_postgresql(deps):
    if not db.is_postgres():
        pytest.skip("SQLite runs one worker (the lease)")
    first = Worker(deps, steps=[], holder="host-a:100")
    second = Worker(deps, steps=[], holder="host-b:200")
    await first.start()
    try:
        await second.start()  # no lease: workers share the outbox with SKIP LOCKED
        await second.stop()
    finally:
        await first.stop()


async def test_only_one_worker_runs_on_sqlite(deps, clock):
    if db.is_postgres():
        pytest.skip("PostgreSQL needs no worker lease")
    first = Worker(deps, steps=[], holder="host-a:100")
    second = Worker(deps, steps=[], holder="host-b:200")
    await first.start()
    try:
        with pytest.raises(WorkerAlreadyRunning, match="host-a:100"):
            await second.start()
        await first.iterate()  # renews the lease
        clock.advance(seconds=deps.settings.worker_lease_seconds - 1)
        with pytest.raises(WorkerAlreadyRunning):
            await second.start()
    finally:
        await first.stop()
    await second.start()  # a stopped worker gives the lease back at once
    await second.stop()


async def test_a_killed_worker_is_replaced_after_its_lease(deps, clock):
    if db.is_postgres():
        pytest.skip("PostgreSQL needs no worker lease")
    killed = Worker(deps, steps=[], holder="host-a:100")
    await killed.start()  # ...and never stops

    clock.advance(seconds=deps.settings.worker_lease_seconds)
    replacement = Worker(deps, steps=[], holder="host-a:101")
    await replacement.start()

    with pytest.raises(WorkerAlreadyRunning, match="taken over"):
        await killed.iterate()
    await replacement.stop()


async def test_the_worker_loop_ends_when_told_to_stop(deps, smtp_server):
    stop = asyncio.Event()

    async def last_step(deps) -> str:
        stop.set()  # as SIGTERM would, during the first iteration
        return "done"

    worker = Worker(deps, steps=[ScheduledStep("last", last_step)], holder="loop-worker")
    await worker.start()
    try:
        await asyncio.wait_for(worker.run(stop), timeout=10)
    finally:
        await worker.stop()

    assert (await JobRun.get(name="last")).last_run_on == deps.today()


async def test_a_worker_whose_lease_is_no_longer_than_the_smtp_timeout_is_refused_before_it_starts(deps, clock):
    # Each round stops sending one SMTP timeout before its lease ends: with both at 10 s it could
    # only claim, give back and claim again, at full CPU.
    stuck = type(deps)(deps.settings.replace(worker_lease_seconds=10, smtp_timeout_seconds=10), clock, deps.hasher)
    worker = Worker(stuck, steps=[], holder="host-a:100")

    with pytest.raises(ImpossibleSettings) as refused:
        await worker.start()

    assert str(refused.value) == ("WORKER_LEASE_SECONDS (10) must be at least twice SMTP_TIMEOUT_SECONDS (10): "
                                  "a delivery round stops sending one SMTP timeout before its lease ends")
    assert not await WorkerLease.exists()  # refused before it took anything


@pytest.mark.parametrize(("changes", "named"), [
    ({"worker_lease_seconds": 30, "smtp_timeout_seconds": 30}, "WORKER_LEASE_SECONDS (30)"),
    ({"worker_lease_seconds": 59, "smtp_timeout_seconds": 30}, "WORKER_LEASE_SECONDS (59)"),
    ({"mail_batch_size": 0}, "MAIL_BATCH_SIZE must be at least 1 (it is 0)"),
    ({"mail_connections": 0}, "MAIL_CONNECTIONS must be at least 1"),
    ({"mail_max_attempts": 0}, "MAIL_MAX_ATTEMPTS must be at least 1"),
    ({"mail_retry_seconds": 0}, "MAIL_RETRY_SECONDS must be at least 1"),
    ({"mail_retry_max_seconds": 30}, "MAIL_RETRY_MAX_SECONDS (30) must not be less than MAIL_RETRY_SECONDS (60)"),
    ({"worker_poll_seconds": 0}, "WORKER_POLL_SECONDS must be at least 1"),
    ({"worker_poll_seconds": 120}, "WORKER_POLL_SECONDS (120) must be less than WORKER_LEASE_SECONDS (120)"),
    ({"daily_jobs_hour": 24}, "DAILY_JOBS_HOUR must be an hour from 0 to 23 (it is 24)"),
    ({"smtp_port": 0}, "SMTP_PORT must be a port from 1 to 65535 (it is 0)"),
])
def test_settings_that_cannot_work_are_named_one_line_each(changes, named):
    [problem] = setting_problems(Settings().replace(**changes))
    assert named in problem and "\n" not in problem


def test_the_default_and_the_smallest_workable_settings_are_accepted():
    assert setting_problems(Settings()) == []
    assert setting_problems(Settings(worker_lease_seconds=20, smtp_timeout_seconds=10, worker_poll_seconds=19)) == []


def test_a_setting_that_is_not_a_number_is_refused_by_name():
    with pytest.raises(SettingsError, match="WORKER_LEASE_SECONDS must be a whole number, not 'ten'"):
        Settings.from_env({"WORKER_LEASE_SECONDS": "ten", "SECRET_KEY": "k"})
    assert Settings.from_env({"WORKER_LEASE_SECONDS": "", "SECRET_KEY": "k"}).worker_lease_seconds == 120
