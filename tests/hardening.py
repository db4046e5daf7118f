"""Helpers for the hardening tests: a production-mode app, table snapshots, raw HTTP posts."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise

from app.main import create_app
from app.settings import Settings

# Tables a refused login or identity check may legitimately touch: attempts are counted
# before the password is checked, an expired session cookie is swept on sight, and a guest's
# request is charged to its address.
AUTH_BOOKKEEPING = {"auth_throttle", "sessions", "guest_rates"}


def production(settings: Settings, **changes: Any) -> Settings:
    """The test settings as a production deployment would run them (HTTPS, secure cookies)."""
    return settings.replace(app_env="production", public_base_url="https://library.example", **changes)


def production_app(settings: Settings, clock, **changes: Any):
    return create_app(production(settings, **changes), clock, manage_database=False)


async def table_counts(ignore: set[str] = frozenset()) -> dict[str, int]:
    """Row count of every model table (a cheap fingerprint of the database's state)."""
    counts = {}
    for model in Tortoise.apps["models"].values():
        table = model._meta.db_table
        if table not in ignore:
            counts[table] = await model.all().count()
    return counts


def mutation(name: str, input_literal: str, selection: str = "errors { code }") -> str:
    return f"mutation {{ {name}(input: {input_literal}) {{ {selection} }} }}"


async def database_fingerprint(ignore: set[str] = frozenset()) -> dict[str, Any]:
    """Row counts plus the account columns an attack would aim at (passwords, e-mail)."""
    from app.models import Patron, Staff

    return {
        "counts": await table_counts(ignore),
        "patrons": sorted(await Patron.all().values_list(
            "id", "password_hash", "email", "pending_email", "contact_email", "is_active", "updated_at")),
        "staff": sorted(await Staff.all().values_list("id", "password_hash", "is_active")),
    }


def log_output(caplog) -> str:
    """What the captured records look like on stdout (the JSON lines `library serve` writes)."""
    from app.web.request_log import JsonFormatter

    formatter = JsonFormatter()
    # httpx logs the test client's own requests: that is the client side, not the server's log.
    return "\n".join(formatter.format(record) for record in caplog.records
                     if not record.name.startswith(("httpx", "httpcore")))
