"""What the patron chose about their data, calendar feeds, live events and open sockets (プライバシー)."""

from tortoise import fields
from tortoise.models import Model

from app.models.enums import ConsentKind, EventKind


class ConsentRecord(Model):
    """One entry of the consent ledger: a kind of choice and the library day it was made, nothing more."""

    id = fields.IntField(primary_key=True)
    patron = fields.ForeignKeyField("models.Patron", related_name="consent_records", on_delete=fields.CASCADE)
    kind = fields.CharEnumField(ConsentKind, max_length=32)
    on_date = fields.DateField()

    class Meta:
        table = "consent_records"
        indexes = (("patron_id", "on_date"),)


class CalendarFeed(Model):
    """The secret address of a patron's calendar (iCalendar). The token is recomputed from the
    nonce and SECRET_KEY, so the patron can see the address again, and a copy of the database
    alone cannot open the feed."""

    id = fields.IntField(primary_key=True)
    patron = fields.OneToOneField("models.Patron", related_name="calendar_feed", on_delete=fields.CASCADE)
    token_hash = fields.CharField(max_length=64, unique=True)
    nonce = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    last_fetched_at = fields.DatetimeField(null=True)

    class Meta:
        table = "calendar_feeds"


class Event(Model):
    """Something that happened to a patron, written in the transaction that caused it, for the
    patron's open sockets on any server process (PostgreSQL NOTIFY, or a poll on SQLite).

    `patron_id` is a plain column (no foreign key): on PostgreSQL a trigger writes SESSION_ENDED
    rows while sessions are deleted, also when a patron is. Rows are kept a day (retention).
    """

    id = fields.IntField(primary_key=True)
    patron_id = fields.IntField(null=True)
    session_id = fields.IntField(null=True)
    kind = fields.CharEnumField(EventKind, max_length=32)
    data = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()

    class Meta:
        table = "events"
        indexes = (("created_at",),)


class LiveSocket(Model):
    """An open subscription socket, counted against the limits per patron and per address on every
    server process. Its process renews `seen_at`; rows of a process that died go stale."""

    id = fields.IntField(primary_key=True)
    holder = fields.CharField(max_length=128)
    # HMAC of the client address (like the throttle's keys): never the address itself.
    address_key = fields.CharField(max_length=64)
    patron_id = fields.IntField(null=True)
    opened_at = fields.DatetimeField()
    seen_at = fields.DatetimeField()

    class Meta:
        table = "live_sockets"
        indexes = (("address_key", "seen_at"), ("patron_id", "seen_at"), ("holder",))
