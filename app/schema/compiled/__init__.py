"""Compiled execution: each known document is turned once into a plan, and requests run the plan.

graphql-core interprets a document on every request: for every field of every object it
collects the selection again, looks the field up, builds a resolve info, coerces the arguments,
wraps the resolver (strawberry adds its own layers) and walks the completion rules. A SPA sends
the same few documents again and again, so all of that is decided once per document
(`plan.py`) and a request only calls resolvers and writes values (`execute.py`).

The plan is used only for a document that passed validation before (`app.schema.documents`:
a document is interpreted the first time it is seen, which also validates and caches it). Anything
a plan does not cover (`plan.Unsupported`: introspection, subscriptions, `@defer`/`@stream`…),
variables that do not coerce, and several operations without a name run through graphql-core
as before; the request log says which way each request went (`execution`).

The two ways are proven equal by differential tests (`tests/test_compiled_differential.py`),
which run the same documents both ways against the same database and compare the responses
byte for byte.
"""

from __future__ import annotations

import inspect
from contextvars import ContextVar
from typing import Any, Callable, Hashable

from graphql import DocumentNode, GraphQLError, OperationType
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from app.schema.compiled.execute import Run, lazy_info_class
from app.schema.compiled.plan import Compiler, OperationPlan, Unsupported, directive_variables, find_operation
from app.schema.documents import BoundedCache

UNSUPPORTED = object()  # cached: this (document, operation) runs through graphql-core

# Differential mode: what the mutation root resolvers of one request returned (or raised), by
# response key. The first run of the request records them; the second run (the other way)
# replays them instead of running the mutation twice.
MUTATION_ROOTS: ContextVar[tuple[str, dict[str, tuple[Any, bool]]] | None] = ContextVar("mutation_roots", default=None)


class MutationRoots(SchemaExtension):
    """Differential mode only (`GRAPHQL_EXECUTION=differential`): graphql-core's run records or
    replays a mutation's root fields (see `MUTATION_ROOTS`); every other field resolves as usual."""

    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        roots = MUTATION_ROOTS.get()
        if roots is None or info.path.prev is not None or info.operation.operation is not OperationType.MUTATION:
            return _next(root, info, *args, **kwargs)
        mode, values = roots
        key = info.path.key
        if mode == "replay":
            value, failed = values[key]
            if failed:
                raise value
            return value
        try:
            value = _next(root, info, *args, **kwargs)
        except Exception as error:
            values[key] = (error, True)
            raise
        if not inspect.isawaitable(value):
            values[key] = (value, False)
            return value

        async def recorded() -> Any:
            try:
                result = await value
            except Exception as error:
                values[key] = (error, True)
                raise
            values[key] = (result, False)
            return result

        return recorded()


class CompiledExecution:
    """Plans for one schema, cached by document text, operation name and directive variables.

    Cache: a bounded LRU of plans. A plan depends only on the schema (fixed for the process) and
    the document, so nothing but the cache bound ever evicts one.
    """

    def __init__(self, strawberry_schema: Any, maxsize: int = 512) -> None:
        self.strawberry_schema = strawberry_schema
        self.schema = strawberry_schema._schema
        self.compiler = Compiler(strawberry_schema)
        self.info_class = lazy_info_class(strawberry_schema.config.info_class)
        self.plans: BoundedCache[Any] = BoundedCache(maxsize)
        self._directive_variables: BoundedCache[tuple[str, ...]] = BoundedCache(maxsize)

    def plan(self, query: str, document: DocumentNode, operation_name: str | None,
             raw_variables: dict[str, Any] | None) -> tuple[OperationPlan, Any] | None:
        """The plan and coerced variables for this request, or None to interpret it."""
        operation = find_operation(document, operation_name)
        if operation is None:
            return None
        variables = get_variable_values(self.schema, operation.variable_definitions or (), raw_variables or {},
                                        max_errors=50)
        if isinstance(variables, list):  # coercion errors: graphql-core reports them
            return None
        names = self._directive_variables.memo(query, lambda: directive_variables(document))
        try:
            key: Hashable = (query, operation_name, tuple(variables.coerced.get(n) for n in names))
            plan = self.plans.get(key)
        except TypeError:  # an unhashable variable value steers a directive: not worth a plan
            return None
        if plan is None:
            try:
                plan = self.compiler.compile(document, operation_name, variables)
            except Unsupported:
                plan = UNSUPPORTED
            self.plans.put(key, plan)
        if plan is UNSUPPORTED:
            return None
        return plan, variables

    def warm(self, query: str, document: DocumentNode, operation_names: list[str | None]) -> None:
        """Build the plans of a document's operations now (those whose plan needs no variable)."""
        if directive_variables(document):
            return  # built per request: the plan depends on the variables' values
        for name in operation_names:
            if len(operation_names) > 1 and name is None:
                continue
            try:
                plan: Any = self.compiler.compile(document, name, VariableValues({}, {}))
            except Unsupported:
                plan = UNSUPPORTED
            self.plans.put((query, name, ()), plan)
            if len(operation_names) == 1:
                self.plans.put((query, None, ()), plan)

    def run(self, plan: OperationPlan, variables: Any, context: Any, root_value: Any = None,
            operation_extensions: dict[str, Any] | None = None,
            replay: dict[str, tuple[Any, bool]] | None = None) -> Run:
        run = Run(plan, self.schema, context, root_value, variables, self.info_class, operation_extensions)
        run.replay = replay
        return run

    async def execute(self, run: Run) -> ExecutionResult:
        """Execute the plan; a failure outside any field is reported as graphql-core's would be."""
        try:
            data = await run.execute()
        except GraphQLError as error:
            return ExecutionResult(data=None, errors=[error])
        except Exception as error:  # noqa: BLE001 - as strawberry's own `execute` reports it
            return ExecutionResult(data=None, errors=[GraphQLError(str(error), original_error=error)])
        return ExecutionResult(data=data, errors=run.errors or None)


__all__ = ["MUTATION_ROOTS", "CompiledExecution", "MutationRoots", "Run", "Unsupported"]
