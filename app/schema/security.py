"""GraphQL-level protections, applied to every operation by `build_schema` and the view.

- Abuse limits (depth, aliases, tokens) from the settings, with strawberry's extensions; text,
  cost and the guests' rate before execution (`app.schema.admission`).
- `OneGuessPerOperation`: an operation that guesses a secret (a password, a birth date, a
  ticket or e-mail token) may hold that one field and nothing else, so aliases cannot put a
  hundred guesses in one request. The list is by name, so mutations merged later are covered.
- Introspection off when the settings say so; "Did you mean …?" suggestions follow it.
- `present_errors`: bugs become "Unexpected error." plus the request id, logged with their code
  locations; nothing internal (messages, SQL, stack traces) reaches a client in any mode.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable, Iterator, Mapping

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from graphql.language import DocumentNode
from graphql.utilities import get_operation_ast
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from app.domain.errors import DomainError
from app.domain.messages import message_for
from app.schema.admission import Admission, ControlCharacterLiterals
from app.schema.documents import DocumentCache
from app.settings import Settings
from app.web.request_log import annotate, log_unexpected

# Root fields that check a secret. Each must be alone in its operation (no alias, no sibling).
# `confirmEmail` (e-mail confirmation tokens) is listed ahead of its arrival from the e-mail work.
GUESS_SENSITIVE_FIELDS = frozenset({
    "login",
    "staffLogin",
    "verifyPatronIdentity",
    "registerPassword",
    "changePassword",
    "confirmEmail",
})

UNEXPECTED_ERROR = "Unexpected error."
_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _root_fields(selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode],
                 seen: frozenset[str] = frozenset()) -> Iterator[FieldNode]:
    """The fields an operation selects at its root, through fragments and inline fragments."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            # A cycle is reported by graphql's NoFragmentCyclesRule; here it only must not loop.
            if fragment is not None and name not in seen:
                yield from _root_fields(fragment.selection_set, fragments, seen | {name})


class OneGuessPerOperation(ValidationRule):
    """A guess-sensitive field must be the only root field of its operation, selected once."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        fields = list(_root_fields(node.selection_set, _fragments(self.context.document)))
        guarded = [f for f in fields if f.name.value in GUESS_SENSITIVE_FIELDS]
        if guarded and len(fields) > 1:
            self.report_error(GraphQLError(
                f"'{guarded[0].name.value}' must be the only field of its operation.", guarded,
            ))


class OperationSummary(SchemaExtension):
    """Put the operation's name, type and root fields (never its text) on the request log."""

    def __init__(self, cache: DocumentCache | None = None) -> None:
        self.cache = cache

    def on_parse(self) -> Iterator[None]:
        yield
        ec = self.execution_context
        document = ec.graphql_document
        request = getattr(ec.context, "request", None)
        if document is None or request is None:
            return
        compute = functools.partial(operation_summary, document, ec.operation_name, ec.schema)
        summary = compute() if self.cache is None else self.cache.memo(
            self.cache.summaries, ec.query, ec.operation_name, compute)
        if summary:
            annotate(request.state, **summary)


def operation_summary(document: DocumentNode, operation_name: str | None, schema: Any) -> dict[str, Any]:
    """What the request log shows of an operation: its name, type and root fields (schema names only)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return {}
    root = schema._schema.get_root_type(operation.operation)
    known = root.fields if root is not None else {}
    # Only the schema's own names: a made-up field name is the client's text, not ours.
    names = {f.name.value if f.name.value in known or f.name.value == "__typename" else "?"
             for f in _root_fields(operation.selection_set, _fragments(document))}
    return {
        "operation": operation.name.value[:100] if operation.name else None,
        "operation_type": operation.operation.value,
        "fields": sorted(names),
    }


def validation_rules(settings: Settings) -> list[type[ValidationRule]]:
    """The rules a document must pass besides the GraphQL spec's own (and strawberry's), for these
    settings: depth, aliases, one guess per operation, no control characters in literals."""
    return [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
        OneGuessPerOperation,
        ControlCharacterLiterals,
    ]


def security_extensions(settings: Settings, cache: DocumentCache | None = None) -> list[Callable[[], SchemaExtension]]:
    """Extension factories (one instance per request) for these settings.

    The validation rules are built once: a limiter built per request brings rule classes of
    its own, and a document validated once (`app.schema.documents`) is validated against them.
    """
    rules = validation_rules(settings)
    extensions: list[Callable[[], SchemaExtension]] = [
        functools.partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        functools.partial(AddValidationRules, rules),
        functools.partial(OperationSummary, cache),
        functools.partial(Admission, settings, cache),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return extensions


def is_unexpected(error: GraphQLError) -> bool:
    """A bug: an exception that is neither a GraphQL error (bad request) nor a domain failure."""
    original = error.original_error
    return original is not None and not isinstance(original, (GraphQLError, DomainError))


def present_errors(errors: list[GraphQLError], *, request_id: str | None, settings: Settings,
                   operation: str | None = None, log: bool = True) -> list[GraphQLError]:
    """The errors as the client may see them: bugs masked (and logged), suggestions hidden."""
    shown = []
    for error in errors:
        if is_unexpected(error):
            if log:
                log_unexpected(request_id, error.original_error, operation=operation,
                               path=list(error.path) if error.path else None)
            shown.append(GraphQLError(UNEXPECTED_ERROR, error.nodes, error.source, error.positions,
                                      error.path, extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}))
            continue
        if isinstance(error.original_error, DomainError):
            # A domain failure that a resolver let escape: its catalogue message is safe to show.
            failure = error.original_error.failures[0]
            error = GraphQLError(message_for(failure), error.nodes, error.source, error.positions,
                                 error.path, extensions={"code": failure.code.value})
        if not settings.field_suggestions_enabled and _SUGGESTION.search(error.message):
            error = GraphQLError(_SUGGESTION.sub("", error.message), error.nodes, error.source, error.positions,
                                 error.path, error.original_error, error.extensions)
        shown.append(error)
    return shown
