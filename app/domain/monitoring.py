"""What the database says about the service's health, for `/metrics`: the outbox's backlog and
failures, whether the mail server is down (`app.domain.outbox`), when each daily step of
the worker last ran, and how many subscription sockets are open."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.functions import Count

from app.domain import live_sockets, outbox
from app.domain.deps import Deps
from app.models import JobRun, Notice
from app.models.enums import NoticeStatus


@dataclass
class Snapshot:
    """Outbox counts and the daily steps' last runs, read at one moment."""

    now: datetime
    notices: dict[str, int] = field(default_factory=dict)
    due: int = 0
    retrying: int = 0
    oldest_due: datetime | None = None
    step_runs: dict[str, datetime] = field(default_factory=dict)
    mail_server: outbox.OutboxStatus = field(default_factory=outbox.OutboxStatus)
    live_sockets: int = 0

    @property
    def oldest_due_age_seconds(self) -> float:
        """How long the oldest due notice has waited; 0 when none is due."""
        return max((self.now - self.oldest_due).total_seconds(), 0.0) if self.oldest_due else 0.0


async def snapshot(deps: Deps) -> Snapshot:
    """Read the outbox and the daily steps (a handful of small, indexed statements)."""
    now = deps.now()
    by_status = await Notice.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    due = Notice.filter(status=NoticeStatus.PENDING, next_attempt_at__lte=now)
    oldest = await due.order_by("next_attempt_at").first().values_list("next_attempt_at", flat=True)
    runs = await JobRun.filter(last_run_at__isnull=False).values_list("name", "last_run_at")
    return Snapshot(
        now=now, notices={str(getattr(s, "value", s)): n for s, n in by_status}, due=await due.count(),
        retrying=await due.filter(attempts__gt=0).count(), oldest_due=oldest, step_runs=dict(runs),
        mail_server=await outbox.status(), live_sockets=await live_sockets.open_count(deps),
    )
