"""Shared GraphQL plumbing: Relay cursor connections paged in the database, node loading, IDs.

Every list pages by keyset (`KeysetPage`, `encode_cursor`): a cursor is opaque and holds the
list's order key of a row, ending in its id, so the next page starts right after that row
whatever was added or removed before it. A cursor that is not one of the list's (another list's,
a made-up one) is refused with BAD_USER_INPUT, never an error of the server.
"""

from __future__ import annotations

import json
import re
from base64 import b64encode
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Awaitable, Callable, Generic, Iterable, Mapping, Sequence, TypeVar

import orjson
import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from app.domain.errors import DomainError, ErrorCode
from app.domain.messages import message_for
from app.domain.visibility import Audience

NodeType = TypeVar("NodeType")

DEFAULT_PAGE_SIZE = 20
# Every primary key is a 32-bit integer column (PostgreSQL `integer`): a larger number names
# no row, and would be refused by the driver rather than found missing.
MAX_ROW_ID = 2**31 - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


def parse_decimal(text: object, maximum: int = MAX_ROW_ID) -> int | None:
    """The number an id or a cursor spells in ASCII digits, no sign or leading zero, up to
    `maximum`; None for anything else (`１２`, `١٢`, `²`, `0012`, 20 digits)."""
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        return None
    value = int(text)
    return value if value <= maximum else None


@strawberry.type(description="A page of a list that can grow, with Relay cursors.")
class Connection(relay.Connection[NodeType], Generic[NodeType]):
    _total: strawberry.Private[Callable[[], Awaitable[int]] | int]

    @strawberry.field(description="Number of items in the whole list (counted only when asked).")
    def total_count(self) -> int:
        # Sync: a total read with the page is given as it is (no coroutine), else counted now.
        if callable(self._total):
            return self._counted()  # type: ignore[return-value]
        return self._total

    async def _counted(self) -> int:
        if callable(self._total):
            self._total = await self._total()
        return self._total  # type: ignore[return-value]


class Edge(relay.Edge[NodeType], Generic[NodeType]):
    """relay's Edge (the schema's type), its cursor made from the list's kind and the row's key
    when read: every edge of a page has one, few clients read them all."""

    def __init__(self, *, node: NodeType, key: tuple[str, Sequence[Any]]) -> None:
        self.key = key
        super().__init__(cursor=None, node=node)  # type: ignore[arg-type]

    @property  # type: ignore[override]
    def cursor(self) -> str:
        cursor = self.__dict__.get("_cursor")
        if cursor is None:
            cursor = self.__dict__["_cursor"] = encode_cursor(*self.key)
        return cursor

    @cursor.setter
    def cursor(self, value: str | None) -> None:
        self.__dict__["_cursor"] = value


class PageInfo(relay.PageInfo):
    """relay's PageInfo (the schema's type), its two cursors those of the first and last edges,
    made when read (My Page's lists never ask for them)."""

    def __init__(self, *, edges: Sequence[Edge[Any]], has_next_page: bool, has_previous_page: bool) -> None:
        self.edges = edges
        super().__init__(has_next_page=has_next_page, has_previous_page=has_previous_page,
                         start_cursor=None, end_cursor=None)

    @property  # type: ignore[override]
    def start_cursor(self) -> str | None:
        return self.__dict__.get("_start") or (self.edges[0].cursor if self.edges else None)

    @start_cursor.setter
    def start_cursor(self, value: str | None) -> None:
        self.__dict__["_start"] = value

    @property  # type: ignore[override]
    def end_cursor(self) -> str | None:
        return self.__dict__.get("_end") or (self.edges[-1].cursor if self.edges else None)

    @end_cursor.setter
    def end_cursor(self, value: str | None) -> None:
        self.__dict__["_end"] = value


# The arguments of every connection field.
First = Annotated[int | None, strawberry.argument(
    description="How many items to return: 20 when left out, at most the server's MAX_PAGE_SIZE (100 by "
    "default; a larger number is capped, not refused). 0 returns no item: ask for `totalCount` alone.")]
