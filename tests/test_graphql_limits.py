"""GraphQL abuse limits, one guess per operation, introspection, suggestions, masked errors."""

from __future__ import annotations

import logging

import pytest
from graphql import GraphQLError, build_schema as build_sdl, located_error, parse, validate

from app import db
from app.domain import accounts
from app.domain.errors import DomainError, ErrorCode
from app.main import create_app
from app.models import AuthThrottle
from app.schema.base import KeysetPage, connection_of
from app.schema.security import GUESS_SENSITIVE_FIELDS, OneGuessPerOperation, is_unexpected, present_errors
from tests.conftest import http_client
from tests.hardening import log_output, mutation, production, production_app
from tests.support import GraphQLClient, STAFF_PASSWORD, make_patron, make_staff

LOGIN_INPUT = '{ cardNumber: "101234567", password: "guess%d" }'


def login_guess(i: int, alias: str = "") -> str:
    return f'{alias}login(input: {LOGIN_INPUT % i}) {{ errors {{ code }} }}'


# --- depth, aliases, tokens ---------------------------------------------------------------


async def test_queries_deeper_than_the_limit_are_refused(settings, clock):
    app = create_app(settings.replace(max_query_depth=1), clock, manage_database=False)
    async with http_client(app) as http:
        client = GraphQLClient(http)
        assert await client.query("{ viewer { id } }") == {"viewer": None}
        body = await client.execute("{ viewer { notificationSettings { dueDateReminder } } }")
    assert "data" not in body
    assert "exceeds maximum operation depth of 1" in body["errors"][0]["message"]


async def test_the_default_depth_limit_stops_a_runaway_query(client, settings):
    deep = "{ " + "viewer { " * (settings.max_query_depth + 1) + "id" + " }" * (settings.max_query_depth + 2)
    body = await client.execute(deep)
    assert any("exceeds maximum operation depth" in e["message"] for e in body["errors"])


async def test_a_refused_document_is_refused_every_time_it_comes_back(client, settings):
    # Valid documents are parsed and validated once (app.schema.documents); refused ones never
    # enter that cache, so every rule runs on them again.
    deep = "{ " + "viewer { " * (settings.max_query_depth + 1) + "id" + " }" * (settings.max_query_depth + 2)
    for _ in range(3):
        assert (await client.query("{ viewer { id } }")) == {"viewer": None}
        body = await client.execute(deep)
        assert any("exceeds maximum operation depth" in e["message"] for e in body["errors"])


