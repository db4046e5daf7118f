"""Catalog search indexes, per dialect (see `app.domain.catalog` for how queries use them).

SQLite: two FTS5 tables kept in step with `titles.search_text` by triggers:
- `titles_fts`: trigram tokenizer, external content (the text is read from `titles`), for terms
  of 3+ characters (phrase queries, exact substrings).
- `titles_bigram`: contentless, one token per 2-character substring (the last character of a
  part is a token of its own), with a 1-character prefix index: exact 1–2 character terms.
  A recursive CTE in the trigger cuts the text into bigrams, so any writer of `titles` (the
  import, the demo, a tool) keeps the index right.

PostgreSQL: pg_trgm and a GIN trigram index on `titles.search_text` for LIKE '%term%'.

Both: an index on items (status, title_id), from which the holdable filter finds the titles
whose copies are all out.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


def _bigrams(text: str) -> str:
    """SQL: the bigram tokens of `text`, space-separated (a token spanning a space splits into
    single characters, which the 1-character prefix queries want anyway).

    Each step of the recursion cuts 8 bigrams: SQLite's recursion costs more than substr().
    """
    step = 8
    cuts = " || ' ' || ".join(f"substr({text}, i + {k}, 2)" for k in range(step))
    return (
        f"(WITH RECURSIVE pos(i) AS (SELECT 1 UNION ALL SELECT i + {step} FROM pos WHERE i + {step} <= length({text})) "
        f"SELECT group_concat({cuts}, ' ') FROM pos)"
    )


SQLITE_UP = [
    "CREATE VIRTUAL TABLE titles_fts USING fts5("
    "search_text, content='titles', content_rowid='id', tokenize='trigram', detail='full')",
    "CREATE VIRTUAL TABLE titles_bigram USING fts5("
    "grams, content='', tokenize=\"unicode61 remove_diacritics 0 categories 'L* N* Co M* P* S*'\", "
    "detail='none', prefix='1')",
    f"""CREATE TRIGGER titles_search_insert AFTER INSERT ON titles BEGIN
        INSERT INTO titles_fts (rowid, search_text) VALUES (new.id, new.search_text);
        INSERT INTO titles_bigram (rowid, grams) VALUES (new.id, {_bigrams('new.search_text')});
    END""",
    f"""CREATE TRIGGER titles_search_delete AFTER DELETE ON titles BEGIN
        INSERT INTO titles_fts (titles_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        INSERT INTO titles_bigram (titles_bigram, rowid, grams) VALUES ('delete', old.id, {_bigrams('old.search_text')});
    END""",
    f"""CREATE TRIGGER titles_search_update AFTER UPDATE OF id, search_text ON titles
    WHEN old.id IS NOT new.id OR old.search_text IS NOT new.search_text BEGIN
        INSERT INTO titles_fts (titles_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        INSERT INTO titles_bigram (titles_bigram, rowid, grams) VALUES ('delete', old.id, {_bigrams('old.search_text')});
        INSERT INTO titles_fts (rowid, search_text) VALUES (new.id, new.search_text);
        INSERT INTO titles_bigram (rowid, grams) VALUES (new.id, {_bigrams('new.search_text')});
    END""",
    # Copies by status: the few titles whose copies are all out (holdable) are found from here.
    "CREATE INDEX IF NOT EXISTS items_status_title ON items (status, title_id)",
    # Titles that existed before this migration.
    "INSERT INTO titles_fts (titles_fts) VALUES ('rebuild')",
    f"INSERT INTO titles_bigram (rowid, grams) SELECT id, {_bigrams('search_text')} FROM titles",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS titles_search_insert",
    "DROP TRIGGER IF EXISTS titles_search_delete",
    "DROP TRIGGER IF EXISTS titles_search_update",
    "DROP TABLE IF EXISTS titles_fts",
    "DROP TABLE IF EXISTS titles_bigram",
    "DROP INDEX IF EXISTS items_status_title",
]
POSTGRES_UP = [
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS titles_search_text_trgm ON titles USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS items_status_title ON items (status, title_id)",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS titles_search_text_trgm", "DROP INDEX IF EXISTS items_status_title"]


def _per_dialect(sqlite: list[str], postgres: list[str]):
    async def run(apps, schema_editor) -> None:
        client = schema_editor.client
        statements = postgres if client.capabilities.dialect == "postgres" else sqlite
        for statement in statements:
            await client.execute_script(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("models", "0002_partial_unique_indexes")]

    operations = [
        ops.RunPython(_per_dialect(SQLITE_UP, POSTGRES_UP), _per_dialect(SQLITE_DOWN, POSTGRES_DOWN)),
    ]
