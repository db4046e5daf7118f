"""The library calendar: closed days and events (開館カレンダー・イベント)."""

from tortoise import fields
from tortoise.models import Model


class CalendarDay(Model):
    """A day whose opening differs from the default (open): usually a closed day (休館日)."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    is_closed = fields.BooleanField(default=True)
    note = fields.CharField(max_length=200, default="")

    class Meta:
        table = "calendar_days"


class CalendarEvent(Model):
    """An event on a day, e.g. 2026/02/11 赤ちゃんおはなし会."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField(db_index=True)
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    starts_at = fields.CharField(max_length=5, null=True)  # "HH:MM", library time

    class Meta:
        table = "calendar_events"
