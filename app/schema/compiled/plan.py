"""From a validated operation to an execution plan (the GraphQL spec's CollectFields, done once).

For every selected field the plan says, ahead of any request: the response key, how the value
is obtained (an attribute, `__typename`, or the field's resolver with its arguments already
coerced when they are literals), and how the value is completed (a leaf's serializer, a list of
what, an object's own plan, the object plans of an abstract type's possible types, non-null or
not). Fields are grouped by graphql-core's own `collect_fields`/`collect_subfields`, so merging,
fragment type conditions and `@skip`/`@include` are exactly the interpreter's.

`@skip`/`@include` may depend on variables: a plan is built for the values those variables have
(`directive_variables` names them, and the caller keys its cache by their values).

What a plan does not cover raises `Unsupported`, and the caller runs the document through
graphql-core instead: introspection, subscriptions, `@defer`/`@stream`, fragment variables,
field middleware, resolvers that are async generators.
"""

from __future__ import annotations

import inspect
from enum import Enum
from dataclasses import dataclass, field
from typing import Any, Callable

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.language import Visitor, visit

# How a field's value is obtained.
ATTRIBUTE = 0  # getattr(source, name): a strawberry field without resolver
TYPENAME = 1  # __typename
RESOLVER = 2  # the field's own Python resolver, called directly
WRAPPED = 3  # strawberry's resolve function (field extensions): called as graphql-core would
NODE_ID = 4  # relay's Node.id with strawberry's own resolve_id/resolve_typename: base64("Type:id")

# How a value is completed.
LEAF = 0
LIST = 1
OBJECT = 2
ABSTRACT = 3

_STRAWBERRY_FIELD = "strawberry-definition"
_IMMUTABLE = (type(None), bool, int, float, str, Enum)


class Unsupported(Exception):
    """The operation uses something the plan does not cover: run it through graphql-core."""


@dataclass(slots=True, eq=False)
class Completion:
    """How to complete a value of one output type (the spec's CompleteValue, decided once)."""

    kind: int
    non_null: bool
    type: GraphQLOutputType  # the type without its NonNull wrapper
    serialize: Callable[[Any], Any] | None = None  # LEAF
    fast_type: type | None = None  # LEAF: values of exactly this type serialize to themselves
    exact_type: type | None = None  # LEAF: as fast_type, but never int (whose range is checked)
    enum_names: dict[Any, str] | None = None  # LEAF enums: value -> name
    item: Completion | None = None  # LIST
    object: ObjectPlan | None = None  # OBJECT
    resolve_type: Callable[..., Any] | None = None  # ABSTRACT
    possible: dict[str, ObjectPlan] = field(default_factory=dict)  # ABSTRACT: by type name


@dataclass(slots=True, eq=False)
class FieldPlan:
    """One response key of an object: how its value is obtained and completed."""

    key: str
    name: str
    nodes: list[FieldNode]
    parent_type: GraphQLObjectType
    field_def: GraphQLField | None
    how: int
    completion: Completion
    attribute: str = ""  # ATTRIBUTE
    resolver: Callable[..., Any] | None = None  # RESOLVER / WRAPPED
    is_async: bool = False  # RESOLVER: an `async def` (always returns a coroutine)
    pass_source: bool = False  # RESOLVER: the source is its first positional argument
    source_kwarg: str | None = None  # RESOLVER: `root`/`parent` parameter name
    info_kwarg: str | None = None  # RESOLVER: `info` parameter name
    strawberry_field: Any = None  # RESOLVER: for the Info object
    node_class: type | None = None  # NODE_ID: sources of exactly this class take the shortcut
    static_args: dict[str, Any] | None = None  # arguments ready to pass (no variables in them)
    dynamic_args: bool = False  # arguments hold variables: coerced per request
    convert: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # graphql values -> Python
    static_kwargs: dict[str, Any] | None = None  # static_args converted, when they are immutable values


@dataclass(slots=True, eq=False)
class ObjectPlan:
    """The fields of one object type under one selection, in response order."""

    type: GraphQLObjectType
    fields: list[FieldPlan]
    is_type_of: Callable[[Any, Any], Any] | None


@dataclass(slots=True, eq=False)
class OperationPlan:
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    root: ObjectPlan
    serial: bool  # mutations: root fields one after another


