"""Every argument of every operation gets the values that used to end in "Unexpected error.":
control characters, lone surrogates, numbers beyond 64 bits, other scripts' digits, global IDs
and cursors made of them, as a guest, a patron and staff.

Each answer must be a typed refusal or an ordinary answer: HTTP 200 (or 400 for a body that is
not valid JSON text, such as a lone surrogate), never a masked bug. The arguments are found in
the schema (root fields, and the fields with arguments one and two levels below them), so an
operation added later is fuzzed without a change here.

CI sends a deterministic share (`FUZZ_INPUTS_PER_ARGUMENT`, default 4, of the values to each
argument, the roles taking turns); `FUZZ_INPUTS_PER_ARGUMENT=all` sends every value to every
argument as every role.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any, Iterator

import graphql
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)

from app.domain import sessions
from app.domain.security import token_hash
from app.models import Session
from app.schema import schema as exported_schema
from app.schema.security import UNEXPECTED_ERROR
from tests.conftest import http_client
from tests.hardening import production_app
from tests.support import make_item, make_patron, make_staff, make_title

GQL = exported_schema._schema
_SETTING = os.environ.get("FUZZ_INPUTS_PER_ARGUMENT", "4")
EVERYTHING = _SETTING == "all"
PER_ARGUMENT = 0 if EVERYTHING else int(_SETTING)
ROLES = ("guest", "patron", "staff")


def _gid(type_name: str, node_id: str) -> str:
    return base64.b64encode(f"{type_name}:{node_id}".encode()).decode()


STRINGS = [
    "\x00", "猫\x00犬", "\x01\x02\x1b[31m", "\x7f", "\ud800", "a\udfffb",
    "99999999999999999999", "-1", "1e400", "١٢", "²", "１２３", "10١٢٣٤٥٦٧", "0001", "abcd\n", "\u202e", "a" * 5000,
    _gid("Title", "99999999999999999999"), _gid("Title", "²"), _gid("Title", "١٢"), _gid("Title", "0001"),
    _gid("Title", "-1"), _gid("Query", "1"), _gid("UserError", "1"), _gid("arrayconnection", "99999999999999999999"),
    _gid("arrayconnection", "²"), _gid("arrayconnection", "-5"), "!!!not-base64",
]
INTS = [-1, 0, 2**31 - 1, -(2**31)]


@dataclass(frozen=True)
class Target:
    """One argument (or input field) reached by a document: the path of fields down to it."""

    fields: tuple[str, ...]          # root field, then fields below it
    argument: str                    # argument of the last field
    input_path: tuple[str, ...]      # input fields inside the argument ("" for the argument itself)
    leaf: GraphQLInputType

    @property
    def name(self) -> str:
        return ".".join(self.fields) + f"({self.argument}{''.join('.' + p for p in self.input_path)})"


def _named(type_: Any) -> Any:
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        type_ = type_.of_type
    return type_


def _leaves(type_: GraphQLInputType, path: tuple[str, ...] = (), depth: int = 0) -> Iterator[tuple[tuple[str, ...], Any]]:
    named = _named(type_)
    if isinstance(named, GraphQLInputObjectType):
        if depth < 3:
            for name, field in named.fields.items():
                yield from _leaves(field.type, (*path, name), depth + 1)
    elif isinstance(named, GraphQLScalarType):
        yield path, type_


def targets() -> list[Target]:
    found = []
    roots = [("query", GQL.query_type), ("mutation", GQL.mutation_type)]
    for kind, root in roots:
        stack = [((name,), field) for name, field in root.fields.items()]
        while stack:
            path, field = stack.pop(0)
            for arg_name, arg in field.args.items():
                for input_path, leaf in _leaves(arg.type):
                    found.append(Target(path, arg_name, input_path, leaf))
            below = _named(field.type)
            if isinstance(below, GraphQLObjectType) and len(path) < 3 and kind == "query":
                stack += [((*path, name), f) for name, f in below.fields.items() if f.args or len(path) < 2]
    return found


def _is_mutation(target: Target) -> bool:
    return target.fields[0] in GQL.mutation_type.fields


def _default(type_: Any, ids: dict[str, str]) -> Any:
    """A well-formed value of an input type, so that only the fuzzed leaf is odd."""
    if isinstance(type_, GraphQLNonNull):
        return _default(type_.of_type, ids)
    if isinstance(type_, GraphQLList):
        return [_default(type_.of_type, ids)]
    if isinstance(type_, GraphQLInputObjectType):
        return {name: _default(f.type, ids) for name, f in type_.fields.items()
                if isinstance(f.type, GraphQLNonNull)}
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    return {"Int": 1, "Boolean": False, "Date": "2026-12-01", "DateTime": "2026-12-01T10:00:00+00:00",
            "ID": ids["Title"], "String": "101234567"}.get(type_.name, "x")


def _with(value: Any, path: tuple[str, ...], leaf_value: Any, leaf_type: Any) -> Any:
    if not path:
        return [leaf_value] if isinstance(_strip(leaf_type), GraphQLList) else leaf_value
    value = dict(value or {})
    value[path[0]] = _with(value.get(path[0]), path[1:], leaf_value, leaf_type)
    return value


def _strip(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def request_body(target: Target, value: Any, ids: dict[str, str]) -> bytes:
    """A document that reaches the target field with the fuzzed value in a variable."""
    parent = GQL.mutation_type if _is_mutation(target) else GQL.query_type
    variables: dict[str, Any] = {}
    definitions: list[str] = []
    calls: list[tuple[str, bool]] = []  # each field with its arguments, and whether it has a selection
    for depth, name in enumerate(target.fields):
        field = parent.fields[name]
        args = []
        for arg_name, arg in field.args.items():
            fuzzed = depth == len(target.fields) - 1 and arg_name == target.argument
            if not fuzzed and not isinstance(arg.type, GraphQLNonNull):
                continue
            var = f"v{depth}_{arg_name}"
            base = _default(arg.type, ids)
            variables[var] = _with(base, target.input_path, value, target.leaf) if fuzzed else base
            definitions.append(f"${var}: {arg.type}")
            args.append(f"{arg_name}: ${var}")
        parent = _named(field.type)
        calls.append((name + (f"({', '.join(args)})" if args else ""), not isinstance(parent, GraphQLScalarType)
                      and not isinstance(parent, GraphQLEnumType)))
    selection = ""
    for call, has_selection in reversed(calls):
        selection = f"{call} {{ __typename {selection} }}" if has_selection else call
    kind = "mutation" if _is_mutation(target) else "query"
    header = f"({', '.join(definitions)})" if definitions else ""
    # ensure_ascii: a lone surrogate travels as the escape "\ud800", as a client would send it.
    return json.dumps({"query": f"{kind} Fuzz{header} {{ {selection} }}", "variables": variables}).encode()


def cases() -> list[tuple[Target, Any, str]]:
    chosen = []
    for t_index, target in enumerate(targets()):
        values = INTS if _named(target.leaf).name == "Int" else [] if _named(target.leaf).name == "Boolean" \
            else STRINGS
        if EVERYTHING:
            chosen += [(target, v, role) for v in values for role in ROLES]
            continue
        for k in range(min(PER_ARGUMENT, len(values))):
            v_index = (t_index * PER_ARGUMENT + k) % len(values)
            chosen.append((target, values[v_index], ROLES[(t_index + k) % len(ROLES)]))
    return chosen


@pytest.fixture
async def world(deps):
    patron = await make_patron(deps, email="hanako@example.jp")
    staff = await make_staff(deps)
    title = await make_title(deps, copies=1)
    await make_item(deps, title, barcode="1000000001")
    return {"patron": patron, "staff": staff, "ids": {"Title": _gid("Title", str(title.id))}}


def test_every_argument_of_every_operation_is_reached():
    names = {t.name for t in targets()}
    mutations = {t.fields[0] for t in targets() if _is_mutation(t)}
    assert mutations == {name for name, f in GQL.mutation_type.fields.items() if f.args}
    assert {"searchCatalog(keyword)", "node(id)", "viewer.loans(after)", "registerPatron(input.cardNumber)",
            "checkoutItem(input.barcode)", "createBookshelf(input.name)"} <= names


async def test_odd_values_in_every_argument_get_a_typed_answer_never_a_bug(settings, clock, deps, world):
    app = production_app(settings, clock, guest_cost_per_minute=0)
    async with http_client(app, base_url="https://library.example") as http:
        tokens: dict[str, str] = {}
        bugs = []
        for target, value, role in cases():
            body = request_body(target, value, world["ids"])
            headers = {"content-type": "application/json"}
            if role != "guest":
                # A fuzzed logout or password change may have ended the role's session.
                if role not in tokens or not await Session.exists(token_hash=token_hash(tokens[role])):
                    tokens[role] = await sessions.start(deps, **{role: world[role]})
                headers["authorization"] = f"Bearer {tokens[role]}"
            response = await http.post("/graphql", content=body, headers=headers)
            if response.status_code not in (200, 400) or UNEXPECTED_ERROR in response.text:
                bugs.append((role, target.name, repr(value)[:40], response.status_code, response.text[:200]))
    assert bugs == [], "\n".join(map(repr, bugs))
