"""The compiler's own decisions: what becomes a plan, what falls back to graphql-core, and how a
request's way shows in the request log (whether the answers agree is test_compiled_differential)."""

from __future__ import annotations

import json
import logging

import pytest
import strawberry
from graphql import parse
from graphql.execution.values import VariableValues

from app.domain.catalog_search import SearchSort
from app.schema import schema as exported_schema
from app.schema.compiled import CompiledExecution
from app.schema.compiled.plan import ATTRIBUTE, NODE_ID, RESOLVER, TYPENAME, Compiler, Unsupported, directive_variables
from tests.hardening import log_output
from tests.support import make_title

NO_VARIABLES = VariableValues({}, {})


def compile_(text: str, name: str | None = None, variables: VariableValues = NO_VARIABLES):
    return Compiler(exported_schema).compile(parse(text), name, variables)


def test_a_field_is_read_the_cheapest_way_it_can_be():
    plan = compile_("{ searchCatalog(first: 2) { __typename edges { node { id title holdable } } } }")
    [search] = plan.root.fields
    assert search.how == RESOLVER and search.static_kwargs == {"keyword": "", "filter": None, "sort": SearchSort.RELEVANCE,
                                                               "first": 2, "after": None}
    connection = search.completion.object
    typename, edges = connection.fields
    node = edges.completion.item.object.fields[0].completion.object
    how = {f.key: f.how for f in node.fields}
    assert typename.how == TYPENAME
    assert how == {"id": NODE_ID, "title": ATTRIBUTE, "holdable": RESOLVER}


def test_fields_merge_and_aliases_keep_their_order_as_the_spec_collects_them():
    plan = compile_("{ viewer { b: cardNumber id ... on Patron { cardNumber b: cardNumber } id } }")
    viewer = plan.root.fields[0].completion.object
    assert [f.key for f in viewer.fields] == ["b", "id", "cardNumber"]
    assert len(viewer.fields[0].nodes) == 2  # b, merged from two selections


def test_skip_and_include_depend_on_the_variables_the_plan_was_built_for():
    text = "query Q($show: Boolean!) { viewer { cardNumber @include(if: $show) nameKana @skip(if: $show) } }"
    assert directive_variables(parse(text)) == ("show",)
    shown = compile_(text, variables=VariableValues({}, {"show": True}))
    hidden = compile_(text, variables=VariableValues({}, {"show": False}))
    assert [f.key for f in shown.root.fields[0].completion.object.fields] == ["cardNumber"]
    assert [f.key for f in hidden.root.fields[0].completion.object.fields] == ["nameKana"]


def test_the_possible_types_of_an_interface_each_get_their_own_plan():
    plan = compile_('{ node(id: "VGl0bGU6MQ==") { id ... on Title { title } ... on Patron { cardNumber } } }')
    possible = plan.root.fields[0].completion.possible
    assert [f.key for f in possible["Title"].fields] == ["id", "title"]
    assert [f.key for f in possible["Patron"].fields] == ["id", "cardNumber"]
    assert [f.key for f in possible["Loan"].fields] == ["id"]


@pytest.mark.parametrize("text", [
    "{ __schema { types { name } } }",
    '{ __type(name: "Title") { name } }',
    "{ viewer { cardNumber } __schema { queryType { name } } }",
])
def test_introspection_is_left_to_graphql_core(text):
    with pytest.raises(Unsupported):
        compile_(text)


def test_a_mutation_plan_runs_its_root_fields_one_after_another():
    plan = compile_('mutation { a: logout(input: {}) { loggedOut } b: logout(input: {}) { loggedOut } }')
    assert plan.serial and [f.key for f in plan.root.fields] == ["a", "b"]
    assert not compile_("{ viewer { id } }").serial


async def test_the_request_log_says_which_way_each_request_went(client, deps, caplog):
    await make_title(deps)
    caplog.set_level(logging.INFO)
    search = "query S { searchCatalog { totalCount } }"
    await client.query(search)  # first sight: graphql-core validates it
    await client.query(search)  # known: its plan
    await client.query("{ __schema { queryType { name } } }")  # introspection: never compiled
    await client.query("{ __schema { queryType { name } } }")
    ways = [json.loads(line)["execution"] for line in log_output(caplog).splitlines()]
    assert ways == ["interpreted", "compiled", "interpreted", "interpreted"]


async def test_interpreted_mode_runs_every_request_through_graphql_core(settings, clock, caplog):
    from app.main import create_app
    from tests.conftest import http_client
    from tests.support import GraphQLClient

    caplog.set_level(logging.INFO)
    app = create_app(settings.replace(graphql_execution="interpreted"), clock, manage_database=False)
    async with http_client(app) as http:
        for _ in range(2):
            assert await GraphQLClient(http).query("{ __typename }") == {"__typename": "Query"}
    assert [json.loads(line)["execution"] for line in log_output(caplog).splitlines()] == ["interpreted"] * 2



INFO_SEEN: list[dict] = []


@strawberry.type
class _Shelf:
    label: str

    @strawberry.field
    def told(self, info: strawberry.Info, times: int = 1) -> str:
        INFO_SEEN.append({
            "context": info.context, "field": info.field_name, "python": info.python_name,
            "path": info.path.as_list(), "variables": info.variable_values, "root": info.root_value,
            "selected": [s.name for s in info.selected_fields], "operation": info.operation.name.value,
            "extensions": info.input_extensions,
        })
        return self.label * times


@strawberry.type
class _Query:
    @strawberry.field
    def shelves(self) -> list[_Shelf]:
        return [_Shelf(label="a"), _Shelf(label="b")]


async def test_a_resolver_s_info_tells_what_graphql_core_s_would():
    """The compiled run builds a resolver's resolve info only when it reads more than the
    context; whatever it reads is what graphql-core would have handed it."""
    schema = strawberry.Schema(_Query)
    text = "query Q($n: Int!) { shelves { label twice: told(times: $n) } }"
    variables = {"n": 2}
    interpreted = await schema.execute(text, variable_values=variables, context_value="ctx", root_value="root")
    by_core = list(INFO_SEEN)
    INFO_SEEN.clear()
    compiled = CompiledExecution(schema)
    plan, coerced = compiled.plan(text, parse(text), None, variables)
    result = await compiled.execute(compiled.run(plan, coerced, "ctx", "root", {"x": 1}))
    assert result.data == interpreted.data == {"shelves": [{"label": "a", "twice": "aa"}, {"label": "b", "twice": "bb"}]}
    assert [{**s, "extensions": None} for s in INFO_SEEN] == [{**s, "extensions": None} for s in by_core]
    assert INFO_SEEN[0]["path"] == ["shelves", 0, "twice"] and INFO_SEEN[0]["context"] == "ctx"
    assert INFO_SEEN[0]["root"] == "root" and INFO_SEEN[0]["extensions"] == {"x": 1}
