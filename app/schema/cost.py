"""The cost of a GraphQL operation: how many objects answering it may make the server fetch and
build, counted before anything runs (as GitHub's and Shopify's APIs count theirs).

- A field that returns an object costs 1 for each object it can return, plus what is selected
  inside it; a scalar or enum field costs 0 (`totalCount` 1: it is a count in the database).
- A connection's `edges` are as many as its `first` asks for (the page size when `first` is
  left out, never more than `MAX_PAGE_SIZE`), so nested lists multiply: 100 titles with their
  copies cost 100 × (title + copies).
- A plain list (a title's copies, a month's days) is taken at an assumed length (`LIST_SIZES`).
- Fragments count where they are spread; every fragment of an abstract type is counted (an
  upper bound); `@skip`/`@include` are ignored (the field may run). Introspection costs 1: it
  is bounded by the schema, not by the data.

Everything but the page sizes depends on the document alone, so `plan_cost` reduces a
validated document to a `CostPlan` once (it can be cached beside the document), and
`CostPlan.evaluate` applies each request's variables to it: a few multiplications.
`operation_cost` does both. None of it depends on strawberry or on how the operation is
executed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Union

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLInterfaceType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.language import DocumentNode
from graphql.utilities import get_operation_ast

from app.schema.base import DEFAULT_PAGE_SIZE

# Assumed length of the plain lists (not connections) that return objects, by `Type.field`.
LIST_SIZES: Mapping[str, int] = {
    "CalendarMonth.days": 31,
    "Title.items": 10,
}
DEFAULT_LIST_SIZE = 10
# Scalar fields that cost work of their own.
FIELD_COSTS: Mapping[str, int] = {}
_COUNT_FIELD = "totalCount"
_PAGE_ARGUMENT = "first"
_PAGED_LISTS = frozenset({"edges", "nodes"})


@dataclass(frozen=True)
class PageSize:
    """A connection's `first`: a literal, or a variable (with the default when it is not given)."""

    literal: int | None = None
    variable: str | None = None
    default: int | None = None

    def value(self, variables: Mapping[str, Any], max_page_size: int) -> int:
        raw: Any = self.literal
        if self.variable is not None:
            raw = variables.get(self.variable, self.default) if isinstance(variables, Mapping) else self.default
        if raw is None:
            raw = DEFAULT_PAGE_SIZE
        if isinstance(raw, bool) or not isinstance(raw, int):
            # Refused when the operation runs; until then, the largest page it could be.
            return max_page_size
        return max(0, min(raw, max_page_size))


Count = Union[int, PageSize]


@dataclass(frozen=True)
class CostPlan:
    """An operation's cost as `fixed` plus, per variable-sized list, count × cost of one item."""

    fixed: int
    lists: tuple[tuple[PageSize, CostPlan], ...] = ()

    def evaluate(self, variables: Mapping[str, Any] | None, max_page_size: int) -> int:
        """The cost with these variables (a page size never above `max_page_size`)."""
        values = variables if isinstance(variables, Mapping) else {}
        return self.fixed + sum(size.value(values, max_page_size) * item.evaluate(values, max_page_size)
                                for size, item in self.lists)


def operation_cost(document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None,
                   schema: GraphQLSchema, max_page_size: int) -> int:
    """The cost of the operation `operation_name` of a validated document with these variables."""
    return plan_cost(document, operation_name, schema).evaluate(variables, max_page_size)


def plan_cost(document: DocumentNode, operation_name: str | None, schema: GraphQLSchema) -> CostPlan:
    """What the cost of an operation depends on, from the document alone (cacheable with it)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return CostPlan(0)
    root = schema.get_root_type(operation.operation)
    if root is None:
        return CostPlan(0)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    variable_defaults = {
        d.variable.name.value: d.default_value.value if isinstance(d.default_value, IntValueNode) else None
        for d in operation.variable_definitions or ()
    }
    return _Planner(schema, fragments, variable_defaults).selection(root, operation.selection_set, None)


class _Planner:
    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode],
                 variable_defaults: Mapping[str, str | None]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variable_defaults = variable_defaults

    def selection(self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None,
                  page: PageSize | None, seen: frozenset[str] = frozenset()) -> CostPlan:
        """The cost of a selection set on `parent`; `page` sizes the edges of a connection."""
        fixed = 0
        lists: list[tuple[PageSize, CostPlan]] = []
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                part = self.field(parent, node, page)
            elif isinstance(node, InlineFragmentNode):
                condition = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                part = self.selection(condition or parent, node.selection_set, page, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                fragment = self.fragments.get(node.name.value)
                if fragment is None:
                    continue
                condition = self.schema.get_type(fragment.type_condition.name.value) or parent
                part = self.selection(condition, fragment.selection_set, page, seen | {node.name.value})
            else:
                continue
            fixed += part.fixed
            lists += part.lists
        return CostPlan(fixed, tuple(lists))

    def field(self, parent: GraphQLNamedType, node: FieldNode, page: PageSize | None) -> CostPlan:
        name = node.name.value
        if name.startswith("__"):
            return CostPlan(0 if name == "__typename" else 1)
        fields = parent.fields if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)) else {}
        definition = fields.get(name)
        if definition is None:
            return CostPlan(0)
        type_, is_list = _unwrap(definition.type)
        key = f"{parent.name}.{name}"
        if not isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)) and node.selection_set is None:
            return CostPlan(FIELD_COSTS.get(key, 1 if name == _COUNT_FIELD else 0))
        inner_page = self.page_size(node) if _PAGE_ARGUMENT in definition.args else None
        item = self.selection(type_, node.selection_set, inner_page)
        item = CostPlan(item.fixed + 1, item.lists)
        if not is_list:
            return item
        count: Count = page if page is not None and name in _PAGED_LISTS else LIST_SIZES.get(key, DEFAULT_LIST_SIZE)
        if isinstance(count, int):
            return _times(count, item)
        return CostPlan(0, ((count, item),))

    def page_size(self, node: FieldNode) -> PageSize:
        for argument in node.arguments or ():
            if argument.name.value != _PAGE_ARGUMENT:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return PageSize(literal=int(value.value))
            if isinstance(value, VariableNode):
                default = self.variable_defaults.get(value.name.value)
                return PageSize(variable=value.name.value, default=int(default) if default is not None else None)
        return PageSize()


def _times(count: int, plan: CostPlan) -> CostPlan:
    """`count` copies of a plan: the fixed part multiplied, each variable list `count` times over."""
    return CostPlan(count * plan.fixed, tuple((size, _times(count, item)) for size, item in plan.lists))


def _unwrap(type_: Any) -> tuple[GraphQLNamedType, bool]:
    """The named type under non-null and list wrappers, and whether a list was among them."""
    is_list = False
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        is_list = is_list or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    return type_, is_list
