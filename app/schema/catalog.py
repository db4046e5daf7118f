"""Catalog types: titles (書誌) and items (所蔵資料). Public data, guests included."""

from __future__ import annotations

from datetime import date
from typing import Iterable

import strawberry
from strawberry import relay
from strawberry.types import Info

from app.models import Item as ItemModel
from app.models import Title as TitleModel
from app.models.enums import ItemStatus, MaterialType
from app.schema import loaders
from app.schema.base import load_nodes
from app.schema.context import Context

MaterialTypeEnum = strawberry.enum(MaterialType, name="MaterialType", description="資料種別")
ItemStatusEnum = strawberry.enum(ItemStatus, name="ItemStatus", description="Where a copy is now.")


@strawberry.type(name="Title", description="A title in the catalog (書誌).")
class Title(relay.Node):
    id: relay.NodeID[int]
    title: str
    title_kana: str = strawberry.field(description="Reading of the title (ヨミ).")
    author: str
    author_kana: str
    publisher: str
    published_year: int | None
    isbn: str | None
    ndc: str = strawberry.field(description="Nippon Decimal Classification (NDC).")
    material_type: MaterialTypeEnum  # type: ignore[valid-type]
    arrived_on: date | None = strawberry.field(description="Date the library received it (受入日).")

    @classmethod
    def from_model(cls, m: TitleModel) -> Title:
        return cls(
            id=m.id, title=m.title, title_kana=m.title_kana, author=m.author,
            author_kana=m.author_kana, publisher=m.publisher, published_year=m.published_year,
            isbn=m.isbn, ndc=m.ndc, material_type=m.material_type, arrived_on=m.arrived_on,
        )

    @classmethod
    async def resolve_nodes(cls, *, info, node_ids: Iterable[str], required: bool = False):
        return await load_nodes(TitleModel, node_ids, cls.from_model)


@strawberry.type(name="Item", description="One copy of a title, identified by its barcode.")
class Item(relay.Node):
    id: relay.NodeID[int]
    barcode: str
    status: ItemStatusEnum  # type: ignore[valid-type]
    location: str
    loanable: bool
    title_id: strawberry.Private[int]

    @strawberry.field
    async def title(self, info: Info[Context, None]) -> Title:
        return Title.from_model(await loaders.titles(info.context).load(self.title_id))

    @classmethod
    def from_model(cls, m: ItemModel) -> Item:
        return cls(id=m.id, barcode=m.barcode, status=m.status, location=m.location,
                   loanable=m.loanable, title_id=m.title_id)

    @classmethod
    async def resolve_nodes(cls, *, info, node_ids: Iterable[str], required: bool = False):
        return await load_nodes(ItemModel, node_ids, cls.from_model)
