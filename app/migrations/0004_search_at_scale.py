"""Catalog search at scale: one token index per database, sort keys, and catalog versions.

Replaces 0003's indexes (trigram and bigram FTS5 tables on SQLite, pg_trgm on PostgreSQL) with
one index of the tokens every title stores in `titles.search_grams` (see
`app.domain.search_index`), so both databases answer the same token queries:

- SQLite: `titles_search`, an FTS5 table with external content on `titles.search_grams`
  (tokenizer `ascii`: the tokens are split at spaces only; detail=none: no positions; a prefix
  index of two characters, a tag and a character, for one-character terms), kept in step by
  triggers, so any writer of `titles` keeps it right.
- PostgreSQL: a GIN index on `search_grams::tsvector` (the tokens as lexemes, as written).

Both: copies indexed by (title_id, status, loanable), so a title's availability is read from
the index alone; indexes for the two sort orders besides relevance, `(coalesce(published_year, 0), id)`
(newest) and `(title_reading_key, id)` (五十音順; PostgreSQL compares it with the "C" collation,
code point order as SQLite's BINARY), and `catalog_versions`: a counter for `titles` and one
for `items`, bumped by triggers whenever a row that search counts depend on changes (on
PostgreSQL once per transaction, at commit, so desks never wait on it mid-transaction). The
search caches its counts under these versions (`app.domain.catalog_search`).

Existing titles get their search columns recomputed (Python, in batches).
"""

import importlib

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.domain.search_index import TitleFields, indexed_columns

_TITLE_CHANGES = "search_text, search_grams, title_reading_key, material_type, published_year, id"
_ITEM_CHANGES = "status, loanable, title_id"


_VERSION_ROWS = {"titles": 1, "items": 2}


def _sqlite_bump(table: str) -> str:
    return f"UPDATE catalog_versions SET version = version + 1 WHERE id = {_VERSION_ROWS[table]};"


SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE titles_search USING fts5("
    "search_grams, content='titles', content_rowid='id', tokenize='ascii', detail='none', prefix='2')",
    "INSERT INTO titles_search (titles_search) VALUES ('rebuild')",
]
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER titles_search_insert AFTER INSERT ON titles BEGIN
        INSERT INTO titles_search (rowid, search_grams) VALUES (new.id, new.search_grams);
        {_sqlite_bump('titles')}
    END""",
    f"""CREATE TRIGGER titles_search_delete AFTER DELETE ON titles BEGIN
        INSERT INTO titles_search (titles_search, rowid, search_grams) VALUES ('delete', old.id, old.search_grams);
        {_sqlite_bump('titles')}
    END""",
    """CREATE TRIGGER titles_search_update AFTER UPDATE OF id, search_grams ON titles
    WHEN old.id IS NOT new.id OR old.search_grams IS NOT new.search_grams BEGIN
        INSERT INTO titles_search (titles_search, rowid, search_grams) VALUES ('delete', old.id, old.search_grams);
        INSERT INTO titles_search (rowid, search_grams) VALUES (new.id, new.search_grams);
    END""",
    f"""CREATE TRIGGER titles_version_update AFTER UPDATE OF {_TITLE_CHANGES} ON titles BEGIN
        {_sqlite_bump('titles')}
    END""",
    f"CREATE TRIGGER items_version_insert AFTER INSERT ON items BEGIN {_sqlite_bump('items')} END",
    f"CREATE TRIGGER items_version_delete AFTER DELETE ON items BEGIN {_sqlite_bump('items')} END",
    f"CREATE TRIGGER items_version_update AFTER UPDATE OF {_ITEM_CHANGES} ON items BEGIN {_sqlite_bump('items')} END",
]
SQLITE_TRIGGER_NAMES = ["titles_search_insert", "titles_search_delete", "titles_search_update",
                        "titles_version_update", "items_version_insert", "items_version_delete",
                        "items_version_update"]
SQLITE_SORT_INDEXES = [
    "CREATE INDEX IF NOT EXISTS titles_newest ON titles (coalesce(published_year, 0), id)",
    "CREATE INDEX IF NOT EXISTS titles_reading ON titles (title_reading_key, id)",
]

POSTGRES_UP = [
    "DROP INDEX IF EXISTS titles_search_text_trgm",
    "ALTER TABLE titles ALTER COLUMN title_reading_key TYPE VARCHAR(201) COLLATE \"C\"",
    # The tokens as a tsvector (the text cast, no parsing: lexemes compared byte by byte, which
    # keeps an import's index upkeep about a third of a text[] index's, compared by collation).
    "CREATE INDEX IF NOT EXISTS titles_search_grams ON titles USING gin ((search_grams::tsvector))",
    # No statistics of the tokens: the search chooses its strategy from its own exact counts,
    # and gathering them made every ANALYZE of titles (an import's, autovacuum's) twice as long.
    "ALTER INDEX titles_search_grams ALTER COLUMN 1 SET STATISTICS 0",
    # The year itself included: an index-only walk needs every column the query names.
    "CREATE INDEX IF NOT EXISTS titles_newest ON titles ((coalesce(published_year, 0)), id) INCLUDE (published_year)",
    "CREATE INDEX IF NOT EXISTS titles_reading ON titles (title_reading_key, id)",
    # Once per transaction and table, when it commits (a deferred constraint trigger): a desk
    # never holds the counter's row lock while it waits for another lock.
    """CREATE FUNCTION catalog_versions_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('library.bumped_' || TG_ARGV[0], true) IS DISTINCT FROM '1' THEN
            UPDATE catalog_versions SET version = version + 1 WHERE name = TG_ARGV[0];
            PERFORM set_config('library.bumped_' || TG_ARGV[0], '1', true);
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE CONSTRAINT TRIGGER titles_version AFTER INSERT OR DELETE OR UPDATE OF {_TITLE_CHANGES}
    ON titles DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_versions_bump('titles')""",
    f"""CREATE CONSTRAINT TRIGGER items_version AFTER INSERT OR DELETE OR UPDATE OF {_ITEM_CHANGES}
    ON items DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_versions_bump('items')""",
    """CREATE FUNCTION catalog_versions_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE catalog_versions SET version = version + 1 WHERE name = TG_ARGV[0];
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER titles_version_truncate AFTER TRUNCATE ON titles "
    "FOR EACH STATEMENT EXECUTE FUNCTION catalog_versions_truncated('titles')",
    "CREATE TRIGGER items_version_truncate AFTER TRUNCATE ON items "
    "FOR EACH STATEMENT EXECUTE FUNCTION catalog_versions_truncated('items')",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS titles_version ON titles",
    "DROP TRIGGER IF EXISTS items_version ON items",
    "DROP TRIGGER IF EXISTS titles_version_truncate ON titles",
    "DROP TRIGGER IF EXISTS items_version_truncate ON items",
    "DROP FUNCTION IF EXISTS catalog_versions_bump()",
    "DROP FUNCTION IF EXISTS catalog_versions_truncated()",
    "DROP INDEX IF EXISTS titles_search_grams",
    "DROP INDEX IF EXISTS titles_newest",
    "DROP INDEX IF EXISTS titles_reading",
    "DROP TABLE IF EXISTS catalog_versions",
    "CREATE INDEX IF NOT EXISTS titles_search_text_trgm ON titles USING gin (search_text gin_trgm_ops)",
]
VERSIONS_TABLE = [
    # An integer key: on SQLite the row id, the cheapest row for a trigger to update.
    "CREATE TABLE catalog_versions (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(16) NOT NULL UNIQUE, "
    "version BIGINT NOT NULL)",
    "INSERT INTO catalog_versions (id, name, version) VALUES (1, 'titles', 0), (2, 'items', 0)",
]

