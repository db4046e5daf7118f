"""A library upgrading to migration 0004 with titles already catalogued: the database is migrated
up to the migration before it, titles are written as that version wrote them (search text only,
0003's indexes kept by its triggers), then the rest of the migrations run and the search is asked.
Run by `tests/test_catalog_search_upgrade.py` in a process of its own (migrations open and close
the ORM's connections).

    python -m tests.search_upgrade sqlite:///tmp/upgrade.sqlite3   # prints JSON
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timezone

from app import db
from app.domain.catalog_search import SearchCache, SearchSort, search
from app.domain.normalize import search_key_of_parts

BEFORE = "models.0008_privacy_live_calendar"
TITLES = [  # title, reading, author, author reading, publisher, year
    ("吾輩は猫である", "ワガハイハネコデアル", "夏目漱石", "ナツメ ソウセキ", "岩波書店", 1905),
    ("猫", "ネコ", "佐藤花子", "サトウ ハナコ", "新潮社", 2001),
    ("銀河鉄道の夜", "ギンガテツドウノヨル", "宮沢賢治", "ミヤザワ ケンジ", "新潮社", 1934),
    ("猫の事務所", "ネコノジムショ", "宮沢賢治", "ミヤザワ ケンジ", "偕成社", 1994),
]


def _old_search_text(*parts: str) -> str:
    """The search text as 0003's code wrote it: folded parts, the empty ones left out."""
    return " ".join(k for k in search_key_of_parts(list(parts)) if k)


async def _main(url: str) -> None:
    from tortoise.migrations.api import migrate

    await migrate(config=db.tortoise_config(url), target=BEFORE)
    await db.close_db()
    await db.init_db(url)
    try:
        conn = db.connection()
        postgres = db.is_postgres(conn)
        now = datetime(2026, 11, 28, tzinfo=timezone.utc)
        marks = ", ".join(f"${i}" if postgres else "?" for i in range(1, 13))
        for title, kana, author, author_kana, publisher, year in TITLES:
            await conn.execute_query(
                "INSERT INTO titles (title, title_kana, author, author_kana, publisher, publisher_kana, published_year, "
                f"ndc, material_type, search_text, created_at, updated_at) VALUES ({marks})",
                [title, kana, author, author_kana, publisher, "", year, "", "book",
                 _old_search_text(title, kana, author, author_kana, publisher), now, now])
    finally:
        await db.close_db()
    await db.migrate(url)
    await db.init_db(url)
    try:
        found = {}
        for keyword in ("猫", "ねこ", "宮沢", "鉄道"):
            for sort in SearchSort:
                page = await search(SearchCache(), keyword, sort=sort)
                found[f"{keyword} {sort.value}"] = [t.title for t in page.titles]
        print(json.dumps(found, ensure_ascii=False))
    finally:
        await db.close_db()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
