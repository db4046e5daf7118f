"""Request logs: one JSON line per request that an operator can use and a patron need not fear."""

from __future__ import annotations

import json
import logging

from strawberry import relay

from app import db
from app.domain import accounts
from app.settings import Settings
from app.web.request_log import logging_config
from tests.conftest import http_client
from tests.hardening import log_output
from tests.support import STAFF_PASSWORD, GraphQLClient, make_staff, make_title

CARD, NAME, BIRTH, PHONE = "105550001", "フクオカハナコ", "20090301", ["092", "942", "1151"]
FIRST_PASSWORD, NEW_PASSWORD, WRONG_PASSWORD = "hana5678", "fuku2026", "wrong999"


async def test_the_logs_of_a_whole_story_hold_no_personal_data(app, deps, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    await make_staff(deps)
    title = await make_title(deps, "はらぺこあおむし")
    async with http_client(app) as desk_http, http_client(app, address="198.51.100.20") as home_http:
        desk, home = GraphQLClient(desk_http), GraphQLClient(home_http)

        # Staff register the patron at the counter.
        await desk.staff_login("desk1", STAFF_PASSWORD)
        registered = await desk.mutate("registerPatron", {"cardNumber": CARD, "nameKana": NAME, "birthDate": BIRTH,
                                                          "phone": PHONE}, "patron { id }")
        patron_id = registered["patron"]["id"]

        # 新規パスワード登録, with a typo first.
        wrong = await home.mutate("verifyPatronIdentity", {"cardNumber": CARD, "nameKana": NAME,
                                                           "birthDate": "20090302", "phone": PHONE})
        assert wrong["errors"][0]["code"] == "IDENTITY_NOT_VERIFIED"
        step1 = await home.mutate("verifyPatronIdentity", {"cardNumber": CARD, "nameKana": "ふくおか はなこ",
                                                           "birthDate": BIRTH, "phone": PHONE}, "ticket")
        ticket = step1["ticket"]
        step2 = await home.mutate("registerPassword", {"ticket": ticket, "password": FIRST_PASSWORD,
                                                       "passwordConfirmation": FIRST_PASSWORD, "issueToken": True},
                                  "token")
        token = step2["token"]

        # Log in with the cookie (a wrong password first), change the password, look around.
        failed = await home.mutate("login", {"cardNumber": CARD, "password": WRONG_PASSWORD})
        assert failed["errors"][0]["code"] == "INVALID_CREDENTIALS"
        await home.login(CARD, FIRST_PASSWORD)
        cookie = next(iter(home_http.cookies.values()))
        changed = await home.mutate("changePassword", {"currentPassword": FIRST_PASSWORD, "newPassword": NEW_PASSWORD,
                                                       "newPasswordConfirmation": NEW_PASSWORD})
        assert changed["errors"] == []
        title_id = relay.to_base64("Title", title.id)
        await home.query("query Look($id: ID!) { node(id: $id) { id } viewer { cardNumber } }", {"id": title_id})
        # The registration token used as a bearer token, and a link with a token in its URL.
        await home_http.post("/graphql", json={"query": "{ viewer { id } }"},
                             headers={"authorization": f"Bearer {token}"})
        await home_http.get(f"/graphql?token={ticket}&query=%7B+viewer+%7B+id+%7D+%7D")
        # Bad inputs: inline literals, a malformed document, a refused content type.
        await home.execute(f'mutation {{ login(input: {{ cardNumber: "{CARD}", password: "{WRONG_PASSWORD}" }}) '
                           "{ errors { code } } }")
        await home.execute(f'{{ viewer {{ id }} "{BIRTH}" ')
        await home_http.post("/graphql", content=f"password={NEW_PASSWORD}",
                             headers={"content-type": "application/x-www-form-urlencoded"})

        # A bug while the desk registers someone: masked, and logged without its message.
        async def broken(*args, **kwargs):
            await db.connection().execute_query(
                f"SELECT * FROM patrons WHERE card_number = '{CARD}' AND birth_date = '{BIRTH}' AND x = 1")

        monkeypatch.setattr(accounts, "register_patron", broken)
        await desk.execute("mutation R($i: RegisterPatronInput!) { registerPatron(input: $i) { errors { code } } }",
                           {"i": {"cardNumber": "105550002", "nameKana": NAME, "birthDate": BIRTH, "phone": PHONE}})

    output = log_output(caplog)
    secrets = [CARD, "105550002", NAME, "ふくおか", BIRTH, "2009-03-01", "20090302", "0929421151", "092-942-1151",
               FIRST_PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, STAFF_PASSWORD, ticket, token, cookie,
               patron_id, title_id, "はらぺこあおむし", "card_number", "SELECT"]
    leaked = [s for s in secrets if s in output]
    assert leaked == [], output

    lines = [json.loads(line) for line in output.splitlines()]
    requests = [line for line in lines if line["logger"] == "library.request"]
    assert len(requests) == 15  # one per request
    assert all(len(line["request_id"]) == 32 and line["duration_ms"] >= 0 for line in requests)
    assert {"operation": "Look", "operation_type": "query", "fields": ["node", "viewer"], "status": 200,
            "route": "/graphql", "method": "POST"}.items() <= next(r for r in requests if r.get("operation") == "Look").items()
    assert [r["refused"] for r in requests if "refused" in r] == ["UNSUPPORTED_MEDIA_TYPE"]
    assert sum(r.get("unexpected_errors", 0) for r in requests) == 1
    [error] = [line for line in lines if line["logger"] == "library.error"]
    assert error["request_id"] in {r["request_id"] for r in requests if r.get("unexpected_errors")}


def test_serve_logs_json_lines_and_no_access_log_or_sql_even_at_debug():
    config = logging_config(Settings(log_level="DEBUG"))
    assert config["loggers"]["uvicorn.access"] == {"handlers": [], "propagate": False, "level": "CRITICAL"}
    for chatty in ("tortoise", "aiosqlite", "asyncpg", "aiosmtplib"):
        assert config["loggers"][chatty]["level"] == "WARNING"
    assert config["root"]["level"] == "DEBUG"
    assert config["loggers"]["uvicorn.error"]["filters"] == ["no_client_addresses"]


def test_serve_hands_uvicorn_our_logging_and_no_banner(monkeypatch, tmp_path):
    import uvicorn

    from app import cli

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.update(kwargs))
    settings = Settings(secret_key="k", database_url=f"sqlite://{tmp_path}/serve.sqlite3")
    monkeypatch.setattr(Settings, "from_env", classmethod(lambda cls, env=None: settings))
    assert cli.main(["serve", "--port", "8123"]) == 0
    assert calls["access_log"] is False and "uvicorn.access" in calls["log_config"]["loggers"]
    assert calls["server_header"] is False


async def test_the_log_names_only_the_schemas_own_fields(client, caplog):
    caplog.set_level(logging.INFO)
    await client.execute("query Mine { p101234567: viewer { id } hanako_example_jp { id } }")
    [line] = [json.loads(x) for x in log_output(caplog).splitlines()]
    assert line["fields"] == ["?", "viewer"] and line["operation"] == "Mine"
    assert "101234567" not in log_output(caplog) and "hanako" not in log_output(caplog)
