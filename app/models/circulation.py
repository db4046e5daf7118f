"""Loans (貸出), holds (予約) and the hold cart (予約カート)."""

from tortoise import fields
from tortoise.models import Model

from app.models.enums import CancelReason, HoldSource, HoldStatus


class Loan(Model):
    """A checkout. On return the patron link is removed (reading records are a secret of the patron)."""

    id = fields.IntField(primary_key=True)
    item = fields.ForeignKeyField("models.Item", related_name="loans", on_delete=fields.CASCADE)
    title = fields.ForeignKeyField("models.Title", related_name="loans", on_delete=fields.CASCADE)
    patron = fields.ForeignKeyField(
        "models.Patron", related_name="loans", null=True, on_delete=fields.SET_NULL
    )
    checked_out_at = fields.DatetimeField()
    due_date = fields.DateField()
    renewal_count = fields.IntField(default=0)
    last_renewed_at = fields.DatetimeField(null=True)
    returned_at = fields.DatetimeField(null=True)

    class Meta:
        table = "loans"
        indexes = (("patron_id", "returned_at"), ("due_date", "returned_at"))


class Hold(Model):
    """A hold on a title, from any source: all count toward the limit of the patron."""

    id = fields.IntField(primary_key=True)
    patron = fields.ForeignKeyField("models.Patron", related_name="holds", on_delete=fields.CASCADE)
    title = fields.ForeignKeyField("models.Title", related_name="holds", on_delete=fields.CASCADE)
    source = fields.CharEnumField(HoldSource, max_length=24)
    status = fields.CharEnumField(HoldStatus, max_length=16, default=HoldStatus.WAITING)
    contact_email = fields.CharField(max_length=254, null=True)
    placed_at = fields.DatetimeField()
    placed_by = fields.ForeignKeyField(
        "models.Staff", related_name="holds_placed", null=True, on_delete=fields.SET_NULL
    )
    item = fields.ForeignKeyField(
        "models.Item", related_name="holds", null=True, on_delete=fields.SET_NULL
    )
    ready_at = fields.DatetimeField(null=True)
    pickup_deadline = fields.DateField(null=True)
    fulfilled_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancel_reason = fields.CharEnumField(CancelReason, max_length=16, null=True)

    class Meta:
        table = "holds"
        indexes = (("title_id", "status", "placed_at"), ("patron_id", "status"))


class HoldCartEntry(Model):
    """A title collected in the hold cart, to be held later with the others."""

    id = fields.IntField(primary_key=True)
    patron = fields.ForeignKeyField(
        "models.Patron", related_name="cart_entries", on_delete=fields.CASCADE
    )
    title = fields.ForeignKeyField("models.Title", related_name="cart_entries", on_delete=fields.CASCADE)
    added_at = fields.DatetimeField()

    class Meta:
        table = "hold_cart_entries"
        unique_together = (("patron_id", "title_id"),)
