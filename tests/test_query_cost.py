"""What an operation costs, and what happens when it costs too much or a guest asks too often."""

from __future__ import annotations

from datetime import timedelta

import pytest
from graphql import parse

from app import db
from app.schema import schema as exported_schema
from app.schema.cost import DEFAULT_LIST_SIZE, LIST_SIZES, operation_cost, plan_cost
from tests.conftest import http_client
from bench.statements import counting_statements
from tests.support import GraphQLClient, make_patron, make_title

GQL = exported_schema._schema
MAX_PAGE = 100


def cost(document: str, variables: dict | None = None, operation: str | None = None) -> int:
    return operation_cost(parse(document), operation, variables, GQL, MAX_PAGE)


# --- the cost of a document (pure) ----------------------------------------------------------


def test_scalars_are_free_and_each_object_costs_one():
    assert cost("{ __typename }") == 0
    assert cost("{ viewer { id cardNumber nameKana } }") == 1
    assert cost("{ viewer { id notificationSettings { dueDateReminder } } }") == 2


def test_a_connection_costs_its_page_times_what_each_item_selects():
    # connection 1 + pageInfo 1 + first × (edge 1 + title 1); totalCount is a count: 1
    assert cost('{ searchCatalog(first: 30) { totalCount pageInfo { hasNextPage } edges { node { id } } } }') \
        == 1 + 1 + 1 + 30 * 2
    # Without `first`, the default page of 20; never more than the page size limit.
    assert cost('{ searchCatalog { edges { node { id } } } }') == 1 + 20 * 2
    assert cost('{ searchCatalog(first: 100000) { edges { node { id } } } }') == 1 + MAX_PAGE * 2


def test_nested_lists_multiply():
    per_title = 1 + 1 + LIST_SIZES["Title.items"] * 1  # edge, title, its copies
    assert cost('{ searchCatalog(first: 50) { edges { node { items { barcode } } } } }') == 1 + 50 * per_title
    assert cost('{ libraryCalendar(year: 2026, month: 2) { days { events { title } } } }') \
        == 1 + 31 * (1 + DEFAULT_LIST_SIZE)


def test_page_sizes_come_from_variables_and_their_defaults():
    document = "query Q($n: Int = 5) { searchCatalog(first: $n) { edges { node { id } } } }"
    assert cost(document, {"n": 40}) == 1 + 40 * 2
    assert cost(document, {}) == 1 + 5 * 2
    assert cost(document, {"n": None}) == 1 + 20 * 2
    # A value the operation would refuse is taken at its largest until it is refused.
    assert cost(document, {"n": "many"}) == 1 + MAX_PAGE * 2


def test_aliases_and_fragments_count_every_time_they_appear():
    one = cost('{ searchCatalog(first: 100) { edges { node { id title items { barcode } } } } }')
    fifteen = "{ " + " ".join(
        f'a{i}: searchCatalog(first: 100) {{ edges {{ node {{ ...T }} }} }}' for i in range(15)
    ) + " } fragment T on Title { id title items { barcode } }"
    assert cost(fifteen) == 15 * one


def test_the_operation_named_is_the_one_counted():
    document = "query A { viewer { id } } query B { searchCatalog(first: 10) { edges { node { id } } } }"
    assert (cost(document, operation="A"), cost(document, operation="B")) == (1, 21)


def test_a_plan_made_once_gives_the_same_cost_as_counting_afresh():
    """The cached path (plan once, evaluate per request) against the whole computation."""
    document = parse(
        "query Q($a: Int, $b: Int = 3) { viewer { loans(first: $a) { edges { node { title { items { id } } } } } "
        "holds(first: $b) { totalCount edges { node { id title { id } } } } } "
        "c: searchCatalog(first: $a) { edges { node { items { id } } } } }"
    )
    plan = plan_cost(document, "Q", GQL)
    for variables in ({}, {"a": 0}, {"a": 7, "b": 100}, {"a": 1000}, {"b": None}, {"a": "x"}):
        assert plan.evaluate(variables, MAX_PAGE) == operation_cost(document, "Q", variables, GQL, MAX_PAGE)