After = Annotated[str | None, strawberry.argument(
    description="Return the items after this cursor: `pageInfo.endCursor` of the page before (left out for "
    "the first page). Only a cursor this list gave out is accepted.")]


def bad_user_input(error: DomainError) -> GraphQLError:
    """A bad argument of a query (a keyword no search can take, a cursor that is not one): a
    GraphQL error with `extensions.code` BAD_USER_INPUT, the Japanese message from the catalogue,
    the `ErrorCode` as `extensions.reason` and the argument as `extensions.argument`."""
    failure = error.failures[0]
    extensions: dict[str, Any] = {"code": "BAD_USER_INPUT", "reason": failure.code.value}
    if failure.field:
        extensions["argument"] = to_camel_case(failure.field[0])
    return GraphQLError(message_for(failure), extensions=extensions)


def _refuse(code: ErrorCode, argument: str) -> GraphQLError:
    return bad_user_input(DomainError(code, argument))


# Keys of keyset cursors: integers the database's INTEGER holds, texts of a sort key's size.
_INT_RANGE = range(-(2**31), 2**31)
_MAX_TEXT_KEY = 300
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def encode_cursor(kind: str, key: Sequence[Any]) -> str:
    """An opaque keyset cursor: the list's kind (no colon) and a row's key (its order values,
    then its id), as `base64("<kind>:<compact JSON array>")`.

    Every edge of every page gets one, so it is built with orjson (the same bytes as
    `json.dumps(values, ensure_ascii=False, separators=(",", ":"))`, which `decode_cursor` reads;
    tests/test_stable_cursors.py compares the two).
    """
    values = [v.isoformat() if isinstance(v, date) else v for v in key]
    return b64encode(kind.encode() + b":" + orjson.dumps(values)).decode()


def _key_value(value: Any, kind: type) -> Any:
    if kind is int and type(value) is int and value in _INT_RANGE:
        return value
    if kind is str and isinstance(value, str) and len(value) <= _MAX_TEXT_KEY and not _NOT_TEXT.search(value):
        return value
    if kind is datetime and isinstance(value, str):
        instant = datetime.fromisoformat(value)
        if instant.tzinfo is None:
            raise ValueError(value)
        return instant
    if kind is date and isinstance(value, str):
        return date.fromisoformat(value)
    raise ValueError(value)


def decode_cursor(cursor: str, kind: str, types: Sequence[type], argument: str = "after") -> tuple[Any, ...]:
    """The key inside a keyset cursor of this kind, typed as `types`; BAD_USER_INPUT otherwise."""
    try:
        prefix, payload = relay.from_base64(cursor)
        values = json.loads(payload)
        if prefix != kind or not isinstance(values, list) or len(values) != len(types):
            raise ValueError(prefix)
        return tuple(_key_value(v, t) for v, t in zip(values, types))
    except (ValueError, TypeError, UnicodeError):
        raise _refuse(ErrorCode.INVALID_CURSOR, argument) from None


class KeysetPage:
    """The slice a `first`/`after` pair asks for, by keyset: rows after the key in `after`."""

    def __init__(self, first: int | None, after: str | None, max_size: int, kind: str,
                 types: Sequence[type], order: Sequence[str] = ()) -> None:
        if first is not None and first < 0:
            raise _refuse(ErrorCode.INVALID_PAGE_SIZE, "first")
        self.limit = min(DEFAULT_PAGE_SIZE if first is None else first, max_size)
        self.kind = kind
        self.order = order  # the Tortoise order a `query_page` pages by (its cursor's key)
        self.after = decode_cursor(after, kind, types) if after else None

    def connection(self, rows: Sequence[Any], keys: Sequence[Sequence[Any]], node: Callable[[Any], NodeType],
                   make: Callable[..., Any] | None = None, **fields: Any) -> Any:
        """A connection (`make`, `Connection` by default) of `rows`, fetched with `limit + 1` to
        know if a next page exists; each edge's cursor is its row's key."""
        kind = self.kind
        edges = [Edge(node=node(row), key=(kind, key)) for row, key in zip(rows[: self.limit], keys)]
        page_info = PageInfo(edges=edges, has_next_page=len(rows) > self.limit, has_previous_page=self.after is not None)
        return (make or Connection)(edges=edges, page_info=page_info, **fields)

    def counted(self, total: int, more: bool) -> Connection[Any]:
        """An empty page (`first: 0`) of a list of `total` items (`more`: rows follow the cursor)."""
        return Connection(edges=[], page_info=relay.PageInfo(
            has_next_page=more, has_previous_page=self.after is not None, start_cursor=None, end_cursor=None,
        ), _total=total)


