"""Hardening: the guests' per-address cost counter (`guest_rates`), and the password-change
notice kind.

A notice kind is stored as text, so a new kind changes only the description Tortoise keeps of
the column: the field is altered in the migration state alone. A real AlterField would rebuild
the `notices` table on SQLite, and Tortoise 1.1's rebuild loses the table's indexes.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from app.models.enums import NoticeKind
from tortoise import fields

class AlterFieldStateOnly(ops.AlterField):
    """An AlterField that leaves the database as it is (the column does not change)."""

    async def database_forward(self, *args, **kwargs) -> None:
        return None

    async def database_backward(self, *args, **kwargs) -> None:
        return None


def _guest_rates_logged(logged: bool):
    """PostgreSQL: the guests' counters are UNLOGGED. Written on every guest request, they would
    otherwise wait for a WAL flush each time (about 2 ms); a crash empties them, which only
    forgives a minute's spending."""
    async def run(apps, schema_editor) -> None:
        client = schema_editor.client
        if client.capabilities.dialect == "postgres":
            await client.execute_script(f"ALTER TABLE guest_rates SET {'LOGGED' if logged else 'UNLOGGED'}")

    return run


class Migration(migrations.Migration):
    dependencies = [('models', '0005_outbox_outage')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GuestRate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=64)),
                ('minute', fields.IntField()),
                ('spent', fields.IntField(default=0)),
            ],
            options={'table': 'guest_rates', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What one client address (HMAC digest) spent of the guest cost budget this minute.'},
            bases=['Model'],
        ),
        ops.RunPython(_guest_rates_logged(False), _guest_rates_logged(True)),
        AlterFieldStateOnly(
            model_name='Notice',
            name='kind',
            field=fields.CharEnumField(description='HOLD_RECEIVED: hold_received\nHOLD_READY: hold_ready\nDUE_REMINDER: due_reminder\nEMAIL_CONFIRMATION: email_confirmation\nEMAIL_CHANGED: email_changed\nPASSWORD_CHANGED: password_changed', enum_type=NoticeKind, max_length=32),
        ),
    ]
