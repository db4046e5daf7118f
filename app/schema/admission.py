"""Whether a validated operation may run, decided before anything executes:

- **Text**: no control characters (NUL and the other C0 controls but tab and line breaks) in
  string literals (`ControlCharacterLiterals`, a validation rule: once per document) or in
  variables. No keyboard types them, PostgreSQL refuses NUL, and SQLite's full-text search
  chokes on it. Lone surrogates never get this far: the view's JSON parser refuses them.
- **Cost** (`app.schema.cost`): an operation that costs more than `MAX_QUERY_COST` is refused
  with `COST_LIMIT_EXCEEDED`, its cost and the budget.
- **Guests' rate**: a guest's address may spend `GUEST_COST_PER_MINUTE` a minute (shared by
  every server process: counted in the database), then gets `RATE_LIMITED` until the minute
  ends. Logged-in patrons and staff are not counted.

A client that sends `"extensions": {"cost": true}` with its request gets the cost (and, as a
guest, what remains of the minute's budget) in the response's `extensions.cost`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, AsyncIterator

from graphql import DocumentNode, ExecutionResult, GraphQLError, StringValueNode, ValidationRule
from strawberry.extensions import SchemaExtension

from app.domain import throttle
from app.schema.cost import plan_cost
from app.schema.documents import DocumentCache
from app.settings import Settings

BAD_USER_INPUT = "BAD_USER_INPUT"
COST_LIMIT_EXCEEDED = "COST_LIMIT_EXCEEDED"
RATE_LIMITED = "RATE_LIMITED"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_MESSAGE = "Text may not contain control characters (U+0000–U+001F other than tab and line breaks, U+007F)."


def has_control_characters(value: Any) -> bool:
    """Whether a string anywhere in a JSON value (keys included) holds a control character."""
    if isinstance(value, str):
        return _CONTROL.search(value) is not None
    if isinstance(value, dict):
        return any(has_control_characters(k) or has_control_characters(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_control_characters(v) for v in value)
    return False


class ControlCharacterLiterals(ValidationRule):
    """String literals in the document hold no control characters."""

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if _CONTROL.search(node.value):
            self.report_error(GraphQLError(_CONTROL_MESSAGE, node, extensions={"code": BAD_USER_INPUT}))


@dataclass(frozen=True)
class Admitted:
    """The decision on one request: a refusal (or None), and the cost report the client asked for."""

    refusal: GraphQLError | None
    report: dict[str, Any] | None

    @property
    def extensions(self) -> dict[str, Any]:
        return {"cost": self.report} if self.report is not None else {}


async def admit(settings: Settings, cache: DocumentCache | None, schema: Any, document: DocumentNode, query: Any,
                operation_name: Any, variables: Any, operation_extensions: Any, context: Any) -> Admitted:
    """Decide whether this operation may run (once per request: a request run both ways in
    differential mode is charged once, and both runs get the same answer)."""
    state = context.request.state
    decided = getattr(state, "admitted", None)
    if decided is None:
        decided = await _decide(settings, cache, schema, document, query, operation_name, variables,
                                operation_extensions, context)
        state.admitted = decided
    return decided


async def _decide(settings: Settings, cache: DocumentCache | None, schema: Any, document: DocumentNode, query: Any,
                  operation_name: Any, variables: Any, operation_extensions: Any, context: Any) -> Admitted:
    if has_control_characters(variables):
        return Admitted(GraphQLError(_CONTROL_MESSAGE, extensions={"code": BAD_USER_INPUT}), None)

    def compute() -> Any:
        return plan_cost(document, operation_name, schema)

    plan = compute() if cache is None else cache.memo(cache.costs, query, operation_name, compute)
    cost = plan.evaluate(variables, settings.max_page_size)
    budget = settings.max_query_cost
    asked = isinstance(operation_extensions, dict) and operation_extensions.get("cost") is True
    report = {"requested": cost, "limit": budget} if asked else None
    if cost > budget:
        return Admitted(GraphQLError(
            f"This operation costs {cost}, more than the {budget} allowed: ask for fewer items "
            "(a smaller `first`) or fewer nested lists.",
            extensions={"code": COST_LIMIT_EXCEEDED, "cost": cost, "budget": budget},
        ), report)
    if settings.guest_cost_per_minute <= 0 or await context.session() is not None:
        return Admitted(None, report)
    spending = await throttle.charge_guest(context.deps, context.client_address, cost)
    if report is not None:
        report["guest"] = {"limit": spending.limit, "remaining": spending.remaining,
                           "resetSeconds": spending.reset_seconds}
    if spending.exceeded:
        return Admitted(GraphQLError(
            f"Guests at this address have used this minute's budget; try again in {spending.reset_seconds} s "
            "or log in.",
            extensions={"code": RATE_LIMITED, "retryAfter": spending.reset_seconds},
        ), report)
    return Admitted(None, report)


class Admission(SchemaExtension):
    """Refuse an operation with control characters in its variables, above the cost budget, or
    from a guest address over its rate; report the cost when the client asks."""

    def __init__(self, settings: Settings, cache: DocumentCache | None = None) -> None:
        self.settings = settings
        self.cache = cache
        self.admitted: Admitted | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        if ec.graphql_document is not None:
            self.admitted = await admit(self.settings, self.cache, ec.schema._schema, ec.graphql_document, ec.query,
                                        ec.operation_name, ec.variables, ec.operation_extensions, ec.context)
            if self.admitted.refusal is not None:
                ec.result = ExecutionResult(data=None, errors=[self.admitted.refusal])
        yield

    def get_results(self) -> dict[str, Any]:
        return self.admitted.extensions if self.admitted is not None else {}
