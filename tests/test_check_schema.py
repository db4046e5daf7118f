"""Schema governance (scripts/check_schema.py): breaking changes need an entry with a reason."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from scripts.check_schema import (
    ALLOW_LIST, POSSIBLE_TYPES_FILE, SCHEMA_FILE, check, compare, parse_allow_list, possible_types, write_exports,
)

OLD = '''
type Query { viewer: Patron  node(id: ID!): Node }
interface Node { id: ID! }
type Patron implements Node { id: ID!  cardNumber: String!  nickname: String @deprecated(reason: "Use nameKana.")  nameKana: String! }
enum ErrorCode { INVALID_CREDENTIALS RATE_LIMITED }
'''


def changed(old: str, new: str) -> str:
    assert old in OLD
    return OLD.replace(old, new)


def test_a_removed_field_is_a_breaking_change():
    result = compare(OLD, changed("cardNumber: String!  ", ""), {})
    assert [c.description for c in result.not_allowed] == ["Field Patron.cardNumber was removed."]
    assert not result.ok and result.removed_without_deprecation == ["Patron.cardNumber"]


def test_an_added_optional_field_or_argument_is_not():
    result = compare(OLD, changed("viewer: Patron", "viewer: Patron  libraryName: String  "
                                                   "search(first: Int): [Patron!]"), {})
    assert result.ok and result.breaking == []


@pytest.mark.parametrize("old, new, kind", [
    ("nameKana: String!", "nameKana: Int!", "FIELD_CHANGED_KIND"),
    ("node(id: ID!)", "node(id: ID!, kind: String!)", "REQUIRED_ARG_ADDED"),
    ("RATE_LIMITED }", "}", "VALUE_REMOVED_FROM_ENUM"),
    ("cardNumber: String!", "cardNumber: String", "FIELD_CHANGED_KIND"),
])
def test_changes_that_break_a_client_are_caught(old, new, kind):
    result = compare(OLD, changed(old, new), {})
    assert [c.type.name for c in result.not_allowed] == [kind]


def test_a_new_enum_value_is_only_dangerous():
    result = compare(OLD, changed("RATE_LIMITED }", "RATE_LIMITED HOLD_LIMIT_REACHED }"), {})
    assert result.ok and [c.type.name for c in result.dangerous] == ["VALUE_ADDED_TO_ENUM"]


def test_an_allow_listed_break_passes_and_a_deprecated_field_may_go():
    allowed = parse_allow_list(
        "| change | reason |\n| --- | --- |\n"
        "| `Field Patron.nickname was removed.` | deprecated since 2026-01, no client reads it |\n")
    result = compare(OLD, changed('nickname: String @deprecated(reason: "Use nameKana.")  ', ""), allowed)
    assert result.ok and len(result.breaking) == 1 and result.removed_without_deprecation == []


def test_an_entry_without_a_reason_allows_nothing():
    assert parse_allow_list("| `Field Patron.cardNumber was removed.` |  |\n"
                            "| `Field Patron.nameKana was removed.` | - |\n") == {}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   cwd=repo, check=True, capture_output=True)


def test_the_script_compares_the_working_tree_with_the_previous_commit(tmp_path):
    git(tmp_path, "init", "-q")
    out = io.StringIO()
    (tmp_path / SCHEMA_FILE).write_text(OLD)
    assert check(tmp_path, "HEAD~1", check_export=False, out=out) == 0  # no commit yet: nothing to compare
    git(tmp_path, "add", SCHEMA_FILE)
    git(tmp_path, "commit", "-qm", "first")
    (tmp_path / SCHEMA_FILE).write_text(changed("cardNumber: String!  ", ""))
    git(tmp_path, "commit", "-qam", "second")

    out = io.StringIO()
    assert check(tmp_path, "HEAD~1", check_export=False, out=out) == 1
    assert "BREAKING (FIELD_REMOVED): Field Patron.cardNumber was removed." in out.getvalue()
    assert "| `Field Patron.cardNumber was removed.` |" in out.getvalue()

    (tmp_path / ALLOW_LIST).write_text("| `Field Patron.cardNumber was removed.` | replaced by the card scan |\n")
    out = io.StringIO()
    assert check(tmp_path, "HEAD~1", check_export=False, out=out) == 0
    assert "allowed (FIELD_REMOVED)" in out.getvalue()


def test_the_repositorys_own_allow_list_parses():
    root = Path(__file__).resolve().parent.parent
    assert isinstance(parse_allow_list((root / ALLOW_LIST).read_text(encoding="utf-8")), dict)


def test_possible_types_name_every_object_behind_an_interface_or_union():
    from graphql import build_schema

    schema = build_schema(OLD + "type Title implements Node { id: ID! }  union Found = Patron | Title")
    assert json.loads(possible_types(schema)) == {"possibleTypes": {"Found": ["Patron", "Title"],
                                                                    "Node": ["Patron", "Title"]}}


def test_a_stale_schema_or_possible_types_file_fails_the_check_and_write_renews_both(tmp_path):
    git(tmp_path, "init", "-q")
    write_exports(tmp_path)
    assert check(tmp_path, "HEAD~1", out=io.StringIO()) == 0
    possible = tmp_path / POSSIBLE_TYPES_FILE
    possible.write_text(possible.read_text().replace('"Title"', '"Book"'))
    out = io.StringIO()
    assert check(tmp_path, "HEAD~1", out=out) == 1
    assert f"{POSSIBLE_TYPES_FILE} out of date: run `python scripts/check_schema.py --write`" in out.getvalue()
    write_exports(tmp_path)
    assert check(tmp_path, "HEAD~1", out=io.StringIO()) == 0


def test_the_repositorys_possible_types_are_the_schemas():
    from graphql import build_schema

    root = Path(__file__).resolve().parent.parent
    sdl = (root / SCHEMA_FILE).read_text(encoding="utf-8")
    assert (root / POSSIBLE_TYPES_FILE).read_text(encoding="utf-8") == possible_types(build_schema(sdl))
