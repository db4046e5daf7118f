"""Upgrading a catalogued library to the search of migration 0004: every existing title gets its
search columns and is found, ranked and sorted as a newly imported one would be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {
    "猫 relevance": ["猫", "猫の事務所", "吾輩は猫である"],
    "猫 newest": ["猫", "猫の事務所", "吾輩は猫である"],
    "猫 title_reading": ["猫", "猫の事務所", "吾輩は猫である"],
    "ねこ relevance": ["猫", "猫の事務所", "吾輩は猫である"],
    "宮沢 relevance": ["猫の事務所", "銀河鉄道の夜"],
    "宮沢 title_reading": ["銀河鉄道の夜", "猫の事務所"],
    "鉄道 relevance": ["銀河鉄道の夜"],
}


def _upgrade(url: str) -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-m", "tests.search_upgrade", url], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _check(found: dict[str, list[str]]) -> None:
    for key, titles in EXPECTED.items():
        assert found[key] == titles, key


def test_an_upgraded_sqlite_catalog_is_searched_like_a_new_one(tmp_path):
    _check(_upgrade(f"sqlite://{tmp_path / 'upgrade.sqlite3'}"))


async def test_an_upgraded_postgresql_catalog_is_searched_like_a_new_one():
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        import pytest

        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL); a scratch database beside it is used")
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_upgrade"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    _check(_upgrade(urlunsplit(parts._replace(path=f"/{name}"))))
