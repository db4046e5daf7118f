"""Schema-driven fuzzing: hypothesis-graphql writes queries and mutations from the schema and
the production-mode app answers them as a guest, a patron and a staff member.

Every answer must be a 200 with no bug behind it (no masked "Unexpected error.", nothing
internal in an error), a guest must change nothing, and nobody may see another patron's data.
CI runs `FUZZ_EXAMPLES` (default 100) examples per role with a fixed seed; for a long run:
`FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py` (random seeds, failures kept in .hypothesis/).
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, datetime, timezone

import graphql
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from hypothesis_graphql import Mode, mutations, queries
from strawberry import relay

from app.domain import sessions
from app.models import Session
from app.schema import schema as exported_schema
from app.schema.security import UNEXPECTED_ERROR
from tests.conftest import http_client
from tests.hardening import AUTH_BOOKKEEPING, database_fingerprint, production_app
from tests.support import make_patron, make_staff, make_title

_DEFAULT_EXAMPLES = 100
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", _DEFAULT_EXAMPLES))
FUZZ = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    # A fixed seed keeps CI reproducible; a long run explores new ground each time.
    derandomize="FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

# Signs of internals in an error raised while executing (validation errors echo the input).
_INTERNALS = re.compile(r"Traceback|File \"|\bSELECT\b|\bINSERT\b|\bUPDATE\b|sqlite|asyncpg|tortoise|"
                        r"psycopg|constraint|\.py\b|0x[0-9a-f]{6,}", re.IGNORECASE)

GQL = exported_schema._schema
# Global IDs of the rows the `library` fixture made; drawn by index so the strategy, built once,
# reaches this test's rows.
_known_ids: list[str] = []
# Strings shaped like the library's inputs, so that requests get past input checks into the
# rules behind them. No secret is among them: a guest must not be able to log in or verify.
_PLAUSIBLE = ["101234567", "105550001", "109999999", "１０１２３４５６７", "wrong123", "abcd", "ab",
              "フクオカハナコ", "ふくおか はなこ", "20000101", "19991231", "092", "942", "1151", "desk1",
              "a@example.jp", "", " "]


def _string(value: str) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=value)


def _custom_scalars() -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Values for every non-built-in scalar in the schema: well-formed ones and junk."""
    junk = st.text(max_size=20).map(_string)
    known = {
        "Date": st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(lambda d: _string(d.isoformat())),
        "DateTime": st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1), timezones=st.just(timezone.utc))
        .map(lambda d: _string(d.isoformat())),
        "Time": st.times().map(lambda t: _string(t.isoformat())),
        "Decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2).map(lambda d: _string(str(d))),
        "UUID": st.uuids().map(lambda u: _string(str(u))),
    }
    strategies = {
        # IDs of objects that exist, so `node` and mutations reach real rows, among junk ones.
        "ID": st.integers(0, 63).map(lambda i: _string(_known_ids[i % len(_known_ids)] if _known_ids else "")
                                     ) | st.text(max_size=12).map(_string),
        # Mostly plausible strings (one_of draws its branches evenly), some junk.
        "String": st.one_of(*[st.sampled_from(_PLAUSIBLE).map(_string)] * 3, st.text(max_size=20).map(_string)),
    }
    for name, type_ in GQL.type_map.items():
        if isinstance(type_, graphql.GraphQLScalarType) and not name.startswith("__") \
                and name not in {"String", "Int", "Float", "Boolean", "ID"}:
            strategies[name] = (known[name] | junk) if name in known else junk
    return strategies


def _operations() -> st.SearchStrategy[str]:
    scalars = _custom_scalars()
    # One root mutation at a time: guess-sensitive ones must stand alone (and would otherwise
    # be refused before running, testing nothing).
    one_mutation = [mutations(GQL, fields=[name], custom_scalars=scalars) for name in GQL.mutation_type.fields]
    negative = (queries(GQL, custom_scalars=scalars, mode=Mode.NEGATIVE)
                | mutations(GQL, custom_scalars=scalars, mode=Mode.NEGATIVE))
    return st.one_of(queries(GQL, custom_scalars=scalars), *one_mutation, negative)


