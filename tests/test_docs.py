"""The documentation stays true: every GraphQL example is valid against the schema, every
ErrorCode is explained for client developers, and every link between the pages leads somewhere."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from graphql import parse, validate

from app.domain.errors import ErrorCode
from app.schema import schema
from tests.test_circulation_api_guide import _operations

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _graphql_examples() -> list[tuple[str, str]]:
    examples = []
    for page in PAGES:
        for block in re.findall(r"```graphql\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            examples += [(page.name, operation) for operation in _operations(block)]
    return examples


@pytest.mark.parametrize(("page", "operation"), _graphql_examples())
def test_every_graphql_example_in_the_docs_is_valid_against_the_schema(page, operation):
    errors = validate(schema._schema, parse(operation))
    assert not errors, (page, operation, [e.message for e in errors])


def test_every_error_code_is_explained_in_the_api_guide():
    guide = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = guide[guide.index("### Every ErrorCode"):]
    missing = [code.value for code in ErrorCode if f"`{code.value}`" not in section]
    assert not missing


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    kept = "".join(c for c in heading.strip().lower()
                   if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_anchor(h) for h in re.findall(r"^#+ (.*)$", text, re.M)}


def test_every_link_between_the_docs_leads_to_a_file_and_heading():
    broken = []
    for page in PAGES:
        for link in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", link):
                continue
            path, _, fragment = link.partition("#")
            target = (page.parent / path).resolve() if path else page
            if not target.exists() or (fragment and target.suffix == ".md" and fragment not in _anchors(target)):
                broken.append(f"{page.name}: {link}")
    assert not broken
