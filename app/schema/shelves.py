"""The patron's own library in GraphQL: favorites, bookshelves, loan history, reading marathon.

Everything here is visible to the patron alone: another patron, a guest and staff get null
(or NOT_FOUND), never a hint that something exists. Staff have no business with what a
patron reads.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Iterable

import strawberry
from strawberry import relay
from strawberry.types import Info

from app.domain import shelves
from app.domain.visibility import Audience
from app.models import Bookshelf as BookshelfModel
from app.models import BookshelfEntry as BookshelfEntryModel
from app.models import Favorite as FavoriteModel
from app.models import Patron as PatronModel
from app.models import ReadingHistoryEntry as ReadingHistoryEntryModel
from app.schema import loaders
from app.schema.base import (
    After, Connection, First, decode_global_id, edge_of, encode_global_id, load_owned_nodes, query_connection,
    query_page,
)
from app.schema.catalog import Title
from app.schema.context import Context
from app.schema.errors import CLIENT_MUTATION_ID, Payload, handle_user_errors

if TYPE_CHECKING:
    from app.schema.accounts import Patron


# --- types ---------------------------------------------------------------------------------


async def _own(info: Info[Context, None], model: Any, node_ids: Iterable[str], build) -> list[Any]:
    """`resolve_nodes` of rows with a patron: only the viewer's own, None for everything else."""
    return await load_owned_nodes(info, model, node_ids, build, audience=Audience.OWNER)


@strawberry.type
class _TitleEntry:
    """A row that names a title (a favorite, a shelf entry, a history entry)."""

    title_id: strawberry.Private[int]

    @strawberry.field(description="The title.")
    async def title(self, info: Info[Context, None]) -> Title:
        return Title.from_model(await loaders.titles(info.context).load(self.title_id))


@strawberry.type(name="Favorite", description="A title in the favorites (お気に入り).")
class Favorite(_TitleEntry, relay.Node):
    id: relay.NodeID[int]
    added_at: datetime = strawberry.field(description="When the title was added to お気に入り.")

    @classmethod
    def from_model(cls, m: FavoriteModel) -> Favorite:
        return cls(id=m.id, added_at=m.created_at, title_id=m.title_id)

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        return await _own(info, FavoriteModel, node_ids, cls.from_model)


@strawberry.type(name="BookshelfEntry", description="A title on a bookshelf.")
class BookshelfEntry(_TitleEntry, relay.Node):
    id: relay.NodeID[int]
    added_at: datetime = strawberry.field(description="When the title was put on the shelf.")

    @classmethod
    def from_model(cls, m: BookshelfEntryModel) -> BookshelfEntry:
        return cls(id=m.id, added_at=m.added_at, title_id=m.title_id)

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        # An entry is its shelf's: read with the shelf, visible to the shelf's patron alone.
        return await load_owned_nodes(info, shelves.entries_with_shelves(), node_ids, cls.from_model,
                                      audience=Audience.OWNER, owner=lambda row: row.bookshelf.patron_id)


