"""The GraphQL schema: thin types and resolvers per domain, merged into one Query and Mutation.

`schema` is the exported object (`strawberry export-schema app.schema:schema`); the app builds
its own with `build_schema(settings)` so limits and production switches follow the settings.
"""

from __future__ import annotations

from typing import Annotated, Callable

import strawberry
from graphql import GraphQLError, get_named_type
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext, Info

from app.schema.accounts import AccountsMutation, AccountsQuery
from app.schema.calendar import CalendarEvent, CalendarMutation, CalendarQuery
from app.schema.catalog import CatalogQuery, Item, Title
from app.schema.circulation import NODE_TYPES as CIRCULATION_NODE_TYPES
from app.schema.circulation import CirculationMutation
from app.schema.compiled import MutationRoots
from app.schema.documents import DocumentCache
from app.schema.email import EmailMutation, EmailQuery
from app.schema.notices import Notice, NoticesMutation, NoticesQuery
from app.schema.privacy import LoginSession, PrivacyMutation, PrivacyQuery
from app.schema.scalars import SCALAR_OVERRIDES
from app.schema.security import security_extensions
from app.schema.shelves import Bookshelf, BookshelfEntry, Favorite, ReadingHistoryEntry, ShelvesMutation
from app.schema.subscriptions import Subscription, SubscriptionsOverWebSocket
from app.settings import Settings


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Fetch any object by its global ID (null if unknown or not yours).")
    async def node(self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(
            description="A global ID, as an object's `id` gives it.")]) -> relay.Node | None:
        try:
            global_id = relay.GlobalID.from_id(id)
        except Exception:  # noqa: BLE001 - a malformed id names nothing
            return None
        # Only the types that are nodes: `Query:1` or `UserError:1` names no object.
        type_def = info.schema.get_type_by_name(global_id.type_name)
        origin = getattr(type_def, "origin", None)
        if not (isinstance(origin, type) and issubclass(origin, relay.Node)):
            return None
        return await global_id.resolve_node(info, required=False)


@strawberry.type(description="What a client can read: the logged-in patron (`viewer`), any object by ID "
                 "(`node`), the catalog and the library calendar (public), and the desk's look-ups (staff).")
class Query(NodeQuery, AccountsQuery, CatalogQuery, CalendarQuery, NoticesQuery, EmailQuery, PrivacyQuery):
    pass


@strawberry.type(description="What a client can do. Every mutation takes one `input` and returns a payload with "
                 "what it changed and `errors` (empty on success; a refused operation changes nothing).")
class Mutation(AccountsMutation, CirculationMutation, ShelvesMutation, CalendarMutation, EmailMutation,
               NoticesMutation, PrivacyMutation):
    pass

# Types reachable only through `node(id:)` must be listed so they appear in the schema.
_NODE_TYPES = [
    Title, Item, *CIRCULATION_NODE_TYPES, Notice,
    Favorite, Bookshelf, BookshelfEntry, ReadingHistoryEntry, CalendarEvent, LoginSession,
]


class LibrarySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Strawberry would log every error with its message and traceback, which can quote
        # variables and SQL. The view logs bugs itself, privacy-safe (`present_errors`).
        return None


def build_schema(settings: Settings | None = None,
                 extensions: list[Callable[[], SchemaExtension]] | None = None) -> strawberry.Schema:
    """The schema with the limits and switches these settings call for (see `app.schema.security`)."""
    settings = settings or Settings()
    # Clients send the same few documents again and again: parse, validate and summarise each once.
    documents = DocumentCache(maxsize=256)
    differential = [MutationRoots] if settings.graphql_execution == "differential" else []
    schema = LibrarySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=_NODE_TYPES,
        scalar_overrides=SCALAR_OVERRIDES,
        extensions=[documents.extension, *security_extensions(settings, documents), *differential,
                    SubscriptionsOverWebSocket,
                    *(extensions or [])],
    )
    schema.documents = documents  # the view runs known documents from here (`app.schema.compiled`)
    _describe_inputs(schema)
    return schema


def _describe_inputs(schema: strawberry.Schema) -> None:
    """Every mutation's one `input` argument is described by its input type (one text, not two)."""
    for field in schema._schema.mutation_type.fields.values():
        if (argument := field.args.get("input")) is not None and not argument.description:
            argument.description = get_named_type(argument.type).description


schema = build_schema()
