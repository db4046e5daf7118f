"""The benchmark's seed (bench/seed.py) at a tiny scale: the data it writes is consistent, on
SQLite and on PostgreSQL, and the catalog search finds the seeded titles through the index."""

from __future__ import annotations

from app import db
from app.domain.catalog_search import SearchCache, search
from bench import seed


async def _count(sql: str) -> int:
    return (await db.connection().execute_query_dict(sql))[0]["n"]


async def test_a_tiny_seed_is_consistent_and_searchable(settings) -> None:
    scale = seed.Scale.tiny(200)
    report = await seed.seed(scale, hasher_settings=settings)

    assert await seed.check() == []
    assert report.rows["titles"] == await _count("SELECT count(*) AS n FROM titles") == 200
    # Copies out on loan are exactly the current loans, each on a loanable copy.
    loans = await _count("SELECT count(*) AS n FROM loans WHERE returned_at IS NULL")
    assert loans == scale.loans
    assert await _count("SELECT count(*) AS n FROM items WHERE status = 'on_loan'") == loans
    assert await _count("SELECT count(*) AS n FROM loans l JOIN items i ON i.id = l.item_id "
                        "WHERE NOT i.loanable") == 0
    # One patron carries the heavy load (30 loans), the others 0-5.
    assert await _count("SELECT max(n) AS n FROM (SELECT count(*) AS n FROM loans GROUP BY patron_id) c") == 30
    # Waiting holds form queues: positions 1..n per title, in the order placed.
    holds = await db.connection().execute_query_dict(
        "SELECT id, title_id FROM holds WHERE status = 'waiting' ORDER BY title_id, placed_at, id")
    positions = await catalog_positions([(h["id"], h["title_id"]) for h in holds])
    for title_id in {h["title_id"] for h in holds}:
        line = [positions[h["id"]] for h in holds if h["title_id"] == title_id]
        assert line == list(range(1, len(line) + 1))
    assert await _count("SELECT count(*) AS n FROM holds WHERE status = 'ready'") > 0
    assert await seed.seeded_key() == scale.key()

    # The search index was filled: every seeded title is found by its own title.
    titles = await db.connection().execute_query_dict("SELECT id, title FROM titles ORDER BY id LIMIT 5")
    for row in titles:
        found = await search(SearchCache(), row["title"], limit=100)
        assert row["id"] in {t.id for t in found.titles}


async def catalog_positions(holds: list[tuple[int, int]]) -> dict[int, int]:
    from app.domain.circulation import queue_positions

    return await queue_positions(holds)