@strawberry.type(name="Bookshelf", description="A shelf the patron made (本棚を作成する), with titles on it.")
class Bookshelf(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The name the patron gave it (unique among their shelves).")
    created_at: datetime = strawberry.field(description="When the shelf was made.")
    updated_at: datetime = strawberry.field(description="When it was last renamed or a title was put on or taken off.")

    @strawberry.field(description="Titles on the shelf, last added first.")
    async def entries(self, info: Info[Context, None], first: First = None,
                      after: After = None) -> Connection[BookshelfEntry]:
        page = query_page(BookshelfEntryModel, first, after, info.context.settings.max_page_size,
                          kind="Bookshelf.entries", order=shelves.ENTRIES_ORDER)
        return await query_connection(shelves.shelf_entries(self.id), page, BookshelfEntry.from_model)

    @classmethod
    def from_model(cls, m: BookshelfModel) -> Bookshelf:
        return cls(id=m.id, name=m.name, created_at=m.created_at, updated_at=m.updated_at)

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        return await _own(info, BookshelfModel, node_ids, cls.from_model)


@strawberry.type(name="ReadingHistoryEntry", description="One checkout in the loan history (借りた本の履歴).")
class ReadingHistoryEntry(_TitleEntry, relay.Node):
    id: relay.NodeID[int]
    borrowed_on: date = strawberry.field(description="The day the title was checked out.")

    @classmethod
    def from_model(cls, m: ReadingHistoryEntryModel) -> ReadingHistoryEntry:
        return cls(id=m.id, borrowed_on=m.borrowed_on, title_id=m.title_id)

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        return await _own(info, ReadingHistoryEntryModel, node_ids, cls.from_model)


@strawberry.type(description="Loans in one month of the marathon period, for a chart.")
class ReadingMonth:
    year: int = strawberry.field(description="The year.")
    month: int = strawberry.field(description="The month, 1–12.")
    count: int = strawberry.field(description="Loans started in that month (0 included).")


@strawberry.type(description="読書マラソン: the goal and the progress toward it (counts only, no titles).")
class ReadingMarathon:
    target: int = strawberry.field(description="Number of loans aimed at.")
    period_start: date = strawberry.field(description="First day of the period.")
    period_end: date = strawberry.field(description="Last day of the period (included).")
    count: int = strawberry.field(description="Loans started within the period so far.")
    remaining: int = strawberry.field(description="Loans still needed (0 once achieved).")
    percent: int = strawberry.field(description="Whole percent of the target (can pass 100).")
    achieved: bool = strawberry.field(description="The target has been reached.")
    months: list[ReadingMonth] = strawberry.field(description="Every month of the period, in order.")

    @classmethod
    def from_domain(cls, m: shelves.Marathon) -> ReadingMarathon:
        return cls(
            target=m.target, period_start=m.period_start, period_end=m.period_end, count=m.count,
            remaining=m.remaining, percent=m.percent, achieved=m.achieved,
            months=[ReadingMonth(year=x.year, month=x.month, count=x.count) for x in m.months],
        )


@strawberry.type
class PatronShelves:
    """Fields of `Patron` for the patron's own library: null unless the viewer is this patron."""

    model: strawberry.Private[PatronModel]

    async def _mine(self, info: Info[Context, None]) -> bool:
        return (await info.context.viewer()).is_patron(self.model.id)

    @strawberry.field(description="お気に入り, last added first. Only for the patron themself.")
    async def favorites(self, info: Info[Context, None], first: First = None,
                        after: After = None) -> Connection[Favorite] | None:
        page = query_page(FavoriteModel, first, after, info.context.settings.max_page_size, kind="Patron.favorites",
                          order=shelves.FAVORITES_ORDER)
        if not await self._mine(info):
            return None
        # My Page shows the number (`first: 0`): counted by hand-written SQL, no query built.
        count = functools.partial(shelves.count_favorites, self.model.id)
        query = functools.partial(shelves.favorites, self.model.id)
        return await query_connection(query, page, Favorite.from_model, count)

    @strawberry.field(description="My本棚: the shelves the patron made, oldest first. Only for the patron themself.")
    async def bookshelves(self, info: Info[Context, None], first: First = None,
                          after: After = None) -> Connection[Bookshelf] | None:
        page = query_page(BookshelfModel, first, after, info.context.settings.max_page_size,
                          kind="Patron.bookshelves", order=shelves.BOOKSHELVES_ORDER)
        if not await self._mine(info):
            return None
        return await query_connection(shelves.bookshelves(self.model.id), page, Bookshelf.from_model)

    @strawberry.field(
        description="借りた本の履歴, newest first: kept only while `readingHistoryEnabled`. "
        "Only for the patron themself (never staff)."
    )
    async def reading_history(self, info: Info[Context, None], first: First = None,
                              after: After = None) -> Connection[ReadingHistoryEntry] | None:
        page = query_page(ReadingHistoryEntryModel, first, after, info.context.settings.max_page_size,
                          kind="Patron.readingHistory", order=shelves.HISTORY_ORDER)
        if not await self._mine(info):
            return None
        return await query_connection(shelves.reading_history(self.model.id), page, ReadingHistoryEntry.from_model)

    @strawberry.field(description="読書マラソン: null until a goal is set. Only for the patron themself.")
    async def reading_marathon(self, info: Info[Context, None]) -> ReadingMarathon | None:
        if not await self._mine(info):
            return None
        marathon = await shelves.reading_marathon(self.model)
        return ReadingMarathon.from_domain(marathon) if marathon else None


# --- inputs and payloads -------------------------------------------------------------------


async def _viewers(info: Info[Context, None], node: Favorite | Bookshelf | None,
                   list_field) -> relay.Edge | None:  # type: ignore[type-arg]
    """`node` as an edge of the viewer's own list `list_field` (a connection field of `Patron`)."""
    from app.schema.accounts import Patron

    viewer = await info.context.patron()
    return await edge_of(info, node, Patron.from_model(viewer), list_field) if viewer else None


_TITLE_ID = "Global ID of the title."
_BOOKSHELF_ID = "Global ID of one of your bookshelves."
_BOOKSHELF_NAME = f"Up to {shelves.BOOKSHELF_NAME_MAX} characters, unique among your shelves."


@strawberry.input(description="The title to add to お気に入り.")
class AddFavoriteInput:
    title_id: strawberry.ID = strawberry.field(description=_TITLE_ID)


@strawberry.type(description="The result of addFavorite.")
class AddFavoritePayload(Payload):
    favorite: Favorite | None = strawberry.field(
        default=None, description="The favorite: new, or the one already there (adding again changes nothing).")

    @strawberry.field(description="The favorite as an edge of `viewer.favorites` (last added first), for Relay's "
                      "`@prependEdge`.")
    async def favorite_edge(self, info: Info[Context, None]) -> relay.Edge[Favorite] | None:
        return await _viewers(info, self.favorite, PatronShelves.favorites)


@strawberry.input(description="The title to remove from お気に入り.")
class RemoveFavoriteInput:
    title_id: strawberry.ID = strawberry.field(description=_TITLE_ID)


@strawberry.type(description="The result of removeFavorite.")
class RemoveFavoritePayload(Payload):
    removed_favorite_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the removed favorite (for Relay's `@deleteEdge`); null if the "
        "title was not a favorite.")


@strawberry.input(description="本棚を作成する: the new shelf's name.")
class CreateBookshelfInput:
    name: str = strawberry.field(description=_BOOKSHELF_NAME)


@strawberry.type(description="The result of createBookshelf and renameBookshelf.")
class BookshelfPayload(Payload):
    bookshelf: Bookshelf | None = strawberry.field(default=None, description="The shelf, with its name.")

    @strawberry.field(description="The shelf as an edge of `viewer.bookshelves` (oldest first: a new shelf comes "
                      "last), for Relay's `@appendEdge` after createBookshelf.")
    async def bookshelf_edge(self, info: Info[Context, None]) -> relay.Edge[Bookshelf] | None:
        return await _viewers(info, self.bookshelf, PatronShelves.bookshelves)


@strawberry.input(description="A new name for one of your bookshelves.")
class RenameBookshelfInput:
    bookshelf_id: strawberry.ID = strawberry.field(description=_BOOKSHELF_ID)
    name: str = strawberry.field(description=_BOOKSHELF_NAME)


@strawberry.input(description="The bookshelf to delete, with what is on it.")
class DeleteBookshelfInput:
    bookshelf_id: strawberry.ID = strawberry.field(description=_BOOKSHELF_ID)


@strawberry.type(description="The result of deleteBookshelf.")
class DeleteBookshelfPayload(Payload):
    deleted_bookshelf_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the deleted shelf (for Relay's `@deleteEdge`).")


@strawberry.input(description="The title to put on one of your bookshelves.")
class AddToBookshelfInput:
    bookshelf_id: strawberry.ID = strawberry.field(description=_BOOKSHELF_ID)
    title_id: strawberry.ID = strawberry.field(description=_TITLE_ID)


@strawberry.type(description="The result of addToBookshelf.")
class AddToBookshelfPayload(Payload):
    bookshelf: Bookshelf | None = strawberry.field(default=None, description="The shelf (its `updatedAt` moved).")
    entry: BookshelfEntry | None = strawberry.field(
        default=None, description="The entry: new, or the one already there (adding again changes nothing).")

    @strawberry.field(description="The entry as an edge of the shelf's `entries` (last added first), for Relay's "
                      "`@prependEdge`.")
    async def entry_edge(self, info: Info[Context, None]) -> relay.Edge[BookshelfEntry] | None:
        return await edge_of(info, self.entry, self.bookshelf, Bookshelf.entries)


@strawberry.input(description="The title to take off one of your bookshelves.")
class RemoveFromBookshelfInput:
    bookshelf_id: strawberry.ID = strawberry.field(description=_BOOKSHELF_ID)
    title_id: strawberry.ID = strawberry.field(description=_TITLE_ID)


@strawberry.type(description="The result of removeFromBookshelf.")
class RemoveFromBookshelfPayload(Payload):
    bookshelf: Bookshelf | None = strawberry.field(default=None, description="The shelf (its `updatedAt` moved).")
    removed_entry_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the removed entry (for Relay's `@deleteEdge`); null if the title "
        "was not on the shelf.")


@strawberry.input(description="Opt in to, or out of, keeping the loan history. Opting out deletes it.")
class SetReadingHistoryEnabledInput:
    enabled: bool = strawberry.field(description="True: keep 借りた本の履歴 from now on. False: stop, and delete it.")


@strawberry.type(description="The result of setReadingHistoryEnabled.")
class SetReadingHistoryEnabledPayload(Payload):
    # Patron lives in app.schema.accounts, which imports this module for the mixin.
    patron: Annotated["Patron", strawberry.lazy("app.schema.accounts")] | None = strawberry.field(
        default=None, description="The patron, with `readingHistoryEnabled`.")
    deleted_entries: int = strawberry.field(default=0, description="History entries deleted by opting out.")


@strawberry.input(description="読書マラソン: a number of loans between two dates (both included).")
class SetReadingGoalInput:
    target: int = strawberry.field(description=f"Loans to aim at, 1–{shelves.READING_GOAL_MAX}.")
    period_start: date = strawberry.field(description="First day of the period.")
    period_end: date = strawberry.field(
        description=f"Last day of the period, at most {shelves.READING_PERIOD_MAX_YEARS} years after the first.")


@strawberry.type(description="The result of setReadingGoal.")
class SetReadingGoalPayload(Payload):
    reading_marathon: ReadingMarathon | None = strawberry.field(
        default=None, description="The goal and the progress toward it (`viewer.readingMarathon`).")
    patron: Annotated["Patron", strawberry.lazy("app.schema.accounts")] | None = strawberry.field(
        default=None, description="The patron, whose `readingMarathon` changed (for a normalised cache).")


@strawberry.input(description="Stop the reading marathon: remove the goal.")
class ClearReadingGoalInput:
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.type(description="The result of clearReadingGoal.")
class ClearReadingGoalPayload(Payload):
    cleared: bool = strawberry.field(default=False, description="False if no goal was set (nothing changed).")
    patron: Annotated["Patron", strawberry.lazy("app.schema.accounts")] | None = strawberry.field(
        default=None, description="The patron, whose `readingMarathon` is now null (for a normalised cache).")


@strawberry.type
class ShelvesMutation:
    @strawberry.mutation(description="Add a title to お気に入り (adding it again changes nothing).")
    @handle_user_errors(AddFavoritePayload)
    async def add_favorite(self, info: Info[Context, None], input: AddFavoriteInput) -> AddFavoritePayload:
        ctx = info.context
        patron = await ctx.require_patron()
        favorite = await shelves.add_favorite(ctx.deps, patron, decode_global_id(input.title_id, "Title"))
        return AddFavoritePayload(favorite=Favorite.from_model(favorite))

    @strawberry.mutation(description="Remove a title from お気に入り.")
    @handle_user_errors(RemoveFavoritePayload)
    async def remove_favorite(self, info: Info[Context, None], input: RemoveFavoriteInput) -> RemoveFavoritePayload:
        patron = await info.context.require_patron()
        removed = await shelves.remove_favorite(patron, decode_global_id(input.title_id, "Title"))
        return RemoveFavoritePayload(removed_favorite_id=encode_global_id("Favorite", removed))

    @strawberry.mutation(description="本棚を作成する: a new, empty bookshelf.")
    @handle_user_errors(BookshelfPayload)
    async def create_bookshelf(self, info: Info[Context, None], input: CreateBookshelfInput) -> BookshelfPayload:
        ctx = info.context
        shelf = await shelves.create_bookshelf(ctx.deps, await ctx.require_patron(), input.name)
        return BookshelfPayload(bookshelf=Bookshelf.from_model(shelf))

    @strawberry.mutation(description="Rename one of your bookshelves.")
    @handle_user_errors(BookshelfPayload)
    async def rename_bookshelf(self, info: Info[Context, None], input: RenameBookshelfInput) -> BookshelfPayload:
        ctx = info.context
        shelf = await shelves.rename_bookshelf(
            ctx.deps, await ctx.require_patron(), decode_global_id(input.bookshelf_id, "Bookshelf"), input.name)
        return BookshelfPayload(bookshelf=Bookshelf.from_model(shelf))

    @strawberry.mutation(description="Delete one of your bookshelves and what is on it.")
    @handle_user_errors(DeleteBookshelfPayload)
    async def delete_bookshelf(self, info: Info[Context, None], input: DeleteBookshelfInput) -> DeleteBookshelfPayload:
        patron = await info.context.require_patron()
        deleted = await shelves.delete_bookshelf(patron, decode_global_id(input.bookshelf_id, "Bookshelf"))
        return DeleteBookshelfPayload(deleted_bookshelf_id=encode_global_id("Bookshelf", deleted))

    @strawberry.mutation(description="Put a title on one of your bookshelves (again changes nothing).")
    @handle_user_errors(AddToBookshelfPayload)
    async def add_to_bookshelf(self, info: Info[Context, None], input: AddToBookshelfInput) -> AddToBookshelfPayload:
        ctx = info.context
        patron = await ctx.require_patron()
        entry = await shelves.add_to_bookshelf(
            ctx.deps, patron, decode_global_id(input.bookshelf_id, "Bookshelf"), decode_global_id(input.title_id, "Title"))
        shelf = await shelves.bookshelf(entry.bookshelf_id)
        return AddToBookshelfPayload(bookshelf=Bookshelf.from_model(shelf), entry=BookshelfEntry.from_model(entry))

    @strawberry.mutation(description="Take a title off one of your bookshelves.")
    @handle_user_errors(RemoveFromBookshelfPayload)
    async def remove_from_bookshelf(self, info: Info[Context, None],
                                    input: RemoveFromBookshelfInput) -> RemoveFromBookshelfPayload:
        ctx = info.context
        patron = await ctx.require_patron()
        shelf_id = decode_global_id(input.bookshelf_id, "Bookshelf")
        removed = await shelves.remove_from_bookshelf(ctx.deps, patron, shelf_id, decode_global_id(input.title_id, "Title"))
        shelf = await shelves.bookshelf(shelf_id)
        return RemoveFromBookshelfPayload(bookshelf=Bookshelf.from_model(shelf),
                                          removed_entry_id=encode_global_id("BookshelfEntry", removed))

    @strawberry.mutation(
        description="Opt in to keeping 借りた本の履歴 (from now on), or out of it (deletes all of it)."
    )
    @handle_user_errors(SetReadingHistoryEnabledPayload)
    async def set_reading_history_enabled(
        self, info: Info[Context, None], input: SetReadingHistoryEnabledInput
    ) -> SetReadingHistoryEnabledPayload:
        from app.schema.accounts import Patron

        ctx = info.context
        patron, deleted = await shelves.set_reading_history_enabled(ctx.deps, await ctx.require_patron(), input.enabled)
        return SetReadingHistoryEnabledPayload(patron=Patron.from_model(patron), deleted_entries=deleted)

    @strawberry.mutation(description="読書マラソン: set or replace the goal.")
    @handle_user_errors(SetReadingGoalPayload)
    async def set_reading_goal(self, info: Info[Context, None], input: SetReadingGoalInput) -> SetReadingGoalPayload:
        from app.schema.accounts import Patron

        ctx = info.context
        patron = await ctx.require_patron()
        marathon = await shelves.set_reading_goal(ctx.deps, patron, input.target, input.period_start, input.period_end)
        return SetReadingGoalPayload(reading_marathon=ReadingMarathon.from_domain(marathon),
                                     patron=Patron.from_model(patron))

    @strawberry.mutation(description="読書マラソン: remove the goal (`readingMarathon` is null again). "
                         "The monthly counts are kept for a later goal.")
    @handle_user_errors(ClearReadingGoalPayload)
    async def clear_reading_goal(self, info: Info[Context, None],
                                 input: ClearReadingGoalInput) -> ClearReadingGoalPayload:
        from app.schema.accounts import Patron

        patron = await info.context.require_patron()
        cleared = await shelves.clear_reading_goal(patron)
        return ClearReadingGoalPayload(cleared=cleared, patron=Patron.from_model(patron))

