"""The `library` command as an IT team meets it: help for everything, a version, a clock that can
be moved outside production, a demo that starts over, and no silent new database."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from app import cli
from app.clock import offset_days
from app.demo import DEMO_PATRONS, load_demo
from app.models import Favorite, Hold, Notice, Patron, Staff, Title
from app.models.enums import CancelReason, HoldStatus
from tests.processes import library_env

SETTINGS_SOURCE = (Path(__file__).resolve().parent.parent / "app" / "settings.py").read_text(encoding="utf-8")


def _library(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def _subcommands() -> dict[str, object]:
    parser = cli.build_parser()
    (choices,) = [a.choices for a in parser._actions if a.dest == "command"]
    return choices


def test_every_command_has_a_description_help_for_every_option_and_names_its_settings():
    commands = _subcommands()
    assert set(commands) == set(cli.COMMAND_SETTINGS)
    for name, parser in commands.items():
        assert parser.description, name
        for action in parser._actions:
            assert action.help, (name, action.dest)
        epilog = parser.format_help()
        assert "Reads no settings." in epilog or "Settings read from the environment:" in epilog
        for setting in cli.COMMAND_SETTINGS[name]:
            # Only names the settings really read.
            assert f'"{setting}"' in SETTINGS_SOURCE, (name, setting)
            assert setting in epilog


def test_help_shows_the_defaults():
    help_text = _subcommands()["serve"].format_help()
    assert "(default: 127.0.0.1)" in help_text and "(default: 8000)" in help_text


def test_library_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert re.fullmatch(r"library \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def test_a_database_url_into_a_missing_directory_is_an_error_not_a_new_database(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "no-such-directory" / "library.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite://{missing}")
    assert cli.main(["migrate"]) == cli.EXIT_SETTINGS
    assert "does not exist" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_the_clock_cannot_be_moved_in_production(monkeypatch, capsys):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.setenv("LIBRARY_TODAY", "")
    assert cli.main(["expire-holds", "--today", "+8"]) == cli.EXIT_SETTINGS
    assert "not allowed when APP_ENV=production" in capsys.readouterr().err


@pytest.fixture
async def demo(deps):
    assert await load_demo(deps, titles=60)


async def test_expire_holds_at_a_chosen_date_moves_the_copy_on(demo, database, smtp_server):
    """The walk-through of docs/operations.md ("Trying another date"), with the real commands."""
    hanako = await Patron.get(card_number=DEMO_PATRONS[0].card_number)
    ready = await Hold.get(patron=hanako, status=HoldStatus.READY)
    next_in_line = await Hold.filter(title_id=ready.title_id, status=HoldStatus.WAITING).order_by("placed_at").first()
    env = library_env(database, smtp_port=smtp_server.port)

    on_deadline = _library("expire-holds", "--today", ready.pickup_deadline.isoformat(), env=env)
    assert on_deadline.returncode == 0, on_deadline.stderr
    assert (await Hold.get(id=ready.id)).status == HoldStatus.READY

    day_after = (ready.pickup_deadline + timedelta(days=1)).isoformat()
    expired = _library("expire-holds", "--today", day_after, env=env)
    assert expired.returncode == 0, expired.stderr
    assert "Expired 1 uncollected hold(s): 1 copy(ies) kept for the next in line" in expired.stderr
    expired_hold = await Hold.get(id=ready.id)
    assert (expired_hold.status, expired_hold.cancel_reason) == (HoldStatus.CANCELLED, CancelReason.EXPIRED)
    moved_on = await Hold.get(id=next_in_line.id)
    assert moved_on.status == HoldStatus.READY and moved_on.pickup_deadline > ready.pickup_deadline

    sent = _library("send-mail", "--today", day_after, env=env)
    assert sent.returncode == 0 and "failed 0" in sent.stderr, sent.stderr
    next_patron = await Patron.get(id=moved_on.patron_id)
    assert any("貸出準備完了" in mail.subject for mail in smtp_server.to(next_patron.contact_email))
    assert await Notice.filter(dedupe_key__startswith=f"hold_ready:{moved_on.id}:").exists()


async def test_demo_reset_starts_over_after_trying_the_examples(demo, database):
    await Favorite.all().delete()
    env = library_env(database)
    again = _library("demo", "--titles", "50", env=env)
    assert again.returncode == 0 and "left as it is" in again.stderr
    assert await Title.all().count() == 60 and not await Favorite.exists()

    reset = _library("demo", "--reset", "--titles", "50", env=env)
    assert reset.returncode == 0, reset.stderr
    assert await Title.all().count() == 50 and await Favorite.exists()

    refused = _library("demo", "--reset", env={**env, "APP_ENV": "production"})
    assert refused.returncode == 2 and await Title.all().count() == 50


async def test_create_staff_asks_for_the_password_when_it_is_not_on_the_command_line(database):
    env = library_env(database)
    created = _library("create-staff", "--username", "kaori", env=env, stdin="long-enough-pw\nlong-enough-pw\n")
    assert created.returncode == 0, created.stderr
    assert await Staff.filter(username="kaori").exists()

    differ = _library("create-staff", "--username", "jiro", env=env, stdin="long-enough-pw\nsomething-else\n")
    assert differ.returncode == 1 and "differ" in differ.stderr
    assert not await Staff.filter(username="jiro").exists()
