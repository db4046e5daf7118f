"""The documentation stays true: every GraphQL example is valid against the schema and keeps a
client's normalised cache correct, and every link between the pages leads somewhere."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from graphql import (
    FieldNode, FragmentSpreadNode, GraphQLObjectType, InlineFragmentNode, OperationDefinitionNode, OperationType,
    TypeInfo, TypeInfoVisitor, Visitor, get_named_type, is_abstract_type, parse, validate, visit,
)

from app.schema import schema
from tests.test_circulation_api_guide import _operations

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


BENCH_QUERIES = sorted((ROOT / "bench" / "queries").glob("*.graphql"))
# A document inside a JSON body or a curl command: `"query": "{ … }"`.
_JSON_QUERY = re.compile(r'"query":\s*("(?:[^"\\]|\\.)*")')


def _graphql_examples() -> list[tuple[str, str]]:
    examples = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"```graphql\n(.*?)```", text, re.S):
            examples += [(page.name, operation) for operation in _operations(block)]
        for block in re.findall(r"```(?:sh|json)\n(.*?)```", text, re.S):
            examples += [(page.name, json.loads(query)) for query in _JSON_QUERY.findall(block)]
    return examples


def _documents() -> list[tuple[str, str]]:
    """Every document a reader may copy: the pages' examples and the benchmark's queries."""
    return _graphql_examples() + [(f"bench/queries/{q.name}", q.read_text(encoding="utf-8")) for q in BENCH_QUERIES]


@pytest.mark.parametrize(("page", "operation"), _graphql_examples())
def test_every_graphql_example_in_the_docs_is_valid_against_the_schema(page, operation):
    errors = validate(schema._schema, parse(operation))
    assert not errors, (page, operation, [e.message for e in errors])


def _is_node(type_: object) -> bool:
    node = schema._schema.get_type("Node")
    if is_abstract_type(type_):
        return type_ is node or all(_is_node(t) for t in schema._schema.get_possible_types(type_))
    return isinstance(type_, GraphQLObjectType) and node in type_.interfaces


def _selected(selection_set, fragments) -> set[str]:
    """Field names a selection set asks for, through inline fragments and fragment spreads."""
    names: set[str] = set()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            names.add(selection.alias.value if selection.alias else selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            names |= _selected(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            names |= _selected(fragments[selection.name.value].selection_set, fragments)
    return names


def _changed_objects(payload: GraphQLObjectType) -> set[str]:
    """The fields of a mutation's payload that name what it changed: the objects it returns and the
    IDs of what it removed (its `errors` and Relay's edges aside)."""
    return {name for name, field in payload.fields.items()
            if name != "errors" and not name.endswith("Edge")
            and (isinstance(get_named_type(field.type), GraphQLObjectType) or get_named_type(field.type).name == "ID")}


def cache_problems(document: str) -> list[str]:
    """Why a normalised client cache (Apollo's InMemoryCache, urql's Graphcache, Relay's store) would
    go stale on this document: an object that implements Node selected without its `id` (the
    cache cannot merge it into the object it already holds), a mutation that leaves out an object
    it changed (the cache keeps the old one)."""
    ast = parse(document)
    fragments = {d.name.value: d for d in ast.definitions if d.kind == "fragment_definition"}
    type_info, problems = TypeInfo(schema._schema), []

    class Check(Visitor):
        def enter_selection_set(self, node, key, parent, path, ancestors):
            if not isinstance(parent, FieldNode):
                return
            type_ = get_named_type(type_info.get_type())
            selected = _selected(node, fragments)
            if _is_node(type_) and "id" not in selected:
                problems.append(f"{parent.name.value}: {type_.name} without id")
            above = [a for a in ancestors if isinstance(a, (FieldNode, OperationDefinitionNode))]
            root = above[-1] if above else None  # none in a fragment's definition
            if isinstance(root, OperationDefinitionNode) and root.operation is OperationType.MUTATION:
                missing = _changed_objects(type_) - selected
                if missing:
                    problems.append(f"{parent.name.value}: leaves out {sorted(missing)}")

    visit(ast, TypeInfoVisitor(type_info, Check()))
    return problems


@pytest.mark.parametrize(("place", "document"), _documents())
def test_every_document_keeps_a_normalised_cache_correct(place, document):
    assert not cache_problems(document), (place, document)


def test_the_cache_check_finds_what_leaves_a_cache_stale():
    assert cache_problems("{ viewer { id loans { edges { node { dueDate } } } } }") == ["node: Loan without id"]
    assert cache_problems("{ node(id: \"x\") { ... on Title { title } } }") == ["node: Node without id"]
    assert cache_problems("query { viewer { id ...F } } fragment F on Patron { holds { edges { node { id } } } }") == []
    assert cache_problems('mutation { renewLoan(input: { loanId: "x" }) { errors { code } } }') == [
        "renewLoan: leaves out ['loan']"]
    assert cache_problems('mutation { removeFavorite(input: { titleId: "x" }) { errors { code } } }') == [
        "removeFavorite: leaves out ['removedFavoriteId']"]


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
