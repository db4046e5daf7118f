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
        AlterFieldStateOnly(
            model_name='Notice',
            name='kind',
            field=fields.CharEnumField(description='HOLD_RECEIVED: hold_received\nHOLD_READY: hold_ready\nDUE_REMINDER: due_reminder\nEMAIL_CONFIRMATION: email_confirmation\nEMAIL_CHANGED: email_changed\nPASSWORD_CHANGED: password_changed', enum_type=NoticeKind, max_length=32),
        ),
    ]
