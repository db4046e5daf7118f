"""Running a plan: the GraphQL spec's ExecuteSelectionSet, CompleteValue and field errors.

A value completes where it is found: synchronous values at once, depth first, in response
order; awaitables (async resolvers, DataLoader futures) are set aside and gathered a level at a
time, so a page of twenty titles waits for its loaders once, not twenty times. Each completed
value is written straight into its place in the response (`container[key]`).

Field errors follow the spec and graphql-core:
- an error is located at the failing field's path, with its nodes' locations;
- a nullable position becomes null and the error is recorded;
- a non-null position passes the null to its parent object (or list), up to the nearest
  nullable one, or to `data` itself; the object's remaining fields are not executed;
- an error below a position that was already nulled is dropped (`Frame.dead`).

Mutations run their root fields one after another, each with everything below it.
"""

from __future__ import annotations

from base64 import b64encode
from functools import cached_property
from typing import Any, Callable

from graphql import GraphQLError, located_error
from graphql.execution.values import VariableValues, get_argument_values
from graphql.pyutils import Path, Undefined, inspect, is_iterable
from graphql.pyutils import is_awaitable as _graphql_is_awaitable
from graphql.type import GraphQLObjectType
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo as _ResolveInfo

from app.schema.awaitable import is_awaitable as _is_awaitable
from app.schema.compiled.settle import settle
from app.schema.compiled.plan import (
    ABSTRACT,
    ATTRIBUTE,
    LEAF,
    NODE_ID,
    LIST,
    OBJECT,
    RESOLVER,
    TYPENAME,
    Completion,
    FieldPlan,
    ObjectPlan,
    OperationPlan,
)

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def lazy_info_class(info_class: type) -> type:
    """The schema's `Info` class, made as resolvers ask for it: most of them only read
    `info.context`, and the raw resolve info (a dozen values and the field's path) is built the
    first time anything else is read, exactly as graphql-core would have built it."""

    class LazyInfo(info_class):  # type: ignore[misc, valid-type]
        def __init__(self, run: Run, f: FieldPlan, path: Path | None) -> None:  # noqa: D107
            self._run, self._plan, self._parent_path, self._field = run, f, path, f.strawberry_field

        @property
        def context(self) -> Any:
            return self._run.context

        @cached_property
        def _raw_info(self) -> Any:
            f = self._plan
            return self._run.info(f, Path(self._parent_path, f.key, f.parent_type.name))

    LazyInfo.__name__ = LazyInfo.__qualname__ = info_class.__name__
    return LazyInfo


class Frame:
    """Where an object or list value sits in the response, and whether it was nulled."""

    __slots__ = ("parent", "container", "key", "nullable", "dead")

    def __init__(self, parent: Frame | None, container: Any, key: Any, nullable: bool) -> None:
        self.parent = parent
        self.container = container
        self.key = key
        self.nullable = nullable
        self.dead = False


def _is_dead(frame: Frame | None) -> bool:
    while frame is not None:
        if frame.dead:
            return True
        frame = frame.parent
    return False