def test_introspection_is_bounded_by_the_schema_not_counted_by_the_data():
    assert cost("{ __schema { types { name fields { name args { name } } } } }") == 1


# --- refused before anything runs -----------------------------------------------------------

ATTACK = "{ " + " ".join(
    f'a{i}: searchCatalog(keyword: "", first: 100) {{ edges {{ node {{ id title items {{ barcode status }} }} }} }}'
    for i in range(15)
) + " }"


async def test_an_operation_over_the_budget_is_refused_before_it_runs(client, deps, settings):
    await make_title(deps)
    with counting_statements() as statements:
        body = await client.execute(ATTACK)
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"] == {"code": "COST_LIMIT_EXCEEDED", "cost": cost(ATTACK),
                                   "budget": settings.max_query_cost}
    assert statements == []  # not even the guest's counter: nothing ran


async def test_a_search_page_with_its_availability_fits_the_budget(client, deps, settings):
    await make_title(deps)
    document = ('{ searchCatalog(keyword: "", first: 100) { totalCount edges { node { id title author '
                'availability { copies onLoan holdsWaiting } } } } }')
    assert cost(document) <= settings.max_query_cost
    data = await client.query(document)
    assert data["searchCatalog"]["totalCount"] == 1


async def test_the_cost_is_reported_when_the_client_asks(client, deps, settings):
    document = "{ searchCatalog(first: 10) { edges { node { id } } } }"
    response = await client.http.post("/graphql", json={"query": document, "extensions": {"cost": True}})
    report = response.json()["extensions"]["cost"]
    assert report["requested"] == 21 and report["limit"] == settings.max_query_cost
    assert report["guest"]["limit"] == settings.guest_cost_per_minute
    assert report["guest"]["remaining"] == settings.guest_cost_per_minute - 21
    # Not asked, not reported.
    assert "extensions" not in (await client.post(document)).json()


# --- the guests' rate per address ----------------------------------------------------------