def find_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation to run, as graphql-core picks it (None where it would report an error)."""
    found = None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if operation_name is None:
                if found is not None:
                    return None
                found = definition
            elif definition.name and definition.name.value == operation_name:
                found = definition
    return found


def directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """Names of the variables used by `@skip`/`@include`/`@defer`/`@stream` arguments."""
    names: set[str] = set()

    class Finder(Visitor):
        def enter_directive(self, node, *_args):  # noqa: ANN001
            for argument in node.arguments or ():
                visit(argument, VariableFinder())

    class VariableFinder(Visitor):
        def enter_variable(self, node: VariableNode, *_args):  # noqa: ANN001
            names.add(node.name.value)

    visit(document, Finder())
    return tuple(sorted(names))


class Compiler:
    """Builds plans against one strawberry schema (its graphql-core schema and converter)."""

    def __init__(self, strawberry_schema: Any) -> None:
        self.strawberry_schema = strawberry_schema
        self.schema: GraphQLSchema = strawberry_schema._schema
        converter = strawberry_schema.schema_converter
        self._config = converter.config
        self._scalar_registry = converter.scalar_registry

    def compile(self, document: DocumentNode, operation_name: str | None,
                variable_values: VariableValues) -> OperationPlan:
        """The plan of `operation_name` in `document`, for the `@skip`/`@include` values that
        `variable_values` gives (only those variables matter to the plan)."""
        operation = find_operation(document, operation_name)
        if operation is None:
            raise Unsupported("no single operation to run")
        if operation.operation is OperationType.SUBSCRIPTION:
            raise Unsupported("subscription")
        fragments: dict[str, FragmentDefinitionNode] = {}
        details: dict[str, FragmentDetails] = {}
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                if definition.variable_definitions:
                    raise Unsupported("fragment variables")
                fragments[definition.name.value] = definition
                details[definition.name.value] = FragmentDetails(definition, None)
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            raise Unsupported("no root type")
        self._context = (details, variable_values, operation)
        grouped, defers, _forbidden = collect_fields(self.schema, details, variable_values, root_type, operation)
        if defers:
            raise Unsupported("@defer")
        root = ObjectPlan(root_type, self._fields(root_type, grouped, variable_values), None)
        return OperationPlan(operation, fragments, root, serial=operation.operation is OperationType.MUTATION)

    # --- fields ---------------------------------------------------------------------------

    def _fields(self, parent: GraphQLObjectType, grouped: dict[str, FieldDetailsList],
                variable_values: VariableValues) -> list[FieldPlan]:
        plans = []
        for key, details in grouped.items():
            nodes = [d.node for d in details]
            if any(d.defer_usage is not None or d.fragment_variable_values is not None for d in details):
                raise Unsupported("@defer or fragment variables")
            name = nodes[0].name.value
            if any(n.directives and any(d.name.value == "stream" for d in n.directives) for n in nodes):
                raise Unsupported("@stream")
            if name == "__typename":
                plans.append(FieldPlan(key, name, nodes, parent, None, TYPENAME,
                                       Completion(LEAF, True, GraphQLString, GraphQLString.coerce_output_value, str, str)))
                continue
            if name.startswith("__"):
                raise Unsupported("introspection")
            field_def = parent.fields.get(name)
            if field_def is None:  # graphql-core skips unknown fields (validation refuses them)
                continue
            plan = FieldPlan(key, name, nodes, parent, field_def, ATTRIBUTE,
                             self._completion(field_def.type, parent, details, variable_values))
            self._how(plan, field_def, nodes[0], variable_values)
            plans.append(plan)
        return plans

    def _how(self, plan: FieldPlan, field_def: GraphQLField, node: FieldNode, variable_values: VariableValues) -> None:
        """Decide how the field's value is obtained, and prepare its arguments."""
        resolve = field_def.resolve
        if resolve is None:
            raise Unsupported("field without resolve function")
        sfield = (field_def.extensions or {}).get(_STRAWBERRY_FIELD)
        if sfield is None:
            raise Unsupported("field not defined by strawberry")
        if field_def.args or node.arguments:
            if _uses_variables(node):
                plan.dynamic_args = True
            else:
                plan.static_args = get_argument_values(field_def, node, variable_values)
        if getattr(resolve, "_is_default", False) and sfield.is_basic_field:
            if self._config.default_resolver is not getattr:
                raise Unsupported("custom default resolver")
            plan.how, plan.attribute = ATTRIBUTE, sfield.python_name
            return
        resolver = sfield.base_resolver
        direct = (resolver is not None and not sfield.extensions and callable(resolver.wrapped_func)
                  and not inspect.isasyncgenfunction(resolver.wrapped_func)
                  and not self.strawberry_schema.schema_converter._get_field_exception_handlers(sfield))
        if not direct:
            if resolver is not None and inspect.isasyncgenfunction(resolver.wrapped_func):
                raise Unsupported("async generator resolver")
            plan.how, plan.resolver = WRAPPED, resolve
            return
        plan.how = RESOLVER
        plan.resolver = resolver.wrapped_func
        node_class = _default_node_id(sfield, plan.parent_type)
        if node_class is not None:
            plan.how, plan.node_class, plan.attribute = NODE_ID, node_class, node_class.resolve_id_attr()
        plan.is_async = resolver.is_async
        plan.pass_source = resolver.self_parameter is not None
        for parameter in (resolver.root_parameter, resolver.parent_parameter):
            if parameter is not None:
                if plan.source_kwarg is not None:
                    raise Unsupported("root and parent parameters")
                plan.source_kwarg = parameter.name
        plan.info_kwarg = resolver.info_parameter.name if resolver.info_parameter else None
        plan.strawberry_field = sfield
        if plan.static_args is not None or plan.dynamic_args:
            plan.convert = self._converter(sfield)
            if plan.static_args is not None:
                converted = plan.convert(plan.static_args)
                # Numbers, strings, enums: converted once. Input objects and lists are converted per
                # call, so that a resolver gets objects of its own (it may keep or change them).
                if all(isinstance(v, _IMMUTABLE) for v in converted.values()):
                    plan.static_kwargs = converted

    def _converter(self, sfield: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """graphql-core's coerced arguments -> the resolver's keyword arguments (strawberry's own
        conversion: Python names, input classes, enums)."""
        from strawberry.types.arguments import convert_arguments

        arguments, config, registry = sfield.arguments, self._config, self._scalar_registry
        extensions = sfield.extensions

        def convert(values: dict[str, Any]) -> dict[str, Any]:
            kwargs = convert_arguments(values, arguments, scalar_registry=registry, config=config)
            for extension in extensions:
                kwargs = extension.map_arguments(kwargs)
            return kwargs

        return convert

    # --- completion -----------------------------------------------------------------------

    def _completion(self, type_: GraphQLOutputType, parent: GraphQLObjectType, details: FieldDetailsList,
                    variable_values: VariableValues) -> Completion:
        non_null = is_non_null_type(type_)
        inner = type_.of_type if non_null else type_  # type: ignore[union-attr]
        if is_leaf_type(inner):
            return self._leaf(inner, non_null)
        if is_list_type(inner):
            item = self._completion(inner.of_type, parent, details, variable_values)  # type: ignore[union-attr]
            return Completion(LIST, non_null, inner, item=item)
        if is_object_type(inner):
            return Completion(OBJECT, non_null, inner, object=self._object(inner, details, variable_values))
        if is_abstract_type(inner):
            possible = {t.name: self._object(t, details, variable_values)
                        for t in self.schema.get_possible_types(inner)}  # type: ignore[arg-type]
            return Completion(ABSTRACT, non_null, inner, resolve_type=inner.resolve_type, possible=possible)  # type: ignore[union-attr]
        raise Unsupported(f"output type {inner}")

    def _object(self, type_: GraphQLObjectType, details: FieldDetailsList, variable_values: VariableValues) -> ObjectPlan:
        fragments, _values, operation = self._context
        grouped, defers, _forbidden = collect_subfields(self.schema, fragments, variable_values, operation, type_, details)
        if defers:
            raise Unsupported("@defer")
        is_type_of = type_.is_type_of
        if is_type_of is not None and not _is_strawberry_is_type_of(is_type_of):
            raise Unsupported("custom is_type_of")
        return ObjectPlan(type_, self._fields(type_, grouped, variable_values), is_type_of)

    def _leaf(self, type_: Any, non_null: bool) -> Completion:
        fast: type | None = None
        if _serializes_str_as_itself(type_):
            fast = str
        elif type_ is GraphQLBoolean:
            fast = bool
        elif type_ is GraphQLInt:
            fast = int  # and within 32 bits: checked where it is used
        enum_names = None
        if isinstance(type_, GraphQLEnumType):
            enum_names = dict(type_._value_lookup)  # what coerce_output_value looks up first
        exact = fast if fast is not int else None
        return Completion(LEAF, non_null, type_, type_.coerce_output_value, fast, exact, enum_names)


def _default_node_id(sfield: Any, parent: GraphQLObjectType) -> type | None:
    """The class whose `id` is relay's default GlobalID (type name and the NodeID attribute), if
    this field is that `id`: then `id` is base64("<parent type>:<attribute>") with no resolver call."""
    from strawberry import relay

    definition = (parent.extensions or {}).get("strawberry-definition")
    origin = getattr(definition, "origin", None)
    if sfield.python_name != "_id" or not isinstance(origin, type) or not issubclass(origin, relay.Node):
        return None
    defaults = ("_id", "resolve_id", "resolve_typename", "resolve_id_attr")
    if any(getattr(origin, name).__func__ is not getattr(relay.Node, name).__func__ for name in defaults[1:]):
        return None
    return origin


def _serializes_str_as_itself(type_: Any) -> bool:
    """graphql-core's String and ID (and strawberry's ID, which uses ID's serializer) return a str unchanged."""
    from graphql.type.scalars import serialize_id, serialize_string

    return type_.coerce_output_value in (serialize_string, serialize_id)


def _uses_variables(node: FieldNode) -> bool:
    found = False

    class Finder(Visitor):
        def enter_variable(self, *_args):  # noqa: ANN001
            nonlocal found
            found = True

    for argument in node.arguments or ():
        visit(argument, Finder())
    return found


def _is_strawberry_is_type_of(function: Callable[..., Any]) -> bool:
    """Strawberry's generated `is_type_of` ignores its `info` argument (so a plan passes none)."""
    return function.__module__.startswith("strawberry.") and function.__name__ == "is_type_of"


__all__ = [
    "ABSTRACT", "ATTRIBUTE", "Compiler", "Completion", "FieldPlan", "GraphQLError", "LEAF", "LIST",
    "NODE_ID", "OBJECT", "ObjectPlan", "OperationPlan", "RESOLVER", "TYPENAME", "Unsupported", "WRAPPED",
    "directive_variables", "find_operation",
]