def _key_types(model: Any, order: Sequence[str]) -> tuple[type, ...]:
    """The Python types of the columns of an `order_by` (`"-created_at", "-id"`) of a model."""
    from tortoise import fields

    kinds = []
    for name in order:
        field = model._meta.fields_map[name.lstrip("-")]
        if isinstance(field, fields.DatetimeField):
            kinds.append(datetime)
        elif isinstance(field, fields.DateField):
            kinds.append(date)
        elif isinstance(field, (fields.IntField, fields.BigIntField, fields.SmallIntField)):
            kinds.append(int)
        else:
            kinds.append(str)
    return tuple(kinds)


def _after(order: Sequence[str], key: Sequence[Any]) -> Any:
    """The Tortoise condition "after this key in this order": for `(a desc, id desc)`,
    `a < a0 OR (a = a0 AND id < id0)`."""
    from tortoise.expressions import Q

    condition = None
    for k, name in enumerate(order):
        column = name.lstrip("-")
        step = Q(**{f"{column}__{'lt' if name.startswith('-') else 'gt'}": key[k]},
                 **{o.lstrip("-"): v for o, v in zip(order[:k], key[:k])})
        condition = step if condition is None else condition | step
    return condition


def query_page(model: Any, first: int | None, after: str | None, max_size: int, *, kind: str,
               order: Sequence[str]) -> KeysetPage:
    """The page `first`/`after` ask for of a list of `model` rows in `order`, checked (a bad
    `first` or cursor refused) before the resolver reads anything."""
    return KeysetPage(first, after, max_size, kind, _key_types(model, order), order)


async def query_connection(query: Any, page: KeysetPage, node: Callable[[Any], NodeType],
                           count: Callable[[], Awaitable[int]] | None = None) -> Connection[NodeType]:
    """A connection over a Tortoise query ordered by `page.order` (`query_page`; ending in the id,
    as the query's own `order_by`), paged by keyset in the database: the cursor holds a row's `order` values, so rows
    added or removed before it never shift the next page. Counted only when asked (`first: 0`
    reads no rows: the count alone). `query` may be a function making it, when building it is
    worth saving for a count alone (My Page's favorites).

    A list's `first` and `after` are checked first of all, before the resolver awaits anything
    (`query_page`, `KeysetPage`): bad paging costs no query, and when several fields of one
    request are refused, which refusal is reported does not depend on the order in which the
    database answered (the compiled executor and graphql-core agree on it).
    """
    if callable(query) and not hasattr(query, "filter"):
        if page.limit == 0 and page.after is None and count is not None:
            total = await count()
            return Connection(edges=[], page_info=relay.PageInfo(
                has_next_page=total > 0, has_previous_page=False, start_cursor=None, end_cursor=None), _total=total)
        query = query()
    count = count or query.count
    if page.after is not None:
        query = query.filter(_after(page.order, page.after))
    if page.limit == 0:
        total = await count()
        more = total > 0 if page.after is None else await query.exists()
        return page.counted(total, more)
    rows = await query.limit(page.limit + 1)
    keys = [tuple(getattr(row, name.lstrip("-")) for name in page.order) for row in rows]
    return page.connection(rows, keys, node, _total=count)


