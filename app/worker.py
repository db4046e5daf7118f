"""The worker (`library worker`): delivers the e-mail outbox and runs the daily scheduled steps.

Built from testable steps: `run_scheduled(deps)` runs each daily step once per library day and
`mailer.deliver_once(deps)` delivers one batch; `Worker.iterate()` does both once. Only
`Worker.run()` sleeps, between iterations, in production; tests call the steps directly.

On SQLite exactly one worker runs (a `WorkerLease` row, renewed every iteration; a second
`library worker` exits with a message). On PostgreSQL several workers may run: the outbox is
claimed with SKIP LOCKED and each daily step is claimed per day in `JobRun`.

Settings that cannot work (`setting_problems`) stop a worker before it starts, and a round that
got nowhere is always followed by a pause: no configuration makes the worker spin.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Awaitable, Callable

from tortoise.expressions import Q

from app import db
from app.domain import circulation, mailer, reminders, retention
from app.domain.deps import Deps
from app.models import JobRun, WorkerLease
from app.settings import Settings

log = logging.getLogger(__name__)

LEASE_NAME = "worker"


@dataclass(frozen=True)
class ScheduledStep:
    """A daily step of the worker: a name (its `JobRun` row) and an idempotent async callable."""

    name: str
    run: Callable[[Deps], Awaitable[Any]]


def scheduled_steps() -> list[ScheduledStep]:
    """The daily steps, in order: expire uncollected holds first (that may ready the next hold),
    then queue the due-date reminders and tell the patrons' open apps, then forget what is past
    its retention period."""
    return [
        ScheduledStep("hold_expiry", circulation.expire_holds),
        ScheduledStep("due_reminders", reminders.queue_due_reminders),
        ScheduledStep("due_soon_events", reminders.announce_due_soon),
        ScheduledStep("retention", retention.purge),
    ]


# --- daily steps ---------------------------------------------------------------------------


async def run_scheduled(deps: Deps, steps: list[ScheduledStep] | None = None) -> dict[str, Any]:
    """Run each daily step not yet run today, once the library day has reached DAILY_JOBS_HOUR.

    Returns the result of each step that ran. A step that raises is logged and given back its
    day, so the next iteration tries it again.
    """
    local_now = deps.clock.local(deps.now())
    if local_now.hour < deps.settings.daily_jobs_hour:
        return {}
    results: dict[str, Any] = {}
    for step in scheduled_steps() if steps is None else steps:
        claimed, previous = await _claim_day(deps, step.name)
        if not claimed:
            continue
        try:
            results[step.name] = await step.run(deps)
        except Exception:
            log.exception("scheduled step %s failed; it will be tried again", step.name)
            await _give_back_day(deps, step.name, previous)
            continue
        log.info("scheduled step %s: %s", step.name, results[step.name])
    return results


async def _claim_day(deps: Deps, name: str) -> tuple[bool, date | None]:
    """Mark the step as run today: (False, …) if it already ran or another worker has it,
    else (True, the day it last ran)."""
    today, now = deps.today(), deps.now()
    await JobRun.bulk_create([JobRun(name=name)], ignore_conflicts=True)
    row = await JobRun.get(name=name)
    if row.last_run_on is not None and row.last_run_on >= today:
        return False, row.last_run_on
    same = Q(last_run_on__isnull=True) if row.last_run_on is None else Q(last_run_on=row.last_run_on)
    # Conditional: of two workers reaching the step together, one runs it.
    claimed = await JobRun.filter(same, name=name).update(last_run_on=today, last_run_at=now) == 1
    return claimed, row.last_run_on


async def _give_back_day(deps: Deps, name: str, previous: date | None) -> None:
    await JobRun.filter(name=name, last_run_on=deps.today()).update(last_run_on=previous)


# --- settings that cannot work ---------------------------------------------------------------


class ImpossibleSettings(Exception):
    """The worker's settings contradict each other: nothing would be sent (or it would spin)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def setting_problems(settings: Settings) -> list[str]:
    """What is wrong with the delivery and worker settings, one sentence each (empty when fine)."""
    s = settings
    problems = [
        f"{name} must be at least 1 (it is {value})"
        for name, value in [
            ("SMTP_TIMEOUT_SECONDS", s.smtp_timeout_seconds), ("MAIL_BATCH_SIZE", s.mail_batch_size),
            ("MAIL_CONNECTIONS", s.mail_connections), ("MAIL_MAX_ATTEMPTS", s.mail_max_attempts),
            ("MAIL_RETRY_SECONDS", s.mail_retry_seconds), ("WORKER_POLL_SECONDS", s.worker_poll_seconds),
        ]
        if value < 1
    ]
    if s.mail_retry_max_seconds < s.mail_retry_seconds:
        problems.append(f"MAIL_RETRY_MAX_SECONDS ({s.mail_retry_max_seconds}) must not be less than "
                        f"MAIL_RETRY_SECONDS ({s.mail_retry_seconds})")
    if s.worker_lease_seconds < 2 * s.smtp_timeout_seconds:
        # A round stops starting sends one SMTP timeout before its lease ends (so that the last
        # send ends inside it): with less than that again, a round could send nothing at all.
        problems.append(f"WORKER_LEASE_SECONDS ({s.worker_lease_seconds}) must be at least twice "
                        f"SMTP_TIMEOUT_SECONDS ({s.smtp_timeout_seconds}): a delivery round stops sending "
                        "one SMTP timeout before its lease ends")
    if s.worker_poll_seconds >= s.worker_lease_seconds:
        problems.append(f"WORKER_POLL_SECONDS ({s.worker_poll_seconds}) must be less than WORKER_LEASE_SECONDS "
                        f"({s.worker_lease_seconds}): the worker renews its lease between pauses")
    if not 0 <= s.daily_jobs_hour <= 23:
        problems.append(f"DAILY_JOBS_HOUR must be an hour from 0 to 23 (it is {s.daily_jobs_hour})")
    if not 1 <= s.smtp_port <= 65535:
        problems.append(f"SMTP_PORT must be a port from 1 to 65535 (it is {s.smtp_port})")
    return problems


