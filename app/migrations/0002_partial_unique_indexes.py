"""Constraints that Tortoise cannot declare on SQLite: partial unique indexes.

Both SQLite and PostgreSQL accept the same `CREATE UNIQUE INDEX ... WHERE` statement.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [
        # One active hold per patron and title.
        ops.RunSQL(
            "CREATE UNIQUE INDEX holds_one_active_per_patron_title "
            "ON holds (patron_id, title_id) WHERE status IN ('waiting', 'ready')",
            reverse_sql="DROP INDEX holds_one_active_per_patron_title",
        ),
        # A trapped copy waits for exactly one patron.
        ops.RunSQL(
            "CREATE UNIQUE INDEX holds_one_ready_per_item "
            "ON holds (item_id) WHERE status = 'ready'",
            reverse_sql="DROP INDEX holds_one_ready_per_item",
        ),
        # A copy is on at most one loan at a time.
        ops.RunSQL(
            "CREATE UNIQUE INDEX loans_one_open_per_item ON loans (item_id) WHERE returned_at IS NULL",
            reverse_sql="DROP INDEX loans_one_open_per_item",
        ),
    ]
