"""Reads on SQLite (`app.sqlite_client`): the hand-written reads run on read-only connections
of their own, those started together in one hand-off, and answer exactly what reading them one
by one on the writing connection answers. (On PostgreSQL the same reads go over the pool: the
tests that do not depend on SQLite's connections run there too.)"""

from __future__ import annotations

import asyncio
import contextvars

import pytest
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from app import db
from app.models import Title
from app import sqlite_client
from bench.statements import counting_statements
from tests.support import make_title

def _on_sqlite() -> bool:
    return not db.is_postgres()


READS = [
    ("SELECT id, title FROM titles ORDER BY id", ()),
    ("SELECT count(*) AS n FROM titles WHERE title LIKE ?", ("%鉄道%",)),
    ("SELECT title FROM titles WHERE id = ?", (-1,)),
    ("SELECT material_type AS m, count(*) AS n FROM titles GROUP BY material_type ORDER BY m", ()),
]


async def _catalog(deps) -> None:
    for name in ("銀河鉄道の夜", "鉄道員", "注文の多い料理店", "風の又三郎"):
        await make_title(deps, name)


async def test_reads_started_together_answer_as_reads_one_by_one_on_the_writing_connection(deps):
    await _catalog(deps)
    together = await asyncio.gather(*(db.fetch(sql, *params) for sql, params in READS))
    conn = db.connection()
    one_by_one = [await conn.execute_query_dict(db._placeholders(sql, db.is_postgres()), list(params))
                  for sql, params in READS]
    assert together == one_by_one
    assert [row["title"] for row in together[0]] == ["銀河鉄道の夜", "鉄道員", "注文の多い料理店", "風の又三郎"]
    assert together[1] == [{"n": 2}] and together[2] == []


async def test_reads_of_one_turn_go_to_the_database_in_one_hand_off(deps, monkeypatch):
    if not _on_sqlite():
        pytest.skip("SQLite's reader connections")
    await _catalog(deps)
    batches = _recorded_batches(monkeypatch)
    await asyncio.gather(*(db.fetch(sql, *params) for sql, params in READS))
    await db.fetch(*READS[0][:1])
    assert [len(batch) for batch in batches] == [len(READS), 1]


def _recorded_batches(monkeypatch) -> list[list[str]]:
    """The statements of each hand-off to a reader, from now on (until the test ends)."""
    batches: list[list[str]] = []
    original = sqlite_client.BatchedReads.__dict__["execute"].__func__

    async def recording(connection, statements):
        batches.append([sql for sql, _params in statements])
        return await original(connection, statements)

    monkeypatch.setattr(sqlite_client.BatchedReads, "execute", staticmethod(recording))
    return batches


async def _one_busy_reader(monkeypatch):
    """The database's only reader, taken: batches wait for it until it is released."""
    monkeypatch.setattr(sqlite_client, "READERS", 1)
    reads = db.connection().reads
    await reads.close()
    return reads, await reads._reader()


async def test_each_request_s_reads_go_in_a_batch_of_their_own(deps, monkeypatch):
    """Two requests' reads started in the same turn are not made to wait for each other: each
    request's go to a reader in one hand-off, the other's in another."""
    if not _on_sqlite():
        pytest.skip("SQLite's reader connections")
    await _catalog(deps)

    async def request(name: str) -> list[list[dict]]:
        db.one_request()
        return await asyncio.gather(db.fetch("SELECT ? AS who, count(*) AS n FROM titles", name),
                                    db.fetch("SELECT ? AS who, max(id) AS m FROM titles", name))

    batches = _recorded_batches(monkeypatch)
    first, second = await asyncio.gather(
        asyncio.create_task(request("first"), context=contextvars.Context()),
        asyncio.create_task(request("second"), context=contextvars.Context()))
    assert [r[0]["who"] for r in first] == ["first", "first"] and first[0][0]["n"] == 4
    assert [r[0]["who"] for r in second] == ["second", "second"]
    assert sorted(map(len, batches)) == [2, 2]


async def test_a_free_reader_takes_the_oldest_request_s_reads_and_the_others_wait_their_turn(deps, monkeypatch):
    """Reads wait in the order they were started; a reader takes the oldest one's request's
    reads, those it started while waiting included, and the next request's after that."""
    if not _on_sqlite():
        pytest.skip("SQLite's reader connections")
    await _catalog(deps)
    reads, reader = await _one_busy_reader(monkeypatch)
    finished: list[str] = []
    more = asyncio.Event()

    async def first() -> None:
        db.one_request()
        started = asyncio.ensure_future(db.fetch("SELECT 'first' AS who"))
        await more.wait()  # another read of the same request, after the others were queued
        await asyncio.gather(started, db.fetch("SELECT 'first, again' AS who"))
        finished.append("first")

    async def other(name: str) -> None:
        db.one_request()
        await db.fetch("SELECT ? AS who", name)
        finished.append(name)

    batches = _recorded_batches(monkeypatch)
    tasks = [asyncio.create_task(first(), context=contextvars.Context())]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(other(name), context=contextvars.Context()) for name in ("second", "third")]
    for _ in range(3):
        await asyncio.sleep(0)
    more.set()
    for _ in range(3):
        await asyncio.sleep(0)
    reads._release(reader)
    await asyncio.gather(*tasks)
    assert finished == ["first", "second", "third"]
    assert [len(batch) for batch in batches] == [2, 1, 1]
    assert reads.idle == [reader] and not reads.waiting and not reads.queued and not reads.running