# --- the worker lease (SQLite: exactly one worker) -----------------------------------------


class WorkerAlreadyRunning(Exception):
    """Another worker holds the lease (SQLite allows one)."""


def needs_lease() -> bool:
    """SQLite has one writer at a time: one worker, enforced by the lease."""
    return db.single_writer()


async def acquire_lease(deps: Deps, holder: str) -> bool:
    """Take or renew the worker lease for `holder`; False while another live worker holds it."""
    now = deps.now()
    until = now + timedelta(seconds=deps.settings.worker_lease_seconds)
    await WorkerLease.bulk_create([WorkerLease(name=LEASE_NAME, holder=holder, expires_at=until)],
                                  ignore_conflicts=True)
    taken = await WorkerLease.filter(Q(holder=holder) | Q(expires_at__lte=now), name=LEASE_NAME).update(
        holder=holder, expires_at=until
    )
    return taken == 1


async def release_lease(holder: str) -> None:
    await WorkerLease.filter(name=LEASE_NAME, holder=holder).delete()


# --- the worker ----------------------------------------------------------------------------


@dataclass
class Iteration:
    """What one iteration did: results of the daily steps that ran, and the delivery round."""

    scheduled: dict[str, Any] = field(default_factory=dict)
    delivery: mailer.DeliveryReport = field(default_factory=mailer.DeliveryReport)


class Worker:
    """Delivers the outbox and runs the daily steps; `run()` loops until told to stop."""

    def __init__(self, deps: Deps, *, steps: list[ScheduledStep] | None = None, holder: str | None = None) -> None:
        self.deps = deps
        self.steps = scheduled_steps() if steps is None else steps
        self.holder = holder or mailer.process_holder()
        self._leased = False

    async def start(self) -> None:
        """Check the settings (ImpossibleSettings), then take the lease where one is needed
        (WorkerAlreadyRunning)."""
        if problems := setting_problems(self.deps.settings):
            raise ImpossibleSettings(problems)
        if needs_lease():
            if not await acquire_lease(self.deps, self.holder):
                lease = await WorkerLease.get_or_none(name=LEASE_NAME)
                who = f"{lease.holder}, lease until {lease.expires_at:%Y-%m-%d %H:%M:%S %Z}" if lease else "unknown"
                raise WorkerAlreadyRunning(
                    f"another worker is already running ({who}). With SQLite only one worker may run; "
                    "stop it first, or wait for its lease to expire if it was killed."
                )
            self._leased = True

    async def iterate(self) -> Iteration:
        """One pass: renew the lease, run due daily steps, deliver one batch."""
        if self._leased and not await acquire_lease(self.deps, self.holder):
            raise WorkerAlreadyRunning("the worker lease was taken over by another worker")
        scheduled = await run_scheduled(self.deps, self.steps)
        delivery = await mailer.deliver_once(self.deps, holder=self.holder)
        return Iteration(scheduled, delivery)

    async def stop(self) -> None:
        if self._leased:
            await release_lease(self.holder)
            self._leased = False

    async def run(self, stop: asyncio.Event) -> None:
        """Iterate until `stop` is set, sleeping WORKER_POLL_SECONDS when there is nothing to do."""
        names = [s.name for s in self.steps]
        log.info("worker %s started; daily steps: %s", self.holder, ", ".join(names))
        while not stop.is_set():
            try:
                result = await self.iterate()
            except WorkerAlreadyRunning:
                raise
            except Exception:
                # A database or network hiccup must not end the worker: try again after a pause.
                log.exception("worker iteration failed; trying again in %s s", self.deps.settings.worker_poll_seconds)
                result = Iteration()
            if result.delivery.more_due(self.deps.settings.mail_batch_size):
                continue
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.deps.settings.worker_poll_seconds)