class Run:
    """One execution of a plan: the request's values, the errors, and the awaitables set aside."""

    __slots__ = ("plan", "schema", "context", "root_value", "variables", "errors", "pending",
                 "info_class", "operation_extensions", "resolved_roots", "replay")

    def __init__(self, plan: OperationPlan, schema: Any, context: Any, root_value: Any,
                 variables: VariableValues, info_class: Any, operation_extensions: Any = None) -> None:
        self.plan = plan
        self.schema = schema
        self.context = context
        self.root_value = root_value
        self.variables = variables
        self.info_class = info_class
        self.operation_extensions = operation_extensions
        self.errors: list[GraphQLError] = []
        # (awaitable, how to resume with its outcome, resume's arguments, whether the position is non-null)
        self.pending: list[tuple[Any, Callable[..., None], tuple, bool]] = []
        # Mutations: what each root field's resolver returned (or raised), by response key.
        self.resolved_roots: dict[str, tuple[Any, bool]] = {}
        # Differential mode: root values recorded by graphql-core's run, used instead of resolving.
        self.replay: dict[str, tuple[Any, bool]] | None = None

    # --- errors ---------------------------------------------------------------------------

    def fail(self, frame: Frame, error: GraphQLError) -> None:
        """A non-null position inside `frame` failed: null the nearest nullable frame."""
        if _is_dead(frame):
            return
        while not frame.nullable:
            frame.dead = True
            frame = frame.parent  # the root frame (`data`) is nullable: the walk ends there
        frame.dead = True
        frame.container[frame.key] = None
        self.errors.append(error)

    def record(self, frame: Frame, error: GraphQLError) -> None:
        """A nullable position inside `frame` failed: it is null, the error is kept."""
        if not _is_dead(frame):
            self.errors.append(error)

    def field_error(self, raw: BaseException, f: FieldPlan, path: Path | None, frame: Frame,
                    out: dict) -> None:
        error = located_error(raw, f.nodes, Path(path, f.key, f.parent_type.name).as_list())
        if f.completion.non_null:
            self.fail(frame, error)
        else:
            out[f.key] = None
            self.record(frame, error)

    # --- resolvers ------------------------------------------------------------------------

    def info(self, f: FieldPlan, field_path: Path) -> Any:
        """The raw resolve info graphql-core would build for this field (strawberry's flavour)."""
        plan = self.plan
        return _ResolveInfo(
            f.name, f.nodes, f.field_def.type, f.parent_type, field_path,
            self.schema, plan.fragments, self.root_value, plan.operation, self.variables.coerced,
            self.context, _graphql_is_awaitable, None, None, self.operation_extensions,
        )

    def arguments(self, f: FieldPlan) -> dict[str, Any]:
        """The field's arguments as graphql-core coerces them (from the literals or this request's variables)."""
        if f.static_args is not None:
            return f.static_args
        if f.dynamic_args:
            return get_argument_values(f.field_def, f.nodes[0], self.variables)
        return {}

    def resolve(self, f: FieldPlan, source: Any, path: Path | None) -> Any:
        """The field's value, or an awaitable of it (raises what the resolver raises)."""
        how = f.how
        if how == ATTRIBUTE:
            return getattr(source, f.attribute)
        if how == RESOLVER:
            if f.static_kwargs is not None:
                kwargs = f.static_kwargs.copy()
            else:
                kwargs = f.convert(self.arguments(f)) if f.convert is not None else {}
            if f.source_kwarg is not None:
                kwargs[f.source_kwarg] = source
            if f.info_kwarg is not None:
                kwargs[f.info_kwarg] = self.info_class(self, f, path)
            if f.pass_source:
                return f.resolver(source, **kwargs)
            return f.resolver(**kwargs)
        if how == TYPENAME:
            return f.parent_type.name
        if how == NODE_ID:  # a source that is not exactly the plan's class: relay's own resolver
            return f.resolver(root=source, info=self.info_class(self, f, path))
        return f.resolver(source, self.info(f, Path(path, f.key, f.parent_type.name)), **self.arguments(f))  # WRAPPED

    # --- selection sets -------------------------------------------------------------------

    def execute_fields(self, plan: ObjectPlan, source: Any, path: Path | None, frame: Frame, out: dict) -> None:
        """Every field of `plan` on `source`, written into `out` in response order."""
        for f in plan.fields:
            how = f.how
            try:
                if how == ATTRIBUTE:
                    value = getattr(source, f.attribute)
                elif how == NODE_ID and type(source) is f.node_class and (node_id := getattr(source, f.attribute)) is not None:
                    value = b64encode(f"{f.parent_type.name}:{node_id}".encode()).decode()
                else:
                    value = self.resolve(f, source, path)
                    if f.is_async or _is_awaitable(value):
                        out[f.key] = None  # keeps the key's place in the response
                        self.pending.append((value, self._resume_field, (f, path, frame, out), f.completion.non_null))
                        continue
                c = f.completion
                if c.kind == LEAF:
                    out[f.key] = value if type(value) is c.exact_type else _leaf(c, value, f)
                else:
                    self.complete(c, value, f, Path(path, f.key, f.parent_type.name), frame, out, f.key)
            except Exception as raw:  # noqa: BLE001 - a field error, located and recorded
                self.field_error(raw, f, path, frame, out)
            if frame.dead:
                return  # a non-null field failed: its object is null, the rest is not executed

    def _resume_field(self, value: Any, failed: bool, f: FieldPlan, path: Path | None, frame: Frame, out: dict) -> None:
        if failed:
            self.field_error(value, f, path, frame, out)
        else:
            self.complete_field(f, value, path, frame, out)

    def complete_field(self, f: FieldPlan, value: Any, path: Path | None, frame: Frame, out: dict) -> None:
        c = f.completion
        try:
            if c.kind == LEAF:
                out[f.key] = _leaf(c, value, f)
            else:
                self.complete(c, value, f, Path(path, f.key, f.parent_type.name), frame, out, f.key)
        except Exception as raw:  # noqa: BLE001
            self.field_error(raw, f, path, frame, out)

    # --- values ---------------------------------------------------------------------------

    def complete(self, c: Completion, value: Any, f: FieldPlan, path: Path, frame: Frame,
                 container: Any, key: Any) -> None:
        """Complete a value of a list, object or abstract type into `container[key]`.

        Raises for an error at this very position (the caller locates and handles it); errors
        further down are handled where they happen.
        """
        if isinstance(value, Exception):
            raise value
        if value is None:
            if c.non_null:
                raise TypeError(f"Cannot return null for non-nullable field {f.parent_type}.{f.name}.")
            container[key] = None
            return
        kind = c.kind
        if kind == OBJECT:
            self.complete_object(c.object, value, f, path, Frame(frame, container, key, not c.non_null), container, key)
        elif kind == LIST:
            self.complete_list(c, value, f, path, frame, container, key)
        elif kind == ABSTRACT:
            runtime = self.runtime_type(c, value, f, path)
            self.complete_object(c.possible[runtime.name], value, f, path,
                                 Frame(frame, container, key, not c.non_null), container, key)
        else:  # a leaf inside a list
            container[key] = _leaf(c, value, f)

    def complete_object(self, plan: ObjectPlan, value: Any, f: FieldPlan, path: Path, frame: Frame,
                        container: Any, key: Any) -> None:
        if plan.is_type_of is not None and not plan.is_type_of(value, None):
            raise GraphQLError(f"Expected value of type '{plan.type}' but got: {inspect(value)}.", f.nodes)
        out: dict[str, Any] = {}
        container[key] = out
        self.execute_fields(plan, value, path, frame, out)

    def complete_list(self, c: Completion, value: Any, f: FieldPlan, path: Path, frame: Frame,
                      container: Any, key: Any) -> None:
        if not is_iterable(value):
            raise GraphQLError(f"Expected Iterable, but did not find one for field '{f.parent_type}.{f.name}'.")
        if not isinstance(value, (list, tuple)):
            value = list(value)
        item = c.item
        items: list[Any] = []
        container[key] = items
        if item.kind == LEAF and not any(map(_is_awaitable, value)):
            for index, element in enumerate(value):
                try:
                    if element is None:
                        if item.non_null:
                            raise TypeError(f"Cannot return null for non-nullable field {f.parent_type}.{f.name}.")
                        items.append(None)
                    else:
                        items.append(_leaf(item, element, f))
                except Exception as raw:  # noqa: BLE001
                    error = located_error(raw, f.nodes, Path(path, index, None).as_list())
                    if item.non_null:
                        raise error from None
                    items.append(None)
                    self.record(frame, error)
            return
        own = Frame(frame, container, key, not c.non_null)
        for index, element in enumerate(value):
            items.append(None)
            item_path = Path(path, index, None)
            if _is_awaitable(element):
                self.pending.append((element, self._resume_item, (item, f, item_path, own, items, index),
                                     item.non_null))
                continue
            self._complete_item(item, element, f, item_path, own, items, index)
            if own.dead:
                return

    def _resume_item(self, value: Any, failed: bool, item: Completion, f: FieldPlan, path: Path, frame: Frame,
                     items: list, index: int) -> None:
        if failed:
            self._item_error(value, item, f, path, frame, items, index)
        else:
            self._complete_item(item, value, f, path, frame, items, index)

    def _complete_item(self, item: Completion, value: Any, f: FieldPlan, path: Path, frame: Frame,
                       items: list, index: int) -> None:
        try:
            self.complete(item, value, f, path, frame, items, index)
        except Exception as raw:  # noqa: BLE001
            self._item_error(raw, item, f, path, frame, items, index)

    def _item_error(self, raw: BaseException, item: Completion, f: FieldPlan, path: Path, frame: Frame,
                    items: list, index: int) -> None:
        error = located_error(raw, f.nodes, path.as_list())
        if item.non_null:
            self.fail(frame, error)
        else:
            items[index] = None
            self.record(frame, error)

    def runtime_type(self, c: Completion, value: Any, f: FieldPlan, path: Path) -> GraphQLObjectType:
        """The object type of a value of an interface or union (graphql-core's checks and messages)."""
        from graphql.execution.executor import default_type_resolver

        resolve_type = c.resolve_type or default_type_resolver
        field_path = path
        while isinstance(field_path.key, int):  # a list item: the info is the list field's
            field_path = field_path.prev
        info = self.info(f, field_path)
        name = resolve_type(value, info, c.type)
        if _is_awaitable(name):
            raise GraphQLError("Asynchronous type resolution is not supported.", f.nodes)
        abstract = c.type
        if name is None:
            raise GraphQLError(
                f"Abstract type '{abstract}' must resolve to an Object type at runtime for field"
                f" '{f.parent_type}.{f.name}'. Either the '{abstract}' type should provide a 'resolve_type'"
                " function or each possible type should provide an 'is_type_of' function.", f.nodes)
        if not isinstance(name, str):
            raise GraphQLError(
                f"Abstract type '{abstract}' must resolve to an Object type at runtime for field"
                f" '{f.parent_type}.{f.name}' with value {inspect(value)}, received '{inspect(name)}',"
                " which is not a valid Object type name.", f.nodes)
        runtime = self.schema.get_type(name)
        if runtime is None:
            raise GraphQLError(f"Abstract type '{abstract}' was resolved to a type '{name}'"
                               " that does not exist inside the schema.", f.nodes)
        if not isinstance(runtime, GraphQLObjectType):
            raise GraphQLError(f"Abstract type '{abstract}' was resolved to a non-object type '{name}'.", f.nodes)
        if name not in c.possible:
            raise GraphQLError(f"Runtime Object type '{runtime}' is not a possible type for '{abstract}'.", f.nodes)
        return runtime

    # --- the operation --------------------------------------------------------------------

    async def drain(self) -> None:
        """Settle the awaitables set aside, a level at a time, until none is left.

        Errors are reported in graphql-core's order, which follows its event loop: a non-null
        field's failure reaches (and nulls) its parent through the gathering future, after the
        fields that finished at their first step in the same turn, and after the first steps of
        the fields those started; whatever fails under the nulled parent later is not reported.
        So a level's non-null failures (of a field or a list item) are applied after the next
        level's first steps.
        """
        carried: list[tuple[Any, Any, tuple]] = []  # non-null failures on their way to the parent
        while self.pending or carried:
            batch, self.pending = self.pending, []
            if not batch:
                self._propagate(carried)
                carried = []
                continue
            failing: list[tuple[Any, Any, tuple]] = []
            if len(batch) == 1 and not carried:
                awaitable = batch[0][0]
                try:
                    outcome = (await awaitable, False)
                except Exception as raw:  # noqa: BLE001
                    outcome = (raw, True)
                _settled(batch[0], outcome, failing)
                carried = failing
                continue
            waited: list[bool] = []
            outcomes = await settle([p[0] for p in batch], waited)
            for entry, outcome, late in zip(batch, outcomes, waited):
                if not late:
                    _settled(entry, outcome, failing)
            self._propagate(carried)
            for entry, outcome, late in zip(batch, outcomes, waited):
                if late:
                    _settled(entry, outcome, failing)
            carried = failing

    @staticmethod
    def _propagate(failing: list) -> None:
        for resume, value, args in failing:
            resume(value, True, *args)

    async def execute(self) -> dict[str, Any] | None:
        """The `data` of the response (None when a non-null root field failed)."""
        holder: dict[str, Any] = {"data": None}
        data: dict[str, Any] = {}
        holder["data"] = data
        root = Frame(None, holder, "data", True)
        plan = self.plan
        if not plan.serial:
            self.execute_fields(plan.root, self.root_value, None, root, data)
            await self.drain()
            return holder["data"]
        for f in plan.root.fields:
            try:
                if self.replay is not None:
                    value, failed = self.replay[f.key]
                    if failed:
                        raise value
                else:
                    value = self.resolve(f, self.root_value, None)
                    if f.is_async or _is_awaitable(value):
                        value = await value
            except Exception as raw:  # noqa: BLE001
                self.resolved_roots[f.key] = (raw, True)
                self.field_error(raw, f, None, root, data)
            else:
                self.resolved_roots[f.key] = (value, False)
                self.complete_field(f, value, None, root, data)
            await self.drain()
            if root.dead:
                break
        return holder["data"]


