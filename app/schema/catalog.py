"""Catalog in GraphQL: titles (書誌), items (所蔵資料), search and lists. Public, guests included."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Awaitable, Iterable

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import Info

from app.domain import catalog, circulation
from app.domain.catalog import CatalogFilter, TitlePage
from app.models import Favorite as FavoriteModel
from app.models import Item as ItemModel
from app.models import Title as TitleModel
from app.models.enums import ItemStatus, MaterialType
from app.schema import loaders
from app.domain.messages import MATERIAL_NAMES
from app.schema.base import After, Connection, First, Page, described_enum, load_nodes
from app.schema.context import Context
from app.settings import Policy

MaterialTypeEnum = described_enum(
    MaterialType, "MaterialType", "資料種別: the kind of material. Which kinds can be held and renewed on the web "
    "is the library's policy (図書・雑誌 by default).",
    {kind: f"{name}." for kind, name in MATERIAL_NAMES.items() if kind is not MaterialType.OTHER}
    | {MaterialType.OTHER: "Any other kind of material."},
)
ItemStatusEnum = described_enum(ItemStatus, "ItemStatus", "Where a copy is now.", {
    ItemStatus.AVAILABLE: "On the shelf (貸出可): it can be borrowed at the library.",
    ItemStatus.ON_LOAN: "Checked out (貸出中).",
    ItemStatus.ON_HOLD_SHELF: "Kept at the desk for a patron whose hold is ready (取置中).",
    ItemStatus.IN_TRANSIT: "On its way between the library's sites (搬送中).",
    ItemStatus.MISSING: "Cannot be found (不明): not counted as a copy that can be lent.",
    ItemStatus.WITHDRAWN: "No longer in the collection (除籍): not shown among a title's copies.",
})


def _favorite_titles(ctx: Context):
    async def batch(title_ids: list[int]) -> list[bool]:
        patron = await ctx.patron()
        if patron is None:
            return [False] * len(title_ids)
        found = set(await FavoriteModel.filter(patron_id=patron.id, title_id__in=title_ids).values_list("title_id", flat=True))
        return [i in found for i in title_ids]

    return loaders.loader(ctx, "favorite_titles", batch)


def _items_of_title(ctx: Context):
    async def batch(title_ids: list[int]) -> list[list[ItemModel]]:
        rows = await ItemModel.filter(title_id__in=title_ids).exclude(status=ItemStatus.WITHDRAWN).order_by("id")
        by_title: dict[int, list[ItemModel]] = {i: [] for i in title_ids}
        for row in rows:
            by_title[row.title_id].append(row)
        return [by_title[i] for i in title_ids]

    return loaders.loader(ctx, "items_of_title", batch)


@strawberry.type(description="貸出状況: what the copies of a title are doing now.")
class Availability:
    copies: int = strawberry.field(description="Copies that can be lent (reference-only, missing and withdrawn ones not counted).")
    available: int = strawberry.field(description="Copies on the shelf now.")
    on_loan: int = strawberry.field(description="Copies checked out.")
    holds_waiting: int = strawberry.field(description="Holds waiting for a copy (予約待ち).")

    @classmethod
    def from_domain(cls, a: catalog.Availability) -> Availability:
        return cls(copies=a.copies, available=a.available, on_loan=a.on_loan, holds_waiting=a.holds_waiting)


@strawberry.type(name="Title", description="A title in the catalog (書誌).")
class Title(relay.Node):
    id: relay.NodeID[int]
    title: str = strawberry.field(description="The title as printed (書名).")
    title_kana: str = strawberry.field(description="Reading of the title (ヨミ).")
    author: str = strawberry.field(description="Author(s) as catalogued (著者); empty when unknown.")
    author_kana: str = strawberry.field(description="Reading of the author (著者ヨミ).")
    publisher: str = strawberry.field(description="Publisher (出版者); empty when unknown.")
    publisher_kana: str = strawberry.field(description="Reading of the publisher (出版者ヨミ).")
    published_year: int | None = strawberry.field(description="Year of publication (出版年), when known.")
    isbn: str | None = strawberry.field(description="ISBN-13 without hyphens, when the title has one.")
    ndc: str = strawberry.field(description="Nippon Decimal Classification (NDC).")
    material_type: MaterialTypeEnum = strawberry.field(description="資料種別.")  # type: ignore[valid-type]
    arrived_on: date | None = strawberry.field(description="Date the library received it (受入日).")

    # Read with the page of a search or a list, the title's availability is known: these three
    # resolvers are then plain synchronous ones (no coroutine, no loader future per field, a
    # good part of a search request). Otherwise they hand graphql-core an awaitable from the
    # request's loader, which it awaits like an async resolver's result.
    known_availability: strawberry.Private[catalog.Availability | None] = None

    def _availability(self, info: Info[Context, None]) -> catalog.Availability | Awaitable[catalog.Availability]:
        if self.known_availability is not None:
            return self.known_availability
        return loaders.availability(info.context).load(self.id)

    @strawberry.field(description="Copies, on the shelf, on loan, holds waiting (batched for a whole page).")
    def availability(self, info: Info[Context, None]) -> Availability:
        return loaders.then(self._availability(info), Availability.from_domain)  # type: ignore[return-value]

    @strawberry.field(description="所蔵: the library owns a copy (one that can be lent, or one for use in the "
                      "library only, 禁帯出), not counting missing or withdrawn copies.")
    def owned(self, info: Info[Context, None]) -> bool:
        return loaders.then(self._availability(info), lambda a: a.owned)  # type: ignore[return-value]

    @strawberry.field(description="Every copy the library owns is for use in the library only (禁帯出): "
                      "the title can be read there, never lent or held.")
    def reference_only(self, info: Info[Context, None]) -> bool:
        return loaders.then(self._availability(info), lambda a: a.reference_only)  # type: ignore[return-value]

    @strawberry.field(
        description="A Web予約 can be placed on the title: a material type the library takes web holds on "
        "(図書・雑誌 by default), a copy that can be lent, and every such copy out. "
        "(The patron's own limits are checked when the hold is placed.)"
    )
    def holdable(self, info: Info[Context, None]) -> bool:
        policy = info.context.settings.policy
        return loaders.then(self._availability(info),  # type: ignore[return-value]
                            lambda a: circulation.holdable_on_web(a, policy))

    @strawberry.field(description="The logged-in patron has the title in お気に入り (false for guests and staff).")
    async def is_favorite(self, info: Info[Context, None]) -> bool:
        return await _favorite_titles(info.context).load(self.id)

    @strawberry.field(description="The copies (所蔵), withdrawn ones left out.")
    async def items(self, info: Info[Context, None]) -> list[Item]:
        return [Item.from_model(m) for m in await _items_of_title(info.context).load(self.id)]

    @classmethod
    def from_model(cls, m: TitleModel | catalog.ShownTitle, availability: catalog.Availability | None = None) -> Title:
        return cls(
            id=m.id, title=m.title, title_kana=m.title_kana, author=m.author,
            author_kana=m.author_kana, publisher=m.publisher, publisher_kana=m.publisher_kana,
            published_year=m.published_year, isbn=m.isbn, ndc=m.ndc, material_type=m.material_type,
            arrived_on=m.arrived_on, known_availability=availability,
        )

    @classmethod
    async def resolve_nodes(cls, *, info, node_ids: Iterable[str], required: bool = False):
        return await load_nodes(TitleModel, node_ids, cls.from_model)


@strawberry.type(name="Item", description="One copy of a title, identified by its barcode.")
class Item(relay.Node):
    id: relay.NodeID[int]
    barcode: str = strawberry.field(description="The copy's barcode (資料番号), as the desk scans it.")
    status: ItemStatusEnum = strawberry.field(description="Where the copy is now.")  # type: ignore[valid-type]
    location: str = strawberry.field(description="Where the copy is kept (配架場所).")
    loanable: bool = strawberry.field(description="False for reference-only copies (禁帯出).")
    title_id: strawberry.Private[int]

    @strawberry.field(description="The title this is a copy of.")
    async def title(self, info: Info[Context, None]) -> Title:
        return Title.from_model(await loaders.titles(info.context).load(self.title_id))

    @classmethod
    def from_model(cls, m: ItemModel) -> Item:
        return cls(id=m.id, barcode=m.barcode, status=m.status, location=m.location,
                   loanable=m.loanable, title_id=m.title_id)

    @classmethod
    async def resolve_nodes(cls, *, info, node_ids: Iterable[str], required: bool = False):
        return await load_nodes(ItemModel, node_ids, cls.from_model)


@strawberry.input(description="Narrow a search or a list.")
class CatalogFilterInput:
    material_types: list[MaterialTypeEnum] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only these material types (資料種別).")
    available_now: bool = strawberry.field(default=False, description="Only titles with a copy on the shelf now.")
    holdable: bool = strawberry.field(
        default=False, description="Only titles a Web予約 can be placed on (as `Title.holdable`: a material type "
        "taken on the web, every loanable copy out).")

    def to_domain(self, policy: Policy) -> CatalogFilter:
        return CatalogFilter(tuple(self.material_types or ()), self.available_now, self.holdable,
                             web_hold_materials=policy.web_hold_materials)


_FILTER = "Narrow the list: material types, on the shelf now, holdable now (all titles when left out)."


def _filter(value: CatalogFilterInput | None, policy: Policy) -> CatalogFilter:
    return value.to_domain(policy) if value else CatalogFilter()


def title_connection(info: Info[Context, None], page: Page, result: TitlePage) -> Connection[Title]:
    """A connection of titles; the loaders learn the titles and their availability read with the
    page, so neither costs another query."""
    titles, availability = loaders.titles(info.context), loaders.availability(info.context)
    for row in result.titles:
        titles.prime(row.id, row)
    for title_id, known in result.availability.items():
        availability.prime(title_id, known)
    return page.connection(result.titles, result.count,
                           lambda row: Title.from_model(row, result.availability.get(row.id)))


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        description="資料検索: titles whose title, author, publisher or their readings (ヨミ) contain every "
        "word of `keyword` (hiragana, katakana, half-/full-width all match), newest first. "
        "An empty keyword lists the whole catalog."
    )
    async def search_catalog(
        self, info: Info[Context, None], keyword: Annotated[str, strawberry.argument(
            description="Words to find, separated by spaces (all must match); up to 200 characters. Empty: "
            "every title.")] = "",
        filter: Annotated[CatalogFilterInput | None, strawberry.argument(description=_FILTER)] = None,
        first: First = None, after: After = None,
    ) -> Connection[Title]:
        if len(keyword) > catalog.MAX_QUERY_LENGTH:
            raise GraphQLError(f"Argument 'keyword' is longer than {catalog.MAX_QUERY_LENGTH} characters.")
        page = Page(first, after, info.context.settings.max_page_size)
        flt = _filter(filter, info.context.settings.policy)
        result = await catalog.search(keyword, flt, offset=page.offset, limit=page.limit)
        return title_connection(info, page, result)

    @strawberry.field(description="新着資料: titles received in the last `NEW_ARRIVAL_DAYS` days, newest first.")
    async def new_arrivals(
        self, info: Info[Context, None],
        filter: Annotated[CatalogFilterInput | None, strawberry.argument(description=_FILTER)] = None,
        first: First = None, after: After = None,
    ) -> Connection[Title]:
        ctx = info.context
        page = Page(first, after, ctx.settings.max_page_size)
        flt = _filter(filter, ctx.settings.policy)
        result = await catalog.new_arrivals(ctx.deps.today(), ctx.settings.new_arrival_days, flt,
                                            offset=page.offset, limit=page.limit)
        return title_connection(info, page, result)

    @strawberry.field(description="予約の多い資料: titles with the most active holds, most first.")
    async def most_held_titles(
        self, info: Info[Context, None], first: First = None, after: After = None,
    ) -> Connection[Title]:
        page = Page(first, after, info.context.settings.max_page_size)
        return title_connection(info, page, await catalog.most_held(offset=page.offset, limit=page.limit))
