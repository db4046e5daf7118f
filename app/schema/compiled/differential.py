"""Differential mode (`GRAPHQL_EXECUTION=differential`): every request with a plan runs both ways
against the same database state, and the two answers are compared byte for byte.

A mutation's root resolvers run once: the first run records what they returned (or raised) and
the second replays it (`MUTATION_ROOTS`, `MutationRoots`), so nothing happens twice; everything
below the root fields, and every field of a query, resolves in both runs. A document seen for
the first time is interpreted first (which validates it), then compiled; a known one is compiled
first. The client gets the first answer. A difference is logged as `compiled execution differs`
and kept in `DIFFERENTIAL` (the test suite fails on any).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from app.schema.compiled import MUTATION_ROOTS
from app.web.request_log import annotate, log_unexpected, request_id

if TYPE_CHECKING:
    from starlette.requests import Request

    from app.schema.context import Context
    from app.schema.view import GraphQLView


class DifferentialLog:
    """In this process: how many requests ran both ways, and each whose answers differed."""

    def __init__(self) -> None:
        self.compared = 0
        self.mismatches: list[dict[str, Any]] = []

    def clear(self) -> None:
        self.compared, self.mismatches = 0, []


DIFFERENTIAL = DifferentialLog()


class Differential:
    def __init__(self, view: GraphQLView) -> None:
        self.view = view

    async def run(self, request: Request, data: GraphQLRequestData, context: Context,
                  found: tuple[Any, Any, Any]) -> ExecutionResult:
        """A known document: compiled first, then graphql-core replaying the mutation's roots."""
        view = self.view
        first, roots = await view.execute_plan(data, context, found)
        token = MUTATION_ROOTS.set(("replay", roots))
        try:
            second = await view.interpret(data, await self._second_context(request, context))
        finally:
            MUTATION_ROOTS.reset(token)
        self.compare(request, data, first, second)
        return first

    async def first_sight(self, request: Request, data: GraphQLRequestData, context: Context) -> ExecutionResult:
        """A document not seen before: graphql-core first (which validates and caches it),
        recording the mutation's roots, then its plan replaying them."""
        view = self.view
        roots: dict[str, tuple[Any, bool]] = {}
        token = MUTATION_ROOTS.set(("record", roots))
        try:
            first = await view.interpret(data, context)
        finally:
            MUTATION_ROOTS.reset(token)
        found = view.plan(request, data)
        annotate(request.state, execution="interpreted")
        if found is None or (found[0].serial and set(roots) != {f.key for f in found[0].root.fields}):
            return first  # no plan, or graphql-core stopped before every root field ran
        second, _roots = await view.execute_plan(data, await self._second_context(request, context), found,
                                                 replay=roots)
        self.compare(request, data, second, first)
        return first

    async def _second_context(self, request: Request, first: Context) -> Context:
        """A fresh context for the second run, in the state the first began in: the request's
        session already looked up (as admission does before every execution). Otherwise the second
        run alone waits for that lookup, and graphql-core's order of errors, which follows its
        event loop, would differ for that reason only."""
        context = await self.view.get_context(request, first.response)
        if first.session_looked_up:
            await context.session()
        return context

    def compare(self, request: Request, data: GraphQLRequestData, compiled: ExecutionResult,
                interpreted: ExecutionResult) -> None:
        view = self.view
        ours = view.encode_json(view.presented(request, compiled))
        theirs = view.encode_json(view.presented(request, interpreted))
        DIFFERENTIAL.compared += 1
        if ours != theirs:
            DIFFERENTIAL.mismatches.append({"operation": data.operation_name, "query": data.query,
                                            "variables": data.variables, "compiled": ours, "interpreted": theirs})
            log_unexpected(request_id(request.state), AssertionError("compiled execution differs"),
                           operation=getattr(request.state, "log", {}).get("operation"))