OPERATIONS = _operations()


@pytest.fixture
def prod_app(settings, clock):
    return production_app(settings, clock)


@pytest.fixture
async def library(deps):
    """Two patrons, a staff member and a title with a copy: something for requests to reach."""
    first = await make_patron(deps, email="hanako@example.jp")
    second = await make_patron(deps, "101234568", name_kana="ヤマダタロウ", phone="0901234567")
    staff = await make_staff(deps)
    title = await make_title(deps, copies=1)
    item = await title.items.all().first()
    _known_ids[:] = [relay.to_base64(name, row.id) for name, row in
                     (("Patron", first), ("Patron", second), ("Staff", staff), ("Title", title), ("Item", item))]
    return {"patron": first, "other": second, "staff": staff}


class Caller:
    """One role's HTTP client; it opens a new session whenever a fuzzed logout ended it."""

    def __init__(self, http, deps, account=None, role=None):
        self.http, self.deps, self.account, self.role = http, deps, account, role
        self.token: str | None = None

    async def send(self, document: str):
        headers = {}
        if self.account is not None:
            if self.token is None or not await Session.exists(token_hash=_hash(self.token)):
                self.token = await sessions.start(self.deps, **{self.role: self.account})
            headers["authorization"] = f"Bearer {self.token}"
        return await self.http.post("/graphql", json={"query": document}, headers=headers)


def _hash(token: str) -> str:
    from app.domain.security import token_hash

    return token_hash(token)


def check_answer(document: str, response, must_not_contain: tuple[str, ...]) -> None:
    assert response.status_code == 200, (document, response.status_code, response.text)
    body = response.json()
    for error in body.get("errors") or []:
        assert error["message"] != UNEXPECTED_ERROR, f"a bug behind this request:\n{document}"
        if error.get("path"):
            assert not _INTERNALS.search(error["message"]), (document, error)
    for secret in must_not_contain:
        assert secret not in response.text, (document, secret)


@given(document=OPERATIONS)
@FUZZ
async def test_fuzzed_requests_by_a_guest_change_nothing(prod_app, library, document):
    async with http_client(prod_app, base_url="https://library.example") as http:
        before = await database_fingerprint(ignore=AUTH_BOOKKEEPING)
        response = await Caller(http, None).send(document)
        check_answer(document, response, ("コガタロウ", "ヤマダタロウ", "hanako@example.jp", "0901234567"))
        assert await database_fingerprint(ignore=AUTH_BOOKKEEPING) == before, document


@given(document=OPERATIONS)
@FUZZ
async def test_fuzzed_requests_by_a_patron_never_fail_or_reveal_another_patron(prod_app, library, deps, document):
    async with http_client(prod_app, base_url="https://library.example") as http:
        response = await Caller(http, deps, library["patron"], "patron").send(document)
        check_answer(document, response, ("101234568", "ヤマダタロウ", "0901234567"))


@given(document=OPERATIONS)
@FUZZ
async def test_fuzzed_requests_by_staff_never_fail(prod_app, library, deps, document):
    async with http_client(prod_app, base_url="https://library.example") as http:
        response = await Caller(http, deps, library["staff"], "staff").send(document)
        check_answer(document, response, ())


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["query", "variables", "operationName", "extensions", "input"])
                      | st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_BODIES = st.one_of(
    _JSON.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({"query": OPERATIONS | st.text(max_size=40)},
                          optional={"variables": _JSON, "operationName": _JSON, "extensions": _JSON})
    .map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=120),
)


@given(body=_BODIES)
@FUZZ
async def test_fuzzed_request_bodies_are_answered_never_crashed(prod_app, library, body):
    async with http_client(prod_app, base_url="https://library.example") as http:
        response = await http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code in (200, 400), (body, response.status_code, response.text)
    assert UNEXPECTED_ERROR not in response.text, body
