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
from typing import Any, AsyncIterator

from graphql import ExecutionResult, GraphQLError, StringValueNode, ValidationRule
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


class Admission(SchemaExtension):
    """Refuse an operation with control characters in its variables, above the cost budget, or
    from a guest address over its rate; report the cost when the client asks."""

    def __init__(self, settings: Settings, cache: DocumentCache | None = None) -> None:
        self.settings = settings
        self.cache = cache
        self.report: dict[str, Any] | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        error = await self._refusal()
        if error is not None:
            ec.result = ExecutionResult(data=None, errors=[error])
        yield

    async def _refusal(self) -> GraphQLError | None:
        ec = self.execution_context
        if has_control_characters(ec.variables):
            return GraphQLError(_CONTROL_MESSAGE, extensions={"code": BAD_USER_INPUT})
        document = ec.graphql_document
        if document is None:
            return None
        schema = ec.schema._schema

        def compute() -> Any:
            return plan_cost(document, ec.operation_name, schema)

        plan = compute() if self.cache is None else self.cache.memo(self.cache.costs, ec.query, ec.operation_name, compute)
        cost = plan.evaluate(ec.variables, self.settings.max_page_size)
        budget = self.settings.max_query_cost
        asked = isinstance(ec.operation_extensions, dict) and ec.operation_extensions.get("cost") is True
        if asked:
            self.report = {"requested": cost, "limit": budget}
        if cost > budget:
            return GraphQLError(
                f"This operation costs {cost}, more than the {budget} allowed: ask for fewer items "
                "(a smaller `first`) or fewer nested lists.",
                extensions={"code": COST_LIMIT_EXCEEDED, "cost": cost, "budget": budget},
            )
        context = ec.context
        if self.settings.guest_cost_per_minute <= 0 or await context.session() is not None:
            return None
        spending = await throttle.charge_guest(context.deps, context.client_address, cost)
        if asked:
            self.report["guest"] = {"limit": spending.limit, "remaining": spending.remaining,
                                    "resetSeconds": spending.reset_seconds}
        if spending.exceeded:
            return GraphQLError(
                f"Guests at this address have used this minute's budget; try again in {spending.reset_seconds} s "
                "or log in.",
                extensions={"code": RATE_LIMITED, "retryAfter": spending.reset_seconds},
            )
        return None

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.report} if self.report is not None else {}
