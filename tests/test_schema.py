"""The committed schema.graphql is the schema the code serves: clients diff it."""

from pathlib import Path

from strawberry.printer import print_schema

from app.schema import schema

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
