"""The patron's privacy dashboard, live events and calendar feeds (issue 16).

- `consent_records`: the consent ledger (a kind of choice and its date, nothing else). Patrons
  who had opted in to the loan history before this migration get that day (in Asia/Tokyo, the
  default LIBRARY_TIMEZONE) as their first entry.
- `calendar_feeds`: the secret address of a patron's iCalendar feed.
- `events`: what happened to a patron, for their open sockets; `live_sockets`: the open sockets,
  counted against the limits on every server process; `sessions.device`: a summary of the
  browser a session was opened in.
- PostgreSQL triggers: deleting a session writes a SESSION_ENDED event (whatever deletes it:
  logout, a password change, expiry), so its sockets close on every server process; every new
  event is announced with NOTIFY on channel `library_events` (payload "<event id> <patron id>"),
  sent when its transaction commits. (SQLite has one server process, which checks the sessions
  of its sockets as it polls for events: a trigger there would also inflate the row counts
  Tortoise reports for deletions.)
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.models.enums import ConsentKind, EventKind

_POSTGRES_UP = [
    """CREATE OR REPLACE FUNCTION library_session_ended() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.patron_id IS NOT NULL THEN
            INSERT INTO events (patron_id, session_id, kind, data, created_at)
            VALUES (OLD.patron_id, OLD.id, 'session_ended', '{}', now());
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER sessions_ended AFTER DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION library_session_ended()",
    """CREATE OR REPLACE FUNCTION library_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('library_events', NEW.id || ' ' || COALESCE(NEW.patron_id, 0));
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION library_event_notify()",
]
_POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS sessions_ended ON sessions",
    "DROP TRIGGER IF EXISTS events_notify ON events",
    "DROP FUNCTION IF EXISTS library_session_ended()",
    "DROP FUNCTION IF EXISTS library_event_notify()",
]
_BACKFILL = (
    "INSERT INTO consent_records (patron_id, kind, on_date) "
    "SELECT id, 'loan_history_on', {day} FROM patrons WHERE reading_history_enabled_at IS NOT NULL"
)


def _per_dialect(sqlite: list[str], postgres: list[str]):
    async def run(apps, schema_editor) -> None:
        client = schema_editor.client
        for statement in postgres if client.capabilities.dialect == "postgres" else sqlite:
            await client.execute_script(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("models", "0006_hardening")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ConsentRecord",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("patron", fields.ForeignKeyField("models.Patron", source_field="patron_id", db_constraint=True,
                                                  to_field="id", related_name="consent_records",
                                                  on_delete=OnDelete.CASCADE)),
                ("kind", fields.CharEnumField(enum_type=ConsentKind, max_length=32)),
                ("on_date", fields.DateField()),
            ],
            options={"table": "consent_records", "app": "models", "pk_attr": "id",
                     "table_description": "One entry of the consent ledger: a kind of choice and the library day it was made, nothing more.",
                     "indexes": [Index(fields=["patron_id", "on_date"])]},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CalendarFeed",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("patron", fields.OneToOneField("models.Patron", source_field="patron_id", db_constraint=True,
                                                to_field="id", related_name="calendar_feed",
                                                on_delete=OnDelete.CASCADE)),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("nonce", fields.CharField(max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("last_fetched_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "calendar_feeds", "app": "models", "pk_attr": "id",
                     "table_description": "The secret address of a patron calendar (iCalendar)."},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Event",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("patron_id", fields.IntField(null=True)),
                ("session_id", fields.IntField(null=True)),
                ("kind", fields.CharEnumField(enum_type=EventKind, max_length=32)),
                ("data", fields.JSONField(default=dict)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "events", "app": "models", "pk_attr": "id",
                     "table_description": "Something that happened to a patron, for their open sockets.",
                     "indexes": [Index(fields=["created_at"])]},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="LiveSocket",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("holder", fields.CharField(max_length=128)),
                ("address_key", fields.CharField(max_length=64)),
                ("patron_id", fields.IntField(null=True)),
                ("opened_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("seen_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "live_sockets", "app": "models", "pk_attr": "id",
                     "table_description": "An open subscription socket, counted against the limits.",
                     "indexes": [Index(fields=["address_key", "seen_at"]), Index(fields=["patron_id", "seen_at"]),
                                 Index(fields=["holder"])]},
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Session",
            name="device",
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.RunPython(
            _per_dialect(
                [_BACKFILL.format(day="date(reading_history_enabled_at, '+9 hours')")],
                [*_POSTGRES_UP, _BACKFILL.format(day="(reading_history_enabled_at AT TIME ZONE 'Asia/Tokyo')::date")],
            ),
            _per_dialect([], _POSTGRES_DOWN),
        ),
    ]
