"""The committed schema.graphql is the schema the code serves (clients diff it), and it documents
itself: every part described, every error code explained, dates in a named format."""

import re
from pathlib import Path

from graphql import (
    GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType, is_introspection_type,
    is_specified_scalar_type,
)
from strawberry.printer import print_schema

from app.domain.errors import ErrorCode
from app.domain.messages import MESSAGES
from app.schema import schema
from app.schema.errors import WHEN
from app.schema.scalars import RFC_3339
from tests.support import DEFAULT_PASSWORD, make_patron

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_file_matches_the_code():
    exported = print_schema(schema)
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed.strip() == exported.strip(), (
        "schema.graphql is out of date: run `strawberry export-schema app.schema:schema --output schema.graphql`"
    )


def test_every_mutation_takes_one_input_and_returns_errors():
    mutation = schema._schema.mutation_type
    for name, field in mutation.fields.items():
        assert list(field.args) == ["input"], name
        payload = field.type.of_type
        assert "errors" in payload.fields, name


def _undescribed(graphql_schema) -> list[str]:
    """Every type, field, argument, input field and enum value without a description (GraphQL's
    own scalars and introspection types aside)."""
    missing = []
    for name, type_ in graphql_schema.type_map.items():
        if is_introspection_type(type_) or is_specified_scalar_type(type_):
            continue
        if not type_.description:
            missing.append(name)
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in type_.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [f"{name}.{field_name}({arg})" for arg, a in field.args.items() if not a.description]
        elif isinstance(type_, GraphQLInputObjectType):
            missing += [f"{name}.{field_name}" for field_name, f in type_.fields.items() if not f.description]
        elif isinstance(type_, GraphQLEnumType):
            missing += [f"{name}.{value}" for value, v in type_.values.items() if not v.description]
    return missing


def test_every_type_field_argument_input_field_and_enum_value_is_described():
    # GraphiQL's documentation panel is the schema's descriptions: a client developer learns the API there.
    assert _undescribed(schema._schema) == []


def test_the_description_check_sees_what_is_missing():
    from graphql import build_schema

    sdl = '"Q" type Query { "f" f(a: Int): E } "E" enum E { "x" X Y } "I" input I { i: Int }'
    assert _undescribed(build_schema(sdl)) == ["Query.f(a)", "E.Y", "I.i"]


def test_every_error_code_says_when_it_happens_and_carries_its_message():
    values = schema._schema.get_type("ErrorCode").values
    assert set(values) == {code.value for code in ErrorCode}
    for code in ErrorCode:
        description = values[code.value].description
        assert description == f"{WHEN[code]} Default message: 「{MESSAGES[code]}」", code


def test_dates_and_instants_name_their_format_for_code_generators():
    for name in ("Date", "DateTime"):
        assert schema._schema.get_type(name).specified_by_url == RFC_3339
        assert f'scalar {name} @specifiedBy(url: "{RFC_3339}")' in SCHEMA_FILE.read_text(encoding="utf-8")


async def test_dates_travel_as_rfc_3339_and_other_spellings_are_bad_input(client, deps, clock):
    patron = await make_patron(deps)
    await client.login(patron.card_number, DEFAULT_PASSWORD)
    goal = "mutation($start: Date!, $end: Date!) { setReadingGoal(input: { target: 12, periodStart: $start, " \
           "periodEnd: $end }) { errors { code } readingMarathon { periodStart periodEnd } } }"
    done = await client.query(goal, {"start": "2026-04-01", "end": "2027-03-31"})
    assert done["setReadingGoal"]["readingMarathon"] == {"periodStart": "2026-04-01", "periodEnd": "2027-03-31"}
    for start in ("20260401", "2026-W14-3", "2026-04-31", "2026-04-01T00:00:00+09:00"):
        body = await client.execute(goal, {"start": start, "end": "2027-03-31"})
        assert "data" not in body and [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], start
    body = await client.execute('mutation { setReadingGoal(input: { target: 12, periodStart: "2026/04/01", '
                                'periodEnd: "2027-03-31" }) { errors { code } } }')
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]


async def test_instants_carry_their_offset(client, deps, clock):
    patron = await make_patron(deps)
    await client.login(patron.card_number, DEFAULT_PASSWORD)
    ticket = await client.query('mutation { requestEmailChange(input: { newEmail: "hanako@example.jp" }) '
                                "{ errors { code } expiresAt } }")
    expires_at = ticket["requestEmailChange"]["expiresAt"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00", expires_at), expires_at