async def test_a_batch_given_up_while_it_waits_leaves_no_reader_behind(deps, monkeypatch):
    if not _on_sqlite():
        pytest.skip("SQLite's reader connections")
    await _catalog(deps)
    reads, reader = await _one_busy_reader(monkeypatch)
    given_up = asyncio.ensure_future(db.fetch("SELECT 1 AS n"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    [batch] = reads.running
    batch.cancel()  # the server stopping
    with pytest.raises(asyncio.CancelledError):
        await given_up
    reads._release(reader)
    assert reads.idle == [reader] and not reads.waiting
    assert await db.fetch("SELECT 2 AS n") == [{"n": 2}]


async def test_a_failing_read_fails_alone_and_the_others_get_their_rows(deps):
    await _catalog(deps)
    results = await asyncio.gather(db.fetch("SELECT count(*) AS n FROM titles"),
                                   db.fetch("SELECT no_such_column FROM titles"),
                                   db.fetch("SELECT count(*) AS n FROM titles WHERE title = ?", "鉄道員"),
                                   return_exceptions=True)
    assert results[0] == [{"n": 4}]
    assert isinstance(results[1], OperationalError)
    assert results[2] == [{"n": 1}]


async def test_a_read_sees_what_was_committed_before_it(deps):
    await _catalog(deps)
    assert (await db.fetch("SELECT count(*) AS n FROM titles"))[0]["n"] == 4
    await Title.filter(title="鉄道員").delete()
    assert (await db.fetch("SELECT count(*) AS n FROM titles"))[0]["n"] == 3


async def test_inside_a_transaction_reads_see_its_writes_and_others_see_them_once_committed(deps):
    await _catalog(deps)
    async with in_transaction():
        await Title.filter(title="鉄道員").update(title="鉄道員（ぽっぽや）")
        inside = await db.fetch("SELECT count(*) AS n FROM titles WHERE title = ?", "鉄道員（ぽっぽや）")
        assert inside == [{"n": 1}]
        if _on_sqlite():
            # A read outside the transaction (another request), meanwhile, sees the catalog as
            # last committed.
            outside = await asyncio.create_task(
                db.fetch("SELECT count(*) AS n FROM titles WHERE title = ?", "鉄道員（ぽっぽや）"),
                context=contextvars.Context())
            assert outside == [{"n": 0}]
    assert await db.fetch("SELECT count(*) AS n FROM titles WHERE title = ?", "鉄道員（ぽっぽや）") == [{"n": 1}]


async def test_a_write_sent_as_a_read_is_refused_and_changes_nothing(deps):
    if not _on_sqlite():
        pytest.skip("SQLite's read-only connections")
    await _catalog(deps)
    with pytest.raises(OperationalError, match="readonly"):
        await db.fetch("DELETE FROM titles")
    assert (await db.fetch("SELECT count(*) AS n FROM titles"))[0]["n"] == 4
    assert await db.write("DELETE FROM titles WHERE title = ? RETURNING title", "鉄道員") == [{"title": "鉄道員"}]
    assert (await db.fetch("SELECT count(*) AS n FROM titles"))[0]["n"] == 3


async def test_many_reads_at_once_share_a_few_connections_and_all_are_answered(deps):
    await _catalog(deps)

    async def later(n: int) -> list[dict]:
        for _ in range(n % 3):
            await asyncio.sleep(0)
        return await db.fetch("SELECT count(*) AS n FROM titles WHERE id > ?", -n)

    results = await asyncio.gather(*(later(n) for n in range(60)))
    assert results == [[{"n": 4}]] * 60
    if _on_sqlite():
        reads = db.connection().reads
        assert 1 <= len(reads.opened) <= sqlite_client.READERS
        assert sorted(map(id, reads.idle)) == sorted(map(id, reads.opened))


async def test_the_statement_counter_counts_each_read_of_a_batch(deps):
    await _catalog(deps)
    with counting_statements() as statements:
        await asyncio.gather(*(db.fetch(sql, *params) for sql, params in READS))
    assert len(statements) == len(READS)


async def test_an_in_memory_database_reads_on_its_own_connection():
    client = sqlite_client.SqliteClient(":memory:", connection_name="memory")
    try:
        await client.execute_script("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1), (2)")
        rows = await asyncio.gather(client.fetch("SELECT sum(a) AS s FROM t", []),
                                    client.fetch("SELECT count(*) AS n FROM t", []))
        assert rows == [[{"s": 3}], [{"n": 2}]]
        assert client.reads.opened == []
    finally:
        await client.close()


async def test_closing_the_database_closes_its_readers(tmp_path):
    client = sqlite_client.SqliteClient(str(tmp_path / "closing.sqlite3"), connection_name="closing")
    await client.execute_script("PRAGMA journal_mode=WAL; CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (7)")
    assert await client.fetch("SELECT a FROM t", []) == [{"a": 7}]
    readers = list(client.reads.opened)
    assert readers
    await client.close()
    assert client.reads.opened == [] and all(r._connection is None for r in readers)
