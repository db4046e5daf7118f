"""A realistic, deterministic data set for the benchmark, written with bulk inserts.

Everything is generated in memory from word lists (`bench.words`) with one seeded random
generator, then written table by table: multi-row INSERTs / executemany on SQLite, COPY on
PostgreSQL. Titles get their search columns from the app's own `indexed_columns`, as a
catalog import writes them; the search index is then built in one pass with migration 0004's
own statements (SQLite: the FTS5 rebuild; PostgreSQL: the GIN index created after the COPY),
which is what row-by-row index maintenance would leave, minutes sooner. `--titles` scales every
table with the catalog. The database is migrated with `app.db.migrate`.

Consistency kept (checked by `check`): every current loan is on a loanable copy whose status
is on loan, and no copy is on two loans; waiting holds are on titles whose loanable copies
are all out, with distinct placement times (a strict queue); each ready hold keeps its own
copy on the hold shelf; a patron has at most `hold_limit` active holds, one per title.
"""

from __future__ import annotations

import bisect
import importlib
import random
import time
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from app import db
from app.domain.search_index import TitleFields, indexed_columns
from app.domain.catalog_import import _analyze
from app.domain.security import PasswordHasher
from app.models import Title
from app.settings import Policy, Settings
from bench import words

# Bump when the generated data changes: a database seeded by another version is reseeded.
SEED_VERSION = 3
PASSWORD = "bench123"
TZ = ZoneInfo("Asia/Tokyo")
META_TABLE = "bench_seed"


@dataclass(frozen=True)
class Scale:
    titles: int = 300_000
    copies: int = 400_000
    patrons: int = 50_000
    loans: int = 100_000
    holds: int = 20_000
    heavy_patrons: int = 100  # patrons with `heavy_loans` loans each
    heavy_loans: int = 30
    favorites: int = 100_000
    bookshelves: int = 10_000
    shelf_entries: int = 50_000
    cart_entries: int = 30_000
    reading_goals: int = 10_000
    seed: int = 7

    @classmethod
    def sized(cls, titles: int) -> Scale:
        """The same proportions for `titles` titles (a smaller or larger library)."""
        f = titles / cls.titles
        full = cls()
        sized = {k: max(1, round(v * f)) for k, v in asdict(full).items()
                 if k not in ("heavy_loans", "seed")}
        return replace(full, **sized)

    @classmethod
    def tiny(cls, titles: int = 200) -> Scale:
        """A few hundred titles (the smoke test)."""
        return cls.sized(titles)

    def key(self) -> str:
        return f"v{SEED_VERSION}:" + ",".join(f"{k}={v}" for k, v in asdict(self).items())


@dataclass
class Report:
    seconds: float
    rows: dict[str, int]


# --- generation -----------------------------------------------------------------------------


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Callable[[], Any]:
    values, weights = zip(*pairs)
    cum = []
    total = 0
    for w in weights:
        total += w
        cum.append(total)

    return lambda: values[bisect.bisect_right(cum, rng.random() * total)]


_MATERIAL = [("book", 80), ("picture_book", 10), ("magazine", 3), ("kamishibai", 2), ("cd", 2), ("dvd", 2),
             ("other", 1)]


