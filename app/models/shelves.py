"""The patron's own library: favorites, bookshelves, opt-in loan history, reading marathon."""

from tortoise import fields
from tortoise.models import Model


class Favorite(Model):
    """お気に入り."""

    id = fields.IntField(primary_key=True)
    patron = fields.ForeignKeyField("models.Patron", related_name="favorites", on_delete=fields.CASCADE)
    title = fields.ForeignKeyField("models.Title", related_name="favorited_by", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField()

    class Meta:
        table = "favorites"
        unique_together = (("patron_id", "title_id"),)


class Bookshelf(Model):
    """A shelf the patron made (本棚を作成する)."""

    id = fields.IntField(primary_key=True)
    patron = fields.ForeignKeyField("models.Patron", related_name="bookshelves", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=100)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "bookshelves"
        unique_together = (("patron_id", "name"),)


class BookshelfEntry(Model):
    id = fields.IntField(primary_key=True)
    bookshelf = fields.ForeignKeyField("models.Bookshelf", related_name="entries", on_delete=fields.CASCADE)
    title = fields.ForeignKeyField("models.Title", related_name="shelf_entries", on_delete=fields.CASCADE)
    added_at = fields.DatetimeField()

    class Meta:
        table = "bookshelf_entries"
        unique_together = (("bookshelf_id", "title_id"),)


class ReadingHistoryEntry(Model):
    """借りた本の履歴: written only while the patron has opted in, and opting out deletes all."""

    id = fields.IntField(primary_key=True)
    patron = fields.ForeignKeyField(
        "models.Patron", related_name="reading_history", on_delete=fields.CASCADE
    )
    title = fields.ForeignKeyField("models.Title", related_name="history_entries", on_delete=fields.CASCADE)
    borrowed_on = fields.DateField()

    class Meta:
        table = "reading_history"
        indexes = (("patron_id", "borrowed_on"),)


class ReadingGoal(Model):
    """読書マラソン: a target number of loans in a period."""

    id = fields.IntField(primary_key=True)
    patron = fields.OneToOneField("models.Patron", related_name="reading_goal", on_delete=fields.CASCADE)
    target = fields.IntField()
    period_start = fields.DateField()
    period_end = fields.DateField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "reading_goals"


class ReadingTally(Model):
    """Number of loans a patron started on one day: counts only, never titles."""

    id = fields.IntField(primary_key=True)
    patron = fields.ForeignKeyField("models.Patron", related_name="reading_tallies", on_delete=fields.CASCADE)
    day = fields.DateField()
    count = fields.IntField(default=0)

    class Meta:
        table = "reading_tallies"
        unique_together = (("patron_id", "day"),)
