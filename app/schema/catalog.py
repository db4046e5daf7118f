"""Catalog in GraphQL: titles (書誌), items (所蔵資料), search and lists. Public, guests included."""

from __future__ import annotations

import asyncio
import inspect
from datetime import date
from typing import Annotated, Awaitable, Iterable

import strawberry
from strawberry import relay
from strawberry.types import Info

from app.domain import catalog, catalog_search, circulation, shelves
from app.domain.catalog import CatalogFilter, TitlePage
from app.domain.catalog_search import SearchResult, SearchSort
from app.domain.errors import DomainError
from app.models import Item as ItemModel
from app.models import Title as TitleModel
from app.models.enums import ItemStatus, MaterialType
from app.schema import loaders
from app.domain.messages import MATERIAL_NAMES
from app.schema.base import After, First, KeysetPage, bad_user_input, described_enum, load_nodes
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
        found = await shelves.favorite_title_ids(patron.id, title_ids)
        return [i in found for i in title_ids]

    return loaders.loader(ctx, "favorite_titles", batch)


def _items_of_title(ctx: Context):
    async def batch(title_ids: list[int]) -> list[list[ItemModel]]:
        by_title = await catalog.copies_of(title_ids)
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
    # The web-hold materials always: the holdable facet counts them even without the narrowing.
    return value.to_domain(policy) if value else CatalogFilter(web_hold_materials=policy.web_hold_materials)


CatalogSortEnum = described_enum(SearchSort, "CatalogSort", "Orders of a catalog search (並び順).", {
    SearchSort.RELEVANCE: "適合度順: titles that are exactly the keyword (title or its reading) first, then titles "
    "whose title holds every word, then the others (a word only in the author or publisher); newest record "
    "first within each.",
    SearchSort.NEWEST: "出版年の新しい順: by year of publication, newest first (titles without a year last), then "
    "newest record first.",
    SearchSort.TITLE_READING: "タイトルの五十音順: by the title's reading (ヨミ; the title itself when it has none), "
    "dakuten set aside (ガ sorts with カ).",
})


@strawberry.type(description="A count of titles, exact or a lower bound.")
class FacetCount:
    count: int = strawberry.field(description="Number of titles.")
    is_exact: bool = strawberry.field(
        description="False when `count` is a lower bound: availability is counted over the newest "
        f"{catalog_search.SHELF_COUNT_LIMIT:,} matching titles only.")


@strawberry.type(description="A material type and how many titles of the result have it.")
class MaterialTypeFacet:
    material_type: MaterialTypeEnum = strawberry.field(description="The material type (資料種別).")  # type: ignore[valid-type]
    count: int = strawberry.field(description="Number of titles of this type (the availability narrowing applied).")
    is_exact: bool = strawberry.field(description="False when `count` is a lower bound (see FacetCount.isExact).")


@strawberry.type(description="絞り込み: how many titles each narrowing option would leave, for the current keyword. "
                 "Each option is counted with the choices of the other group applied and its own group's left "
                 "out, so a client can show every option with its count.")
class CatalogFacets:
    material_types: list[MaterialTypeFacet] = strawberry.field(
        description="Every material type with its count (zero included), in a fixed order.")
    available_now: FacetCount = strawberry.field(
        description="Titles with a copy on the shelf now (the material type narrowing applied).")
    holdable: FacetCount = strawberry.field(
        description="Titles a Web予約 can be placed on now: owned, every copy out (the material type narrowing applied).")

    @classmethod
    def from_domain(cls, facets: catalog_search.Facets) -> CatalogFacets:
        return cls(
            material_types=[MaterialTypeFacet(material_type=m, count=c.value, is_exact=c.exact)
                            for m, c in facets.material_types],
            available_now=FacetCount(count=facets.available_now.value, is_exact=facets.available_now.exact),
            holdable=FacetCount(count=facets.holdable.value, is_exact=facets.holdable.exact),
        )


