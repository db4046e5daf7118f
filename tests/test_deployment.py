"""What an operator meets: a private SQLite file, only the configured host names, and a
configuration mistake told in one line with a non-zero exit."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from app import cli, db
from app.settings import Settings
from tests.conftest import http_client


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_database_its_wal_and_its_directory_are_the_service_users_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default database, ./data/library.sqlite3, made on first use
    path = tmp_path / "data" / "library.sqlite3"
    db.tortoise_config("sqlite://data/library.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        wal = path.with_name(path.name + "-wal")
        assert wal.exists()
        assert (mode(path.parent), mode(path), mode(wal)) == (0o700, 0o600, 0o600)


def test_an_existing_database_that_others_could_read_is_narrowed(tmp_path):
    path = tmp_path / "library.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    db.tortoise_config(f"sqlite://{path}")
    assert mode(path) == 0o600


# --- host names ---------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [("POST", "/graphql/"), ("GET", "/email/confirm/?token=secret-token"),
                                          ("POST", "/graphql")])
async def test_a_foreign_host_is_refused_and_never_redirected_to(app, method, path):
    async with http_client(app, base_url="http://attacker.example") as http:
        response = await http.request(method, path, json={"query": "{ __typename }"})
    assert response.status_code == 400
    assert "location" not in response.headers and "secret-token" not in response.text


async def test_the_apps_own_host_is_served_and_redirects_stay_on_it(app):
    async with http_client(app) as http:
        response = await http.post("/graphql/", json={"query": "{ __typename }"})
    assert response.status_code == 307 and response.headers["location"].startswith("http://testserver/")


def test_production_answers_to_its_public_host_only_unless_told_otherwise():
    public = Settings(app_env="production", public_base_url="https://opac.example.jp")
    assert public.hosts == ["opac.example.jp"]
    assert "localhost" in Settings(public_base_url="http://127.0.0.1:8000").hosts
    listed = Settings.from_env({"SECRET_KEY": "k", "ALLOWED_HOSTS": "opac.example.jp, OPAC2.example.jp"})
    assert listed.hosts == ["opac.example.jp", "opac2.example.jp"]


# --- configuration errors -----------------------------------------------------------------


@pytest.mark.parametrize("variables, exit_code, says", [
    ({"LOAN_DAYS": "abc"}, cli.EXIT_SETTINGS, "LOAN_DAYS must be a whole number, not 'abc'"),
    ({"APP_ENV": "production", "SECRET_KEY": ""}, cli.EXIT_SETTINGS, "SECRET_KEY must be set"),
    ({"DATABASE_URL": "mysql://library@db/library"}, cli.EXIT_SETTINGS, "DATABASE_URL must be sqlite://"),
    ({"LIBRARY_TIMEZONE": "Asia/Tokio"}, cli.EXIT_SETTINGS, "LIBRARY_TIMEZONE is not a time zone"),
    ({"DATABASE_URL": "postgres://library:s3cret@127.0.0.1:1/library"}, cli.EXIT_DATABASE,
     "Cannot use the database postgres://library@127.0.0.1:1/library: ConnectionRefusedError"),
])
@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["worker"]])
def test_a_setting_that_cannot_work_ends_in_one_line_and_a_non_zero_exit(monkeypatch, capsys, tmp_path, command,
                                                                         variables, exit_code, says):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server must not start"))
    monkeypatch.setenv("SECRET_KEY", "k")
    monkeypatch.setenv("DATABASE_URL", f"sqlite://{tmp_path}/library.sqlite3")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert cli.main(command) == exit_code
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and "s3cret" not in err
