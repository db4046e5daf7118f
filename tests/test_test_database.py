"""The suite empties the database it runs on, so it refuses one whose name does not say it is for
tests, before connecting to it; and a SQLite run leaves no database file behind."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import is_test_database

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("url", [
    "postgres://postgres@127.0.0.1:5432/test",
    "postgres://postgres@127.0.0.1:5432/test_ops",
    "postgres://library:secret@db.example.jp:5432/library_test",
    "sqlite:///tmp/library-test-x/test.sqlite3",
])
def test_a_database_named_for_tests_may_be_emptied(url):
    assert is_test_database(url)


@pytest.mark.parametrize("url", [
    "postgres://postgres@127.0.0.1:5432/library",
    "postgres://postgres@127.0.0.1:5432/postgres",
    "postgres://postgres@127.0.0.1:5432/contest",
    "postgres://postgres@127.0.0.1:5432/testing",
    "sqlite://data/library.sqlite3",
])
def test_a_database_not_named_for_tests_is_never_emptied(url):
    assert not is_test_database(url)


def _pytest(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_the_suite_refuses_a_production_database_before_touching_it():
    # Nothing listens on port 9: the refusal must come before any connection is tried.
    env = {**os.environ, "TEST_DATABASE_URL": "postgres://postgres@127.0.0.1:9/library"}
    run = _pytest(env, "tests/test_docs.py::test_every_error_code_is_explained_in_the_api_guide")
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert "'library'" in run.stderr and "test_<name>" in run.stderr


def test_a_sqlite_run_leaves_no_database_file_behind():
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
        env["TMPDIR"] = scratch
        run = _pytest(env, "tests/test_demo.py")
        assert run.returncode == 0, run.stdout + run.stderr
        assert not [p for p in Path(scratch).rglob("*") if "sqlite" in p.name]
