"""Mail that survives an outage: the outbox's own state (is the mail server down, until when
delivery waits) and when each notice was given up on (staff requeue the failures of a period).

Notices that failed before this migration get their creation time as an estimate of when they
failed, so a requeue by period still finds them.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_catalog_search')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('down_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('paused_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_rounds', fields.IntField(default=0)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('last_error_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_state', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The outbox as a whole: whether the mail server is down and until when delivery waits.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Notice',
            name='failed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunSQL(
            "UPDATE notices SET failed_at = created_at WHERE status = 'failed' AND failed_at IS NULL",
            reverse_sql=ops.RunSQL.noop,  # going back drops the column anyway
        ),
    ]