_SOURCE = ("title", "title_kana", "author", "author_kana", "publisher", "publisher_kana", "material_type")
_BATCH = 2000


async def _recompute_search_columns(client, postgres: bool) -> None:
    """The search columns of every title, in the layout `indexed_columns` writes today."""
    marks = ["$1", "$2", "$3", "$4"] if postgres else ["?", "?", "?", "?"]
    update = (f"UPDATE titles SET search_text = {marks[0]}, search_grams = {marks[1]}, "
              f"title_reading_key = {marks[2]} WHERE id = {marks[3]}")
    last = 0
    while True:
        rows = await client.execute_query_dict(
            f"SELECT id, {', '.join(_SOURCE)} FROM titles WHERE id > {marks[0]} ORDER BY id LIMIT {_BATCH}", [last])
        if not rows:
            return
        values = []
        for row in rows:
            columns = indexed_columns(TitleFields(*(row[c] or "" for c in _SOURCE[:-1]), row["material_type"]))
            values.append([columns["search_text"], columns["search_grams"], columns["title_reading_key"], row["id"]])
        await client.execute_many(update, values)
        last = rows[-1]["id"]


async def _up(apps, schema_editor) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    for statement in VERSIONS_TABLE:
        await client.execute_script(statement)
    if postgres:
        await _recompute_search_columns(client, postgres)
        for statement in POSTGRES_UP:
            await client.execute_script(statement)
        return
    old = importlib.import_module("app.migrations.0003_catalog_search")
    for statement in old.SQLITE_DOWN:
        if "items_status_title" not in statement:
            await client.execute_script(statement)
    await _recompute_search_columns(client, postgres)
    for statement in SQLITE_INDEX + SQLITE_TRIGGERS + SQLITE_SORT_INDEXES:
        await client.execute_script(statement)


async def _down(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        for statement in POSTGRES_DOWN:
            await client.execute_script(statement)
        return
    old = importlib.import_module("app.migrations.0003_catalog_search")
    for name in SQLITE_TRIGGER_NAMES:
        await client.execute_script(f"DROP TRIGGER IF EXISTS {name}")
    for statement in ("DROP TABLE IF EXISTS titles_search", "DROP INDEX IF EXISTS titles_newest",
                      "DROP INDEX IF EXISTS titles_reading", "DROP TABLE IF EXISTS catalog_versions"):
        await client.execute_script(statement)
    for statement in old.SQLITE_UP:
        await client.execute_script(statement)


class Migration(migrations.Migration):
    # After main's latest migration when this one landed (0005 was written alongside it).
    dependencies = [("models", "0008_privacy_live_calendar")]

    operations = [
        # A database default: the titles already there get the column (filled in below).
        ops.AddField(model_name="Title", name="search_grams", field=fields.TextField(default="", db_default="")),
        ops.AddField(model_name="Title", name="title_reading_key",
                     field=fields.CharField(max_length=201, default="", db_default="")),
        ops.RunPython(_up, _down),
        # A title's availability (loanable copies by status) read from the index alone: the
        # search's shelf counts and every page's availability columns.
        ops.RemoveIndex(model_name="Item", fields=["title_id", "status"]),
        ops.AddIndex(model_name="Item", index=Index(fields=["title_id", "status", "loanable"])),
    ]