async def test_a_guest_address_over_its_minute_budget_waits_for_the_next_minute(settings, clock, deps):
    from app.main import create_app

    app = create_app(settings.replace(guest_cost_per_minute=100), clock, manage_database=False)
    document = "{ searchCatalog(first: 20) { edges { node { id } } } }"  # 41
    async with http_client(app, address="192.0.2.1") as one, http_client(app, address="192.0.2.2") as two:
        first, second, third = [await GraphQLClient(one).execute(document) for _ in range(3)]
        assert "errors" not in first and "errors" not in second
        assert "data" not in third
        assert third["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert 0 < third["errors"][0]["extensions"]["retryAfter"] <= 60
        # Another address has its own budget.
        assert "errors" not in await GraphQLClient(two).execute(document)
        clock.advance(timedelta(seconds=60))
        assert "errors" not in await GraphQLClient(one).execute(document)


async def test_logged_in_patrons_are_not_counted_against_their_address(settings, clock, deps):
    from app.main import create_app

    app = create_app(settings.replace(guest_cost_per_minute=50), clock, manage_database=False)
    await make_patron(deps)
    document = "{ searchCatalog(first: 20) { edges { node { id } } } }"
    async with http_client(app) as http:
        client = GraphQLClient(http)
        await client.login("101234567", "pass1234")
        for _ in range(5):
            assert "errors" not in await client.execute(document)


async def test_every_server_process_spends_the_same_budget(settings, clock, deps):
    """Two apps on one database are two server processes: what one spent, the other counts."""
    from app.main import create_app

    budget = settings.replace(guest_cost_per_minute=100)  # 41 a search: each reaches a tenth, each is written
    first, second = create_app(budget, clock, manage_database=False), create_app(budget, clock, manage_database=False)
    document = "{ searchCatalog(first: 20) { edges { node { id } } } }"  # 41
    async with http_client(first, address="192.0.2.7") as one, http_client(second, address="192.0.2.7") as two:
        assert "errors" not in await GraphQLClient(one).execute(document)
        assert "errors" not in await GraphQLClient(one).execute(document)
        refused = await GraphQLClient(two).execute(document)  # 123 of 100, with the first process's 82
        assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_guest_spending_little_costs_no_write_and_the_budget_still_holds(settings, clock, deps):
    """Spending is written a tenth of the budget at a time; within one process every request is
    decided on the exact sum, so the request that goes over is refused, not a later one."""
    from app.main import create_app

    app = create_app(settings.replace(guest_cost_per_minute=1000), clock, manage_database=False)
    document = "{ searchCatalog(first: 20) { edges { node { id } } } }"  # 41: a tenth every third search
    async with http_client(app, address="192.0.2.8") as http:
        client = GraphQLClient(http)
        with counting_statements() as statements:
            assert "errors" not in await client.execute(document)
            assert "errors" not in await client.execute(document)
        assert not [s for s in statements if "guest_rates" in s]
        for _ in range(22):  # 24 searches: 984
            assert "errors" not in await client.execute(document)
        refused = await client.execute(document)  # 1,025
        assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        clock.advance(timedelta(seconds=60))
        assert "errors" not in await client.execute(document)
    # Written: eight tenths (984); the refused search's 41 and the new minute's were not due.
    assert [row["spent"] for row in await db.fetch("SELECT spent FROM guest_rates")] == [984]


async def test_another_process_lets_through_at_most_a_tenth_it_has_not_written(settings, clock, deps):
    from app.main import create_app

    budget = settings.replace(guest_cost_per_minute=1000)
    first, second = create_app(budget, clock, manage_database=False), create_app(budget, clock, manage_database=False)
    document = "{ searchCatalog(first: 20) { edges { node { id } } } }"  # 41
    async with http_client(first, address="192.0.2.9") as one, http_client(second, address="192.0.2.9") as two:
        for _ in range(24):  # 984, all written (a write every third search)
            assert "errors" not in await GraphQLClient(one).execute(document)
        # The second process has not written yet: its first two searches (82, under a tenth) pass.
        assert "errors" not in await GraphQLClient(two).execute(document)
        assert "errors" not in await GraphQLClient(two).execute(document)
        # The third reaches a tenth, is written, and the total comes back: 984 + 123 > 1000.
        refused = await GraphQLClient(two).execute(document)
        assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_beyond_the_addresses_kept_each_request_is_written_at_once(settings, clock, deps):
    from app.main import create_app

    app = create_app(settings.replace(guest_cost_per_minute=1000), clock, manage_database=False)
    app.state.deps.guest_ledger.MAX_KEPT = 1
    document = "{ searchCatalog(first: 20) { edges { node { id } } } }"  # 41
    async with http_client(app, address="192.0.2.10") as kept, http_client(app, address="192.0.2.11") as other:
        with counting_statements() as statements:
            assert "errors" not in await GraphQLClient(kept).execute(document)
            assert not [s for s in statements if "guest_rates" in s]
            assert "errors" not in await GraphQLClient(other).execute(document)
            assert len([s for s in statements if "guest_rates" in s]) == 1


# --- text no one can type -------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["\x00", "猫\x00", "\x1b[31m", "a\x7f"])
async def test_control_characters_in_variables_are_a_bad_request(client, keyword):
    body = await client.execute("query S($k: String!) { searchCatalog(keyword: $k) { totalCount } }", {"k": keyword})
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_control_characters_in_literals_are_a_bad_request(client):
    body = await client.execute('{ searchCatalog(keyword: "\\u0000") { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_tabs_and_line_breaks_are_ordinary_text(client):
    body = await client.execute("query S($k: String!) { searchCatalog(keyword: $k) { totalCount } }",
                                {"k": "猫\t犬\r\n"})
    assert body["data"]["searchCatalog"]["totalCount"] == 0


async def test_a_lone_surrogate_is_not_text_and_is_refused_as_such(client):
    body = b'{"query": "query S($k: String!) { searchCatalog(keyword: $k) { totalCount } }", "variables": {"k": "\\ud800"}}'
    response = await client.http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