def _titles(rng: random.Random, n: int, now: datetime) -> list[list[Any]]:
    material = _weighted(rng, _MATERIAL)
    today = now.astimezone(TZ).date()
    first_day = today - timedelta(days=15 * 365)
    rows = []
    for i in range(1, n + 1):
        pattern, reading = rng.choice(words.PATTERNS)
        a, b = rng.sample(words.NOUNS, 2)
        title = pattern.format(a=a[0], b=b[0])
        title_kana = reading.format(a=a[1], b=b[1])
        if rng.random() < 0.15:
            volume = rng.randint(1, 12)
            title, title_kana = f"{title} {volume}", f"{title_kana} {volume}"
        if rng.random() < 0.1:
            author = rng.choice(words.FOREIGN_AUTHORS)
            author_kana = author.replace("・", " ")
        else:
            (sur, sur_kana), (given, given_kana) = rng.choice(words.SURNAMES), rng.choice(words.GIVEN_NAMES)
            author, author_kana = f"{sur}{given}", f"{sur_kana} {given_kana}"
        publisher, publisher_kana = rng.choice(words.PUBLISHERS)
        # Newer records have higher ids; the last 1% arrived within the last month.
        arrived = first_day + timedelta(days=(i * 15 * 365) // n)
        if i > n * 0.99:
            arrived = today - timedelta(days=rng.randint(0, 29))
        kind = material()
        search = indexed_columns(TitleFields(title, title_kana, author, author_kana, publisher, publisher_kana, kind))
        rows.append([
            i, title, title_kana, author, author_kana, publisher, publisher_kana,
            rng.randint(max(1950, arrived.year - 30), arrived.year), f"978{4000000000 + i:010d}",
            f"{rng.randint(0, 999):03d}", kind, search["search_text"], search["search_grams"],
            search["title_reading_key"], arrived, now, now,
        ])
    return rows


TITLE_COLUMNS = ["id", "title", "title_kana", "author", "author_kana", "publisher", "publisher_kana",
                 "published_year", "isbn", "ndc", "material_type", "search_text", "search_grams",
                 "title_reading_key", "arrived_on", "created_at", "updated_at"]
ITEM_COLUMNS = ["id", "barcode", "title_id", "status", "location", "loanable", "created_at"]
PATRON_COLUMNS = ["id", "card_number", "name_kana", "birth_date", "phone", "email", "contact_email",
                  "pending_email", "password_hash", "password_set_at", "notify_due_reminder",
                  "reading_history_enabled_at", "hold_lock", "is_active", "created_at", "updated_at"]
LOAN_COLUMNS = ["id", "item_id", "title_id", "patron_id", "checked_out_at", "due_date", "renewal_count",
                "last_renewed_at", "returned_at"]
HOLD_COLUMNS = ["id", "patron_id", "title_id", "source", "status", "contact_email", "placed_at", "placed_by_id",
                "item_id", "ready_at", "pickup_deadline", "fulfilled_at", "cancelled_at", "cancel_reason"]


def generate(scale: Scale, now: datetime, password_hash: str) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every row of the data set, by table (columns, rows), in insertion order."""
    rng = random.Random(scale.seed)
    policy = Policy()
    today = now.astimezone(TZ).date()
    tables: dict[str, tuple[list[str], list[list[Any]]]] = {}

    titles = _titles(rng, scale.titles, now)
    tables["titles"] = (TITLE_COLUMNS, titles)

    # Copies: one per title, the rest spread at random; a few reference-only or missing.
    copy_titles = list(range(1, scale.titles + 1))
    copy_titles += [rng.randint(1, scale.titles) for _ in range(max(0, scale.copies - scale.titles))]
    items = []
    for item_id, title_id in enumerate(copy_titles, 1):
        r = rng.random()
        status = "missing" if r < 0.005 else "withdrawn" if r < 0.01 else "available"
        items.append([item_id, f"B{item_id:09d}", title_id, status, rng.choice(words.LOCATIONS),
                      rng.random() >= 0.03, now])
    copies_of: dict[int, list[list[Any]]] = {}
    for item in items:
        copies_of.setdefault(item[2], []).append(item)

    patrons = []
    for pid in range(1, scale.patrons + 1):
        kana = rng.choice(words.SURNAMES)[1] + rng.choice(words.GIVEN_NAMES)[1]
        email = f"patron{pid}@example.jp" if rng.random() < 0.6 else None
        patrons.append([pid, f"10{pid:07d}", kana, date(rng.randint(1940, 2018), rng.randint(1, 12), rng.randint(1, 28)),
                        f"092{rng.randint(0, 9999999):07d}", email, email, None, password_hash, now, True, None, 0,
                        True, now, now])
    tables["patrons"] = (PATRON_COLUMNS, patrons)

    # Loans: heavy patrons (spread over the id range) have `heavy_loans`; the others 0-5.
    counts = [0] * (scale.patrons + 1)
    heavy = set(range(1, scale.patrons + 1, max(1, scale.patrons // scale.heavy_patrons))[: scale.heavy_patrons])
    for pid in heavy:
        counts[pid] = scale.heavy_loans
    others = [pid for pid in range(1, scale.patrons + 1) if pid not in heavy]
    draw = _weighted(rng, [(0, 20), (1, 25), (2, 20), (3, 15), (4, 10), (5, 10)])
    for pid in others:
        counts[pid] = draw()
    target = max(0, scale.loans - sum(counts[p] for p in heavy))
    total = sum(counts[p] for p in others)
    cap = max(5, -(-target // max(1, len(others))))
    while total != target and others:
        pid = rng.choice(others)
        if total < target and counts[pid] < cap:
            counts[pid] += 1
            total += 1
        elif total > target and counts[pid] > 0:
            counts[pid] -= 1
            total -= 1
    lendable = [it for it in items if it[5] and it[3] == "available"]
    borrowers = [pid for pid in range(1, scale.patrons + 1) for _ in range(counts[pid])]
    rng.shuffle(borrowers)
    lent = rng.sample(lendable, min(len(lendable), len(borrowers)))
    loans = []
    on_loan_titles: dict[int, set[int]] = {}
    for loan_id, (pid, item) in enumerate(zip(borrowers, lent), 1):
        item[3] = "on_loan"
        out_at = now - timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 600))
        renewed = rng.random() < 0.2
        due = out_at.astimezone(TZ).date() + timedelta(days=policy.loan_days * (2 if renewed else 1))
        loans.append([loan_id, item[0], item[2], pid, out_at, due, int(renewed),
                      out_at + timedelta(days=7) if renewed else None, None])
        on_loan_titles.setdefault(pid, set()).add(item[2])

    # Holds. Waiting ones queue for titles whose loanable copies are all out.
    active: dict[int, set[int]] = {}

    def patron_for(title_id: int) -> int | None:
        for _ in range(20):
            pid = rng.randint(1, scale.patrons)
            mine = active.setdefault(pid, set())
            if len(mine) < policy.hold_limit and title_id not in mine and title_id not in on_loan_titles.get(pid, ()):
                mine.add(title_id)
                return pid
        return None

    def all_out(title_id: int) -> bool:
        copies = [c for c in copies_of.get(title_id, []) if c[5] and c[3] not in ("missing", "withdrawn")]
        return bool(copies) and all(c[3] == "on_loan" for c in copies)

    holds: list[list[Any]] = []
    ready_target = scale.holds // 5
    waiting_target = scale.holds - ready_target
    out_titles = sorted({item[2] for item in lent if all_out(item[2])})
    rng.shuffle(out_titles)
    queue_length = _weighted(rng, [(1, 50), (2, 25), (3, 15), (4, 7), (6, 3)])
    waited: set[int] = set()
    for title_id in out_titles:
        if len(holds) >= waiting_target:
            break
        placed = now - timedelta(days=rng.randint(10, 60))
        for _ in range(min(queue_length(), waiting_target - len(holds))):
            pid = patron_for(title_id)
            if pid is None:
                continue
            placed += timedelta(hours=rng.randint(1, 48), seconds=rng.randint(0, 3599))
            holds.append([len(holds) + 1, pid, title_id, "web" if rng.random() < 0.7 else "counter", "waiting",
                          None, placed, None, None, None, None, None, None, None])
            waited.add(title_id)
    # Ready holds: a copy on the shelf is trapped for the patron (one ready hold per copy).
    shelf = [it for it in items if it[5] and it[3] == "available" and it[2] not in waited]
    for item in rng.sample(shelf, min(len(shelf), ready_target)):
        pid = patron_for(item[2])
        if pid is None:
            continue
        item[3] = "on_hold_shelf"
        ready_at = now - timedelta(days=rng.randint(0, 6), minutes=rng.randint(0, 600))
        placed = ready_at - timedelta(days=rng.randint(1, 30))
        deadline = ready_at.astimezone(TZ).date() + timedelta(days=policy.pickup_days)
        holds.append([len(holds) + 1, pid, item[2], "web", "ready", None, placed, None, item[0], ready_at,
                      deadline, None, None, None])
    tables["items"] = (ITEM_COLUMNS, items)
    tables["loans"] = (LOAN_COLUMNS, loans)
    tables["holds"] = (HOLD_COLUMNS, holds)

    def pairs(n: int, per_patron_max: int, patron_ids: list[int] | None = None) -> list[tuple[int, int]]:
        seen: set[tuple[int, int]] = set()
        per: dict[int, int] = {}
        out = []
        tries = 0
        while len(out) < n and tries < n * 5:
            tries += 1
            pid = rng.choice(patron_ids) if patron_ids else rng.randint(1, scale.patrons)
            tid = rng.randint(1, scale.titles)
            if (pid, tid) in seen or per.get(pid, 0) >= per_patron_max:
                continue
            seen.add((pid, tid))
            per[pid] = per.get(pid, 0) + 1
            out.append((pid, tid))
        return out

    # The hold cart and favorites gather on a minority of patrons, as they do.
    keen = rng.sample(range(1, scale.patrons + 1), max(1, scale.patrons // 5))
    tables["hold_cart_entries"] = (["id", "patron_id", "title_id", "added_at"], [
        [i, pid, tid, now - timedelta(minutes=i)] for i, (pid, tid) in enumerate(pairs(scale.cart_entries, policy.hold_cart_limit, keen), 1)
    ])
    tables["favorites"] = (["id", "patron_id", "title_id", "created_at"], [
        [i, pid, tid, now - timedelta(minutes=i)] for i, (pid, tid) in enumerate(pairs(scale.favorites, 500, keen), 1)
    ])
    names = ["読みたい本", "子どもと読む", "料理", "旅の本", "好きな作家", "仕事の本", "また借りる"]
    shelves, shelf_keys = [], set()
    while len(shelves) < scale.bookshelves and len(shelf_keys) < len(keen) * len(names):
        key = (rng.choice(keen), rng.choice(names))
        if key not in shelf_keys:
            shelf_keys.add(key)
            shelves.append([len(shelves) + 1, key[0], key[1], now, now])
    tables["bookshelves"] = (["id", "patron_id", "name", "created_at", "updated_at"], shelves)
    entries = pairs(scale.shelf_entries, 500, [s[0] for s in shelves]) if shelves else []
    tables["bookshelf_entries"] = (["id", "bookshelf_id", "title_id", "added_at"], [
        [i, sid, tid, now] for i, (sid, tid) in enumerate(entries, 1)
    ])

    # 読書マラソン: a goal for this year and loans counted per day so far.
    start, end = date(today.year, 1, 1), date(today.year, 12, 31)
    goals, tallies = [], []
    for i, pid in enumerate(sorted(rng.sample(range(1, scale.patrons + 1), min(scale.patrons, scale.reading_goals))), 1):
        goals.append([i, pid, rng.choice([12, 24, 50, 100]), start, end, now])
        days = sorted(rng.sample(range((today - start).days + 1), min((today - start).days + 1, rng.randint(0, 12))))
        for d in days:
            tallies.append([len(tallies) + 1, pid, start + timedelta(days=d), rng.randint(1, 3)])
    tables["reading_goals"] = (["id", "patron_id", "target", "period_start", "period_end", "updated_at"], goals)
    tables["reading_tallies"] = (["id", "patron_id", "day", "count"], tallies)
    return tables


# --- writing --------------------------------------------------------------------------------


_SEARCH_MIGRATION = "app.migrations.0004_search_at_scale"
_GIN_INDEX = "titles_search_grams"


async def _write(table: str, columns: list[str], rows: list[list[Any]]) -> None:
    conn = db.connection()
    if not rows:
        return
    search = importlib.import_module(_SEARCH_MIGRATION)
    if db.is_postgres(conn):
        gin = next(s for s in search.POSTGRES_UP if f"INDEX IF NOT EXISTS {_GIN_INDEX}" in s)
        if table == "titles":
            await conn.execute_script(f"DROP INDEX IF EXISTS {_GIN_INDEX}")
        if table in ("titles", "items"):
            # The catalog versions' triggers would queue one event per row until the COPY ends.
            await conn.execute_script(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        async with conn.acquire_connection() as raw:
            await raw.copy_records_to_table(table, records=[tuple(r) for r in rows], columns=columns)
        await conn.execute_script(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
        if table in ("titles", "items"):
            await conn.execute_script(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        if table == "titles":
            async with conn.acquire_connection() as raw, raw.transaction():
                await raw.execute("SET LOCAL maintenance_work_mem = '512MB'")
                await raw.execute(gin)
    elif table == "titles":
        # The app's own bulk insert, then the index built by migration 0004's own statement
        # (its rebuild of existing titles); row-by-row triggers would take minutes. The
        # triggers come back once the copies are written too (`seed`).
        for name in search.SQLITE_TRIGGER_NAMES:
            await conn.execute_script(f"DROP TRIGGER IF EXISTS {name}")
        await db.bulk_insert(Title, columns, rows)
        for statement in search.SQLITE_INDEX:
            if "rebuild" in statement:
                await conn.execute_script(statement)
    else:
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        for start in range(0, len(rows), 50_000):
            await conn.execute_many(sql, rows[start: start + 50_000])


async def seeded_key() -> str | None:
    """The `Scale.key()` the open database was seeded with, or None."""
    conn = db.connection()
    try:
        rows = await conn.execute_query_dict(f"SELECT value FROM {META_TABLE} WHERE key = 'scale'")
    except Exception:
        return None
    return rows[0]["value"] if rows else None


async def seed(scale: Scale, *, now: datetime | None = None, hasher_settings: Settings | None = None,
               log: Callable[[str], None] = lambda _: None) -> Report:
    """Write the data set into the open, migrated, empty database (ORM initialised)."""
    started = time.perf_counter()
    now = now or datetime.now(timezone.utc)
    password_hash = await PasswordHasher(hasher_settings or Settings()).hash(PASSWORD)
    tables = generate(scale, now, password_hash)
    log(f"generated in {time.perf_counter() - started:.1f} s")
    order = ["titles", "items", "patrons", "loans", "holds", "hold_cart_entries", "favorites", "bookshelves",
             "bookshelf_entries", "reading_goals", "reading_tallies"]
    for table in order:
        t0 = time.perf_counter()
        columns, rows = tables[table]
        await _write(table, columns, rows)
        log(f"{table}: {len(rows):,} rows in {time.perf_counter() - t0:.1f} s")
    conn = db.connection()
    if not db.is_postgres(conn):
        for statement in importlib.import_module(_SEARCH_MIGRATION).SQLITE_TRIGGERS:
            await conn.execute_script(statement)
    # Counts a running process cached before the seed are no longer the catalog's.
    await conn.execute_script("UPDATE catalog_versions SET version = version + 1")
    await _analyze()
    if db.is_postgres(conn):
        # As a database that has run for a while: statistics, and the visibility map that lets
        # index-only scans skip the table.
        await conn.execute_script("VACUUM ANALYZE")
    await conn.execute_script(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR(32) PRIMARY KEY, value TEXT)")
    await conn.execute_script(f"DELETE FROM {META_TABLE}")
    await conn.execute_query(f"INSERT INTO {META_TABLE} (key, value) VALUES ('scale', {'$1' if db.is_postgres(conn) else '?'})",
                             [scale.key()])
    return Report(time.perf_counter() - started, {t: len(tables[t][1]) for t in order})


# --- consistency ----------------------------------------------------------------------------


async def check() -> list[str]:
    """Violations of the invariants the seed promises (empty when consistent)."""
    conn = db.connection()
    problems = []
    queries = {
        "loan on a copy that is not loanable or not on loan":
            "SELECT count(*) AS n FROM loans l JOIN items i ON i.id = l.item_id "
            "WHERE l.returned_at IS NULL AND (NOT i.loanable OR i.status <> 'on_loan')",
        "copies on loan without exactly one current loan":
            "SELECT count(*) AS n FROM items i WHERE i.status = 'on_loan' AND "
            "(SELECT count(*) FROM loans l WHERE l.item_id = i.id AND l.returned_at IS NULL) <> 1",
        "loan title differs from its copy's title":
            "SELECT count(*) AS n FROM loans l JOIN items i ON i.id = l.item_id WHERE l.title_id <> i.title_id",
        "waiting hold on a title with a copy on the shelf":
            "SELECT count(*) AS n FROM holds h WHERE h.status = 'waiting' AND EXISTS (SELECT 1 FROM items i "
            "WHERE i.title_id = h.title_id AND i.loanable AND i.status = 'available')",
        "two waiting holds of one title placed at the same time":
            "SELECT count(*) AS n FROM (SELECT title_id, placed_at FROM holds WHERE status = 'waiting' "
            "GROUP BY title_id, placed_at HAVING count(*) > 1) d",
        "ready hold whose copy is not on the hold shelf":
            "SELECT count(*) AS n FROM holds h LEFT JOIN items i ON i.id = h.item_id WHERE h.status = 'ready' "
            "AND (i.id IS NULL OR i.status <> 'on_hold_shelf' OR i.title_id <> h.title_id OR h.pickup_deadline IS NULL)",
        "copy on the hold shelf without a ready hold":
            "SELECT count(*) AS n FROM items i WHERE i.status = 'on_hold_shelf' AND NOT EXISTS "
            "(SELECT 1 FROM holds h WHERE h.item_id = i.id AND h.status = 'ready')",
        "patron over the hold limit":
            f"SELECT count(*) AS n FROM (SELECT patron_id FROM holds WHERE status IN ('waiting', 'ready') "
            f"GROUP BY patron_id HAVING count(*) > {Policy().hold_limit}) p",
    }
    for name, sql in queries.items():
        n = (await conn.execute_query_dict(sql))[0]["n"]
        if n:
            problems.append(f"{name}: {n}")
    return problems
