"""The e-mail outbox and the bookkeeping of the scheduled steps of the worker."""

from tortoise import fields
from tortoise.models import Model

from app.models.enums import NoticeKind, NoticeStatus


class Notice(Model):
    """One notice to send, written in the same transaction as the change that causes it.

    `dedupe_key` is unique per event (e.g. ``hold_ready:<hold>:<trap>``), so repeating a job
    adds nothing. The message is rendered from `data` when it is sent.
    """

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(NoticeKind, max_length=32)
    patron = fields.ForeignKeyField(
        "models.Patron", related_name="notices", null=True, on_delete=fields.SET_NULL
    )
    to_address = fields.CharField(max_length=254, null=True)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    data = fields.JSONField(default=dict)
    status = fields.CharEnumField(NoticeStatus, max_length=16, default=NoticeStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    locked_by = fields.CharField(max_length=64, null=True)
    last_error = fields.CharField(max_length=500, null=True)
    message_id = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    # When it was given up on: staff requeue the failures of a period (an outage) by it.
    failed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notices"
        indexes = (("status", "next_attempt_at"), ("patron_id", "created_at"))


class JobRun(Model):
    """When a scheduled step (due reminders, hold expiry) last ran, so it runs once a day."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    last_run_on = fields.DateField(null=True)
    last_run_at = fields.DatetimeField(null=True)

    class Meta:
        table = "job_runs"


class WorkerLease(Model):
    """A named lease held by a running worker (on SQLite exactly one worker may run)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    holder = fields.CharField(max_length=128)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "worker_leases"


class OutboxState(Model):
    """The outbox as a whole: whether the mail server is down and until when delivery waits.

    One row (name "outbox"), absent until the first outage. Written by delivery rounds, read by
    every round and by anything that reports on the outbox (metrics, health checks).
    """

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    down_since = fields.DatetimeField(null=True)
    paused_until = fields.DatetimeField(null=True)
    failed_rounds = fields.IntField(default=0)
    last_error = fields.CharField(max_length=500, null=True)
    last_error_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_state"
