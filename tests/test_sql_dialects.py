"""The SQL helper of app/db.py, the one place that knows the dialects: placeholders of
hand-written statements, of statements built in pieces, and the bulk insert."""

from __future__ import annotations

import pytest

from app import db
from app.db import Sql, _placeholders
from app.models import Item
from app.models.enums import ItemStatus
from tests.support import make_title


@pytest.mark.parametrize(("statement", "postgres"), [
    ("SELECT id FROM titles WHERE id = ? LIMIT ?", "SELECT id FROM titles WHERE id = $1 LIMIT $2"),
    ("SELECT '?' AS q, id FROM titles WHERE id = ?", "SELECT '?' AS q, id FROM titles WHERE id = $1"),
    ("SELECT 'it''s ?' AS q, \"odd?\" FROM t WHERE a = ?", "SELECT 'it''s ?' AS q, \"odd?\" FROM t WHERE a = $1"),
    ("SELECT 1", "SELECT 1"),
])
def test_placeholders_outside_quotes_are_numbered_on_postgresql(statement, postgres):
    assert _placeholders(statement, True) == postgres
    assert _placeholders(statement, False) == statement  # SQLite reads `?` itself


def test_a_value_used_again_shares_its_placeholder_unless_told_not_to():
    for dialect, marks in ((True, ["$1", "$2", "$1", "$3"]), (False, ["?1", "?2", "?1", "?3"])):
        sql = Sql(dialect)
        assert [sql.param("a"), sql.param(1), sql.param("a"), sql.param("a", shared=False)] == marks
        assert sql.params == ["a", 1, "a"]


async def test_a_question_mark_in_a_literal_is_text_on_both_databases(deps):
    rows = await db.fetch("SELECT '?' AS mark, CAST(? AS INTEGER) AS value", 7)
    assert [(row["mark"], int(row["value"])) for row in rows] == [("?", 7)]


async def test_bulk_insert_returns_the_new_rows(deps):
    title = await make_title(deps, copies=0)
    # The same text in two columns, and the same flag in every row: each value its own placeholder.
    rows = [[f"B-{n}", title.id, ItemStatus.AVAILABLE, f"B-{n}", True, deps.now()] for n in range(3)]
    created = await db.bulk_insert(Item, ["barcode", "title_id", "status", "location", "loanable", "created_at"],
                                   rows, returning=("id", "barcode"))
    assert [row["barcode"] for row in created] == ["B-0", "B-1", "B-2"]
    assert [(i.barcode, i.location, i.loanable) for i in await Item.filter(title_id=title.id).order_by("id")] == [
        ("B-0", "B-0", True), ("B-1", "B-1", True), ("B-2", "B-2", True)]