def _leaf(c: Completion, value: Any, f: FieldPlan) -> Any:
    """Serialize a scalar or enum value (graphql-core's `complete_leaf_value`, with shortcuts
    for the common exact types)."""
    if value is None:
        if c.non_null:
            raise TypeError(f"Cannot return null for non-nullable field {f.parent_type}.{f.name}.")
        return None
    if isinstance(value, Exception):
        raise value
    fast = c.fast_type
    if fast is not None and type(value) is fast and (fast is not int or _INT_MIN <= value <= _INT_MAX):
        return value
    names = c.enum_names
    if names is not None:
        try:
            return names[value]
        except (KeyError, TypeError):
            pass
    coerced = c.serialize(value)
    if coerced is None or coerced is Undefined:
        raise TypeError(f"Expected `{inspect(c.type)}.coerce_output_value({inspect(value)})`"
                        f" to return non-nullable value, returned: {inspect(coerced)}")
    return coerced


def _settled(entry: tuple[Any, Callable[..., None], tuple, bool], outcome: tuple[Any, bool], failing: list) -> None:
    """Resume a settled entry of `Run.pending`, setting a non-null position's failure aside
    (`Run.drain`)."""
    _awaitable, resume, args, non_null = entry
    value, failed = outcome
    if failed and non_null:
        failing.append((resume, value, args))
    else:
        resume(value, failed, *args)