def connection_of(items: Sequence[Any], page: KeysetPage, node: Callable[[Any], NodeType] = lambda row: row, *,
                  key: Callable[[Any], tuple[Any, ...]]) -> Connection[NodeType]:
    """A connection over a short list already in memory, in ascending order of `key(row)` (a
    patron's holds, the cart), paged by keyset like the others. The resolver makes the `page`
    before it reads the list (see `query_connection`)."""
    keys = [key(row) for row in items]
    rows = [(row, k) for row, k in zip(items, keys) if page.after is None or k > page.after]
    if page.limit == 0:
        return page.counted(len(items), bool(rows))
    window = rows[: page.limit + 1]
    return page.connection([r for r, _ in window], [k for _, k in window], node, _total=len(items))


async def edge_of(info: Any, node: Any | None, owner: Any,
                  list_field: Callable[..., Awaitable[Connection[Any] | None]]) -> relay.Edge[Any] | None:
    """`node` as an edge of a list of `owner` (`list_field`: the resolver of a connection field of
    its type, e.g. `PatronShelves.favorites`), as that list gives it out, so its cursor is one the
    list's `after` takes, whatever kind of cursor the list uses: read page by page until the row
    comes. None without a node, or when it is not in the list."""
    if node is None:
        return None
    size, after = info.context.settings.max_page_size, None
    while (page := await list_field(owner, info, first=size, after=after)) is not None:
        for edge in page.edges:
            if edge.node.id == node.id:
                return edge
        if not page.page_info.has_next_page:
            break
        after = page.page_info.end_cursor
    return None


def described_enum(domain_enum: type[Enum], name: str, description: str, values: Mapping[Enum, str]) -> Any:
    """The GraphQL enum of a domain enum, with a description for it and for each of its values
    (the one way the schema's enums get theirs; a value left out is caught by the schema tests)."""
    enum = strawberry.enum(domain_enum, name=name, description=description)
    for value in enum.__strawberry_definition__.values:
        value.description = values.get(domain_enum(value.value))
    return enum


def encode_global_id(type_name: str, pk: int | None) -> strawberry.ID | None:
    """The global ID of a row of the given type (None for no row), e.g. of one just deleted."""
    return strawberry.ID(relay.to_base64(type_name, pk)) if pk is not None else None


def decode_global_id(value: str | relay.GlobalID, type_name: str) -> int | None:
    """The integer id inside a global ID of the given type, or None if it is not one."""
    try:
        gid = value if isinstance(value, relay.GlobalID) else relay.GlobalID.from_id(value)
    except Exception:  # noqa: BLE001 - any malformed id is simply "not found"
        return None
    return parse_decimal(gid.node_id) if gid.type_name == type_name else None


async def load_nodes(model: Any, node_ids: Iterable[str], build: Callable[[Any], Any],
                     visible: Callable[[Any], bool] = lambda row: True) -> list[Any]:
    """`resolve_nodes` for a Tortoise model (or a query of one): in the order asked, None where
    missing or not visible."""
    ids = [parse_decimal(i) for i in node_ids]
    wanted = [i for i in ids if i is not None]
    found = {row.id: row for row in await model.filter(id__in=wanted)} if wanted else {}
    result = []
    for id_ in ids:
        row = found.get(id_) if id_ is not None else None
        result.append(build(row) if row is not None and visible(row) else None)
    return result


async def load_owned_nodes(info: Any, model: Any, node_ids: Iterable[str], build: Callable[[Any], Any], *,
                           audience: Audience, owner: Callable[[Any], int | None] = lambda row: row.patron_id) -> list[Any]:
    """`resolve_nodes` for rows that belong to a patron (`owner` of a row names them): visible by
    the one rule of `app.domain.visibility` to the viewer of the request, None to anyone else."""
    viewer = await info.context.viewer()
    return await load_nodes(model, node_ids, build, visible=lambda row: viewer.sees(owner(row), audience))
