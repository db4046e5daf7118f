"""Titles (書誌) and the copies the library owns (所蔵資料)."""

from tortoise import fields
from tortoise.models import Model

from app.models.enums import ItemStatus, MaterialType


class Title(Model):
    """A bibliographic record. A title without items is not owned (e.g. interlibrary loan)."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=500)
    title_kana = fields.CharField(max_length=500, default="")
    author = fields.CharField(max_length=300, default="")
    author_kana = fields.CharField(max_length=300, default="")
    publisher = fields.CharField(max_length=200, default="")
    publisher_kana = fields.CharField(max_length=200, default="")
    published_year = fields.IntField(null=True)
    isbn = fields.CharField(max_length=13, null=True, unique=True)
    ndc = fields.CharField(max_length=16, default="")
    material_type = fields.CharEnumField(MaterialType, max_length=16, default=MaterialType.BOOK)
    # What the title is found and sorted by (`app.domain.search_index.indexed_columns`): every
    # writer of titles stores them with the title; the databases index `search_grams` by
    # trigger (SQLite) or index expression (PostgreSQL).
    search_text = fields.TextField(default="")
    search_grams = fields.TextField(default="", db_default="")
    title_reading_key = fields.CharField(max_length=201, default="", db_default="")
    arrived_on = fields.DateField(null=True, db_index=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "titles"


class Item(Model):
    """One physical copy, identified by its barcode."""

    id = fields.IntField(primary_key=True)
    barcode = fields.CharField(max_length=32, unique=True)
    title = fields.ForeignKeyField("models.Title", related_name="items", on_delete=fields.CASCADE)
    status = fields.CharEnumField(ItemStatus, max_length=16, default=ItemStatus.AVAILABLE)
    location = fields.CharField(max_length=100, default="")
    loanable = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "items"
        # Covering the availability of a title (loanable copies by status): index only.
        indexes = (("title_id", "status", "loanable"),)