def test_the_document_cache_keeps_only_the_most_recently_used_documents():
    from app.schema.documents import BoundedCache

    cache: BoundedCache[int] = BoundedCache(maxsize=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (1, None, 3, 2)


async def test_aliases_beyond_the_limit_are_refused(client, settings):
    limit = settings.max_aliases
    allowed = "{ " + " ".join(f"v{i}: viewer {{ id }}" for i in range(limit)) + " }"
    assert (await client.query(allowed))["v0"] is None
    too_many = "{ " + " ".join(f"v{i}: viewer {{ id }}" for i in range(limit + 1)) + " }"
    body = await client.execute(too_many)
    assert body["errors"] == [{"message": f"{limit + 1} aliases found. Allowed: {limit}",
                               "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]


async def test_aliases_hidden_in_fragments_count_too(client, settings):
    fragment = "fragment F on Query { " + " ".join(f"v{i}: viewer {{ id }}" for i in range(settings.max_aliases + 1)) + " }"
    body = await client.execute("{ ...F } " + fragment)
    assert "aliases found" in body["errors"][0]["message"]


async def test_documents_with_too_many_tokens_are_not_even_parsed(client, settings):
    body = await client.execute("{ viewer { " + "id " * settings.max_tokens + "} }")
    assert "data" not in body
    assert f"Document contains more than {settings.max_tokens} tokens" in body["errors"][0]["message"]


async def test_deeply_nested_input_values_are_refused_without_a_crash(client):
    body = await client.execute("{ node(id: " + "[" * 5000 + "]" * 5000 + ") { id } }")
    assert "data" not in body and "nested too deeply" in body["errors"][0]["message"]


async def test_graphiqls_introspection_query_fits_the_default_limits(client):
    from graphql import get_introspection_query

    query = get_introspection_query(descriptions=True, specified_by_url=True, directive_is_repeatable=True,
                                    schema_description=True, input_value_deprecation=True)
    data = await client.query(query)
    assert data["__schema"]["queryType"]["name"] == "Query"


# --- page size ----------------------------------------------------------------------------


def test_first_is_capped_by_the_page_size_limit(settings):
    assert KeysetPage(10_000, None, settings.max_page_size, "list", (int,)).limit == settings.max_page_size
    connection = connection_of(list(range(250)), KeysetPage(1000, None, settings.max_page_size, "list", (int,)),
                               key=lambda n: (n,))
    assert len(connection.edges) == settings.max_page_size and connection.page_info.has_next_page
    assert KeysetPage(None, None, settings.max_page_size, "list", (int,)).limit == 20


def test_a_negative_first_is_a_bad_request_shown_as_it_is(settings):
    with pytest.raises(GraphQLError) as raised:
        KeysetPage(-1, None, settings.max_page_size, "list", (int,))
    # Raised inside a resolver, it reaches the client unmasked: it is about the request.
    error = located_error(raised.value, None, ["viewer", "loans"])
    assert not is_unexpected(error)
    shown = present_errors([error], request_id="r1", settings=settings)
    assert shown[0].message == "1ページの件数（first）は0以上の数で指定してください。"
    assert shown[0].extensions["code"] == "BAD_USER_INPUT"


# --- one guess per operation --------------------------------------------------------------


@pytest.mark.parametrize("document", [
    "mutation { " + login_guess(1, "a: ") + " " + login_guess(2, "b: ") + " }",
    "mutation { " + login_guess(1) + " logout(input: {}) { loggedOut } }",
    "mutation { " + login_guess(1) + " __typename }",
    "mutation { ...A ...B } fragment A on Mutation { " + login_guess(1, "a: ") + " } "
    "fragment B on Mutation { " + login_guess(2, "b: ") + " }",
    "mutation { ... on Mutation { " + login_guess(1, "a: ") + " } ... on Mutation { " + login_guess(2, "b: ") + " } }",
    "mutation { " + login_guess(1, "a: ") + " " + login_guess(2, "a: ") + " }",
    "mutation { " + login_guess(1) + " " + login_guess(2) + " }",
])
async def test_a_login_guess_must_be_alone_in_its_operation(client, deps, document):
    await make_patron(deps)
    body = await client.execute(document)
    assert "data" not in body
    assert "'login' must be the only field of its operation." in [e["message"] for e in body["errors"]]
    assert await AuthThrottle.all().count() == 0  # refused before anything ran


async def test_identity_checks_and_tickets_cannot_be_multiplied_by_aliases(client, deps):
    identity = ('verifyPatronIdentity(input: { cardNumber: "101234567", nameKana: "コガタロウ", '
                'birthDate: "1990040%d", phone: ["092", "942", "1151"] }) { ticket }')
    body = await client.execute("mutation { " + " ".join(f"g{i}: " + identity % i for i in range(1, 9)) + " }")
    assert body["errors"][0]["message"] == "'verifyPatronIdentity' must be the only field of its operation."
    ticket = 'registerPassword(input: { ticket: "t%d", password: "abcd", passwordConfirmation: "abcd" }) { errors { code } }'
    body = await client.execute("mutation { a: " + ticket % 1 + " b: " + ticket % 2 + " }")
    assert body["errors"][0]["message"] == "'registerPassword' must be the only field of its operation."


async def test_one_aliased_guess_alone_is_an_ordinary_request(client, deps):
    await make_patron(deps)
    data = await client.query("mutation { attempt: " + login_guess(1) + " }")
    assert data["attempt"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]


async def test_a_document_of_several_operations_must_name_the_one_to_run(client, deps):
    await make_patron(deps)
    document = "mutation A { " + login_guess(1) + " } mutation B { " + login_guess(2) + " }"
    body = (await client.post(document)).json()
    assert body == {"errors": [{"message": "Must provide operation name if query contains multiple operations.",
                                "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"}}]}
    assert await AuthThrottle.all().count() == 0  # no guess was made
    named = (await client.http.post("/graphql", json={"query": document, "operationName": "B"})).json()
    assert named["data"]["login"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]


async def test_the_rule_applies_by_name_to_guess_sensitive_fields_of_any_branch():
    # A stand-in schema with every listed field, as the merged schema will have them.
    sdl = "type Query { ping: Int } type Mutation { other: Int " + " ".join(
        f"{name}(token: String): Int" for name in sorted(GUESS_SENSITIVE_FIELDS)) + " }"
    schema = build_sdl(sdl)
    assert {"login", "verifyPatronIdentity", "registerPassword", "confirmEmail"} <= GUESS_SENSITIVE_FIELDS
    for name in GUESS_SENSITIVE_FIELDS:
        assert validate(schema, parse(f'mutation {{ {name}(token: "a") }}'), [OneGuessPerOperation]) == []
        twice = validate(schema, parse(f'mutation {{ a: {name}(token: "a") b: {name}(token: "b") }}'),
                         [OneGuessPerOperation])
        assert [e.message for e in twice] == [f"'{name}' must be the only field of its operation."]
        with_other = validate(schema, parse(f'mutation {{ {name}(token: "a") other }}'), [OneGuessPerOperation])
        assert len(with_other) == 1
    assert validate(schema, parse("mutation { a: other b: other }"), [OneGuessPerOperation]) == []


# --- introspection and suggestions --------------------------------------------------------

INTROSPECTION = "{ __schema { types { name } } }"


async def test_production_turns_introspection_off(settings, clock):
    async with http_client(production_app(settings, clock), base_url="https://library.example") as http:
        body = await GraphQLClient(http).execute(INTROSPECTION)
        assert "data" not in body and "introspection" in body["errors"][0]["message"].lower()
        typename = await GraphQLClient(http).query("{ __typename }")
    assert typename == {"__typename": "Query"}


async def test_introspection_can_be_turned_back_on_in_production(settings, clock):
    app = production_app(settings, clock, introspection=True)
    async with http_client(app, base_url="https://library.example") as http:
        data = await GraphQLClient(http).query(INTROSPECTION)
    assert {"name": "Patron"} in data["__schema"]["types"]


@pytest.mark.parametrize("document, hint", [
    ("{ viewr { id } }", "viewer"),
    ("{ viewer { cardNumbr } }", "cardNumber"),
    ("{ node(idd: \"x\") { id } }", "id"),
    ('mutation { login(input: { cardNumbr: "1", password: "x" }) { errors { code } } }', "cardNumber"),
    ("query($c: ErrorCod) { viewer { id } }", "ErrorCode"),
])
async def test_production_gives_no_field_suggestions(settings, clock, client, document, hint):
    async with http_client(production_app(settings, clock), base_url="https://library.example") as http:
        body = await GraphQLClient(http).execute(document)
    messages = " ".join(e["message"] for e in body["errors"])
    assert "Did you mean" not in messages and f"'{hint}'?" not in messages
    # Development keeps them: they help whoever is writing the client.
    development = " ".join(e["message"] for e in (await client.execute(document))["errors"])
    assert "Did you mean" in development


async def test_variable_values_with_unknown_fields_get_no_suggestion_in_production(settings, clock):
    document = "mutation($i: LoginInput!) { login(input: $i) { errors { code } } }"
    async with http_client(production_app(settings, clock), base_url="https://library.example") as http:
        body = await GraphQLClient(http).execute(
            document, {"i": {"cardNumbr": "101234567", "password": "abcd"}})
    assert body["errors"] and not any("Did you mean" in e["message"] for e in body["errors"])


# --- masked errors ------------------------------------------------------------------------


async def broken_registration(*args, **kwargs):
    """A bug that reaches the database: the message names a column and quotes a phone number."""
    await db.connection().execute_query(
        "SELECT password_hash FROM patrons WHERE phone = '0929421151' AND no_such_column = 1")


@pytest.mark.parametrize("environment", ["development", "production"])
async def test_a_bug_is_masked_with_a_request_id_that_the_log_carries(
        settings, clock, deps, monkeypatch, caplog, environment):
    if environment == "production":
        settings = production(settings)
    app = create_app(settings, clock, manage_database=False)
    monkeypatch.setattr(accounts, "register_patron", broken_registration)
    await make_staff(deps)
    caplog.set_level(logging.INFO)
    async with http_client(app, base_url=settings.public_base_url) as http:
        client = GraphQLClient(http)
        await client.staff_login("desk1", STAFF_PASSWORD)
        response = await client.post(mutation(
            "registerPatron", '{ cardNumber: "105550001", nameKana: "フクオカ", birthDate: "19990101", '
            'phone: ["092", "942", "1151"] }', "errors { code } patron { id }"))
    assert response.status_code == 200
    body = response.json()
    request_id = response.headers["x-request-id"]
    assert body["data"] is None
    assert body["errors"] == [{"message": "Unexpected error.", "locations": [{"line": 1, "column": 12}],
                               "path": ["registerPatron"],
                               "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}}]
    assert "no_such_column" not in response.text and "SELECT" not in response.text

    logged = [r for r in caplog.records if getattr(r, "json_fields", {}).get("request_id") == request_id]
    error_line = next(r.json_fields for r in logged if r.name == "library.error")
    request_line = next(r.json_fields for r in logged if r.name == "library.request")
    assert error_line["path"] == ["registerPatron"] and error_line["operation"] is None
    assert any("OperationalError" in t or "UndefinedColumn" in t for t in error_line["error_type"])
    assert any("broken_registration" in frame for frame in error_line["traceback"])
    assert request_line["unexpected_errors"] == 1 and request_line["fields"] == ["registerPatron"]
    assert "no_such_column" not in log_output(caplog) and "0929421151" not in log_output(caplog)


async def test_a_crash_outside_graphql_is_a_json_500_with_a_request_id(app, monkeypatch, caplog):
    from app.schema import context

    def broken_context(self, request, response, deps):
        raise RuntimeError("secret-internal-detail")

    monkeypatch.setattr(context.Context, "__init__", broken_context)
    caplog.set_level(logging.INFO)
    async with http_client(app) as http:
        response = await http.post("/graphql", json={"query": "{ viewer { id } }"})
    assert response.status_code == 500
    assert response.json() == {"errors": [{"message": "Unexpected error.", "extensions": {
        "code": "INTERNAL_SERVER_ERROR", "requestId": response.headers["x-request-id"]}}]}
    assert response.headers["cache-control"] == "no-store"
    assert "secret-internal-detail" not in log_output(caplog) and "RuntimeError" in log_output(caplog)


def test_a_domain_failure_that_escapes_a_resolver_shows_its_catalogue_message(settings):
    error = located_error(DomainError(ErrorCode.NOT_AUTHENTICATED), None, ["viewer"])
    assert not is_unexpected(error)
    [shown] = present_errors([error], request_id="r1", settings=settings)
    assert shown.message == "ログインしてください。" and shown.extensions == {"code": "NOT_AUTHENTICATED"}
