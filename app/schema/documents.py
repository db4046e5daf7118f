"""Each GraphQL document text is parsed, validated and summarised once, not on every request.

Clients send the same few documents again and again (a SPA's My Page, a search). The cache is
keyed by the document's text (and the operation name for summaries), bounded, and holds no
data: only the parsed syntax tree of a document that passed every validation rule, and the
names the request log shows. A text that fails parsing or validation is never cached, so
every rule (limits, one guess per operation, introspection) still runs on it each time.

Strawberry's own `ParserCache` and `ValidationCache` key their caches by the parsed document
and the rule classes; hashing a syntax tree costs as much as parsing it, and limiters built
per request bring new rule classes, so the validation cache would never be hit.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Generic, Hashable, Iterator, TypeVar

from graphql import GraphQLError
from graphql.language import DocumentNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from app.schema.graphql_http import with_code

V = TypeVar("V")


class BoundedCache(Generic[V]):
    """A least-recently-used map of at most `maxsize` entries."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def memo(self, key: Hashable, compute: Callable[[], V]) -> V:
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def __len__(self) -> int:
        return len(self._entries)


class DocumentCache:
    """Valid documents by text, and per-operation summaries and cost plans, for one schema."""

    def __init__(self, maxsize: int = 256) -> None:
        self.documents: BoundedCache[DocumentNode] = BoundedCache(maxsize)
        self.summaries: BoundedCache[dict[str, Any]] = BoundedCache(maxsize)
        self.costs: BoundedCache[Any] = BoundedCache(maxsize)

    def memo(self, cache: BoundedCache[V], query: object, operation_name: object, compute: Callable[[], V]) -> V:
        """`compute()` for an operation of a document, kept by (text, operation name) when both
        are what clients normally send (the operation name is the client's JSON: anything)."""
        if not isinstance(query, str) or not isinstance(operation_name, (str, type(None))):
            return compute()
        return cache.memo((query, operation_name), compute)

    def extension(self) -> SchemaExtension:
        """A fresh extension instance for one request (strawberry calls this per operation)."""
        return CachedDocuments(self)


class CachedDocuments(SchemaExtension):
    """Reuse the syntax tree of a document validated before; skip parsing and validation for it."""

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache
        self.hit = False

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        if isinstance(ec.query, str) and ec.graphql_document is None:
            document = self.cache.documents.get(ec.query)
            if document is not None:
                ec.graphql_document, self.hit = document, True
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        # `operation_name` falls back to the first operation's; what the client sent is kept aside.
        if getattr(ec, "_provided_operation_name", None) is None and _operations(ec.graphql_document) > 1:
            # The GraphQL spec's request error: which operation to run is the client's to say,
            # not the first one's by default (nothing runs, the document is not validated).
            ec.pre_execution_errors = [GraphQLError("Must provide operation name if query contains multiple operations.",
                                                    extensions={"code": "OPERATION_RESOLUTION_FAILURE"})]
        elif self.hit:
            # Validated when it was cached, under the same schema and rules.
            ec.pre_execution_errors = []
        yield
        if not self.hit and ec.pre_execution_errors == [] and isinstance(ec.query, str) and ec.graphql_document:
            self.cache.documents.put(ec.query, ec.graphql_document)
        elif ec.pre_execution_errors:
            # In place: strawberry already holds this list for its answer.
            ec.pre_execution_errors[:] = [with_code(e, "GRAPHQL_VALIDATION_FAILED") for e in ec.pre_execution_errors]


def _operations(document: DocumentNode | None) -> int:
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) if document else 0