@strawberry.type(name="TitleConnection", description="A page of titles (a search or a list), with Relay cursors.")
class TitleConnection(relay.Connection[Title]):
    result: strawberry.Private[TitlePage]

    # Sync resolvers: a search's counts are at hand with its page (then no coroutine per
    # field); a list counts when asked, and the resolver hands graphql-core the awaitable.
    @strawberry.field(description="Number of titles in the whole list (for a search: the matching titles, "
                      "narrowing applied). Counted only when asked.")
    def total_count(self) -> int:
        return loaders.then(self._count(), lambda c: c.value)  # type: ignore[return-value]

    @strawberry.field(description="False when `totalCount` is a lower bound: a search narrowed by availability "
                      f"counts it over the newest {catalog_search.SHELF_COUNT_LIMIT:,} matching titles only.")
    def total_count_is_exact(self) -> bool:
        return loaders.then(self._count(), lambda c: c.exact)  # type: ignore[return-value]

    def _count(self) -> catalog.Count | Awaitable[catalog.Count]:
        if self.counted is None:
            self.counted = self.result.count_now()
            if inspect.isawaitable(self.counted):
                self.counted = asyncio.ensure_future(self.counted)  # one count for both fields
        return self.counted

    counted: strawberry.Private[object] = None

    @strawberry.field(description="Counts of the narrowing options for the current keyword (searchCatalog only; "
                      "null for the other lists).")
    def facets(self) -> CatalogFacets | None:
        found = self.result.facets_now() if isinstance(self.result, SearchResult) else None
        return None if found is None else loaders.then(found, CatalogFacets.from_domain)  # type: ignore[return-value]

    @strawberry.field(description="The words the keyword was searched as, after folding (widths, kana, "
                      "punctuation): every one must occur. Empty when the keyword has nothing to search for "
                      "(the whole catalog is listed). Null for lists other than searchCatalog.")
    def search_terms(self) -> list[str] | None:
        return list(self.result.terms) if isinstance(self.result, SearchResult) else None


def title_connection(info: Info[Context, None], page: KeysetPage, result: TitlePage) -> TitleConnection:
    """A connection of titles; the loaders learn the titles and their availability read with the
    page, so neither costs another query."""
    loaders.titles(info.context).know({row.id: row for row in result.titles})
    loaders.availability(info.context).know(result.availability)
    return page.connection(result.titles, result.keys, lambda row: Title.from_model(row, result.availability.get(row.id)),
                           make=TitleConnection, result=result)


_SORT_KEYS: dict[SearchSort, tuple[type, ...]] = {
    SearchSort.RELEVANCE: (int, int), SearchSort.NEWEST: (int, int), SearchSort.TITLE_READING: (str, int),
}


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        description="資料検索: titles whose title, author, publisher or their readings (ヨミ) contain every "
        "word of `keyword` (hiragana, katakana, half-/full-width all match), in the order `sort` asks, with "
        "facet counts for narrowing. An empty keyword lists the whole catalog. Public (guests too)."
    )
    async def search_catalog(
        self, info: Info[Context, None],
        keyword: Annotated[str, strawberry.argument(
            description="Words to find (up to 200 characters; words are separated by spaces, all must occur). "
            "Control characters are refused (BAD_USER_INPUT); quotes, *, %, _ and the like are plain text.")] = "",
        filter: Annotated[CatalogFilterInput | None, strawberry.argument(description=_FILTER)] = None,
        sort: Annotated[CatalogSortEnum, strawberry.argument(  # type: ignore[valid-type]
            description="The order (default RELEVANCE).")] = SearchSort.RELEVANCE,
        first: First = None, after: After = None,
    ) -> TitleConnection:
        order = SearchSort(sort)
        page = KeysetPage(first, after, info.context.settings.max_page_size, f"searchCatalog.{order.value}", _SORT_KEYS[order])
        try:
            flt = _filter(filter, info.context.settings.policy)
            result = await catalog_search.search(info.context.deps.search_cache, keyword, flt, order,
                                                 after=page.after, limit=page.limit)
        except DomainError as error:
            raise bad_user_input(error) from None
        return title_connection(info, page, result)

    @strawberry.field(description="新着資料: titles received in the last `NEW_ARRIVAL_DAYS` days, newest first.")
    async def new_arrivals(
        self, info: Info[Context, None],
        filter: Annotated[CatalogFilterInput | None, strawberry.argument(description=_FILTER)] = None,
        first: First = None, after: After = None,
    ) -> TitleConnection:
        ctx = info.context
        page = KeysetPage(first, after, ctx.settings.max_page_size, "newArrivals", (date, int))
        result = await catalog.new_arrivals(ctx.today(), ctx.settings.new_arrival_days,
                                            _filter(filter, ctx.settings.policy), after=page.after, limit=page.limit)
        return title_connection(info, page, result)

    @strawberry.field(description="予約の多い資料: titles with the most active holds, most first.")
    async def most_held_titles(
        self, info: Info[Context, None],
        first: First = None, after: After = None,
    ) -> TitleConnection:
        page = KeysetPage(first, after, info.context.settings.max_page_size, "mostHeldTitles", (int, int))
        return title_connection(info, page, await catalog.most_held(after=page.after, limit=page.limit))
