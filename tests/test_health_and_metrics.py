"""What a monitoring system sees: /healthz, /readyz and Prometheus metrics, with no personal data."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app import db
from app.models import Notice
from app.models.enums import NoticeKind, NoticeStatus
from app.worker import run_scheduled
from tests.processes import Process, library_env, until
from tests.smtp import free_port
from tests.support import DEFAULT_PASSWORD, make_patron

LOGIN = "mutation Login($card: String!, $password: String!) { login(input: {cardNumber: $card, password: $password}) { errors { code } } }"


async def _metrics(client) -> dict[tuple[str, frozenset], float]:
    response = await client.http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def _value(metrics, name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


async def test_healthz_answers_while_the_process_runs(client):
    response = await client.http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_says_ready_only_when_every_migration_is_applied(client):
    assert (await client.http.get("/readyz")).json() == {"status": "ok", "database": "ok"}
    newest = max(db.migrations_on_disk())
    (row,) = await db.fetch("SELECT app, name, applied_at FROM tortoise_migrations WHERE name = ?", newest)
    await db.write("DELETE FROM tortoise_migrations WHERE name = ?", newest)
    try:
        response = await client.http.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "ok", "pending_migrations": [newest]}
    finally:
        await db.write("INSERT INTO tortoise_migrations (app, name, applied_at) VALUES (?, ?, ?)", *row.values())
    assert (await client.http.get("/readyz")).status_code == 200


async def test_requests_are_counted_by_operation_name_and_outcome_without_personal_data(client, deps):
    patron = await make_patron(deps)
    await client.query(LOGIN, {"card": patron.card_number, "password": "wrong1"})
    await client.query(LOGIN, {"card": patron.card_number, "password": DEFAULT_PASSWORD})
    await client.http.post("/graphql", json={"query": "{ nonsense }"})
    await client.http.post("/graphql", content=b"{}", headers={"Content-Type": "text/plain"})

    metrics = await _metrics(client)
    assert _value(metrics, "library_requests_total", route="/graphql", operation="Login", outcome="user_error") == 1
    assert _value(metrics, "library_requests_total", route="/graphql", operation="Login", outcome="ok") == 1
    assert _value(metrics, "library_requests_total", route="/graphql", operation="(anonymous)",
                  outcome="bad_request") == 1
    assert _value(metrics, "library_requests_total", route="/graphql", operation="", outcome="refused") == 1
    assert _value(metrics, "library_user_errors_total", code="INVALID_CREDENTIALS") == 1
    assert _value(metrics, "library_request_duration_seconds_count", route="/graphql", operation="Login") == 2
    text = (await client.http.get("/metrics")).text
    assert patron.card_number not in text and "wrong1" not in text


async def test_throttle_refusals_are_counted(client, deps):
    patron = await make_patron(deps)
    for _ in range(deps.settings.throttle_card_failures + 1):
        await client.query(LOGIN, {"card": patron.card_number, "password": "wrong1"})
    metrics = await _metrics(client)
    assert _value(metrics, "library_throttle_refusals_total", operation="Login") == 1
    assert _value(metrics, "library_user_errors_total", code="RATE_LIMITED") == 1


async def test_the_outbox_backlog_failures_and_daily_steps_are_read_from_the_database(client, deps, clock):
    def notice(n: int, status: NoticeStatus, attempts: int = 0, waited_minutes: int = 0) -> Notice:
        return Notice(kind=NoticeKind.HOLD_READY, to_address=f"p{n}@example.jp", dedupe_key=f"metrics:{n}",
                      status=status, attempts=attempts, created_at=clock.now(),
                      next_attempt_at=clock.now() - timedelta(minutes=waited_minutes))

    await Notice.bulk_create([notice(1, NoticeStatus.PENDING, waited_minutes=30),
                              notice(2, NoticeStatus.PENDING, attempts=2, waited_minutes=5),
                              notice(3, NoticeStatus.FAILED, attempts=1), notice(4, NoticeStatus.SENT)])
    later = notice(5, NoticeStatus.PENDING)
    later.next_attempt_at = clock.now() + timedelta(minutes=10)
    await later.save()
    await run_scheduled(deps)

    metrics = await _metrics(client)
    assert _value(metrics, "library_outbox_notices", status="pending") == 3
    assert _value(metrics, "library_outbox_notices", status="failed") == 1
    assert _value(metrics, "library_outbox_due") == 2 and _value(metrics, "library_outbox_retrying") == 1
    assert _value(metrics, "library_outbox_oldest_due_age_seconds") == 30 * 60
    for step in ("hold_expiry", "due_reminders", "retention"):
        assert _value(metrics, "library_worker_step_last_run_timestamp_seconds", step=step) == clock.now().timestamp()


async def test_readyz_says_unavailable_until_the_migrations_are_applied(database, tmp_path):
    port = free_port()
    # A database the server can open but nobody has migrated: it runs, but is not ready.
    env = library_env(f"sqlite://{tmp_path}/not-migrated.sqlite3", log_level="WARNING", tmpdir=tmp_path)
    server = Process.library("serve", "--port", str(port), env=env, name="server")
    base = f"http://127.0.0.1:{port}"

    async def answering() -> bool:
        assert server.popen.poll() is None, server.output
        try:
            async with httpx.AsyncClient(base_url=base) as http:
                return (await http.get("/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await until(answering, what="the server to answer")
        async with httpx.AsyncClient(base_url=base) as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "ok"
        assert "0001_initial" in ready.json()["pending_migrations"]
        assert len(list(tmp_path.glob("library-metrics-*"))) == 1  # where its processes share their metrics
        assert await server.stop() == 0
    finally:
        server.cleanup()
    assert not list(tmp_path.glob("library-metrics-*"))  # removed when the server stopped


async def test_a_mail_server_outage_shows_in_the_metrics(client, deps, clock):
    from app.domain import outbox

    assert _value(await _metrics(client), "library_mail_server_down") == 0
    await outbox.record_failed_round(deps, "cannot connect", put_back=0)
    clock.advance(minutes=10)
    metrics = await _metrics(client)
    assert _value(metrics, "library_mail_server_down") == 1
    assert _value(metrics, "library_mail_server_down_seconds") == 600
