"""Live notifications: `subscription { viewerEvents }` over a real WebSocket (graphql-transport-ws,
the `websockets` client) against the app on a real uvicorn server, on SQLite and PostgreSQL. The
check-in that readies a hold comes from the desk over HTTP, from the worker's expiry step and
from another process; a logout or a password change closes the socket; the limits hold."""

from __future__ import annotations

import contextlib
import sys
from datetime import timedelta

import httpx
import pytest

from app.domain import circulation, reminders
from app.models import Hold, Item, LiveSocket, Loan
from tests.circulation_support import gid, hold, lend, lend_all, patron
from tests.conftest import http_client
from tests.live_support import LiveClient, refused_status, serve
from tests.processes import Process, library_env, until
from tests.smtp import free_port
from tests.support import DEFAULT_PASSWORD, GraphQLClient, make_staff, make_title

OWN_ORIGIN = "http://testserver"


async def _token(app, card_number: str, base_url: str = "http://testserver") -> str:
    async with http_client(app, base_url=base_url) as http:
        payload = await GraphQLClient(http).mutate(
            "login", {"cardNumber": card_number, "password": DEFAULT_PASSWORD, "issueToken": True}, "token")
    assert payload["errors"] == [] and payload["token"]
    return payload["token"]


async def _waiting_for_a_copy(deps):
    """Hanako waits for the only copy, which Taro has: checking it in readies her hold."""
    taro, hanako = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps, "こころ")
    await lend_all(deps, taro, title)
    waiting = await hold(deps, hanako, title)
    barcode = (await Item.get(title_id=title.id)).barcode
    return hanako, waiting, barcode


@pytest.fixture
async def url(app):
    async with serve(app) as base:
        yield base


async def test_hold_ready_reaches_the_patrons_socket_when_the_desk_checks_the_copy_in(app, deps, url):
    hanako, waiting, barcode = await _waiting_for_a_copy(deps)
    await make_staff(deps)
    token = await _token(app, hanako.card_number)

    async with LiveClient.open(url) as live:
        assert (await live.init({"authorization": f"Bearer {token}"}))["type"] == "connection_ack"
        await live.subscribe()
        async with http_client(app, address="198.51.100.30") as http:
            desk = GraphQLClient(http)
            await desk.staff_login("desk1", "desk-password-1")
            checked_in = await desk.mutate("checkinItem", {"barcode": barcode}, "trappedHold { id }")
        assert checked_in["trappedHold"]["id"] == gid("Hold", waiting.id)

        event = (await live.next_event())["data"]["viewerEvents"]
        assert event["kind"] == "HOLD_READY"
        assert event["hold"] == {"id": gid("Hold", waiting.id), "status": "READY",
                                 "pickupDeadline": event["hold"]["pickupDeadline"], "title": {"title": "こころ"}}
        assert "貸出準備ができました" in event["message"]


async def test_a_browser_session_cookie_works_from_the_apps_own_origin_only(app, deps, url):
    hanako = await patron(deps, 2)
    token = await _token(app, hanako.card_number)

    async with LiveClient.open(url, cookie=token, origin=OWN_ORIGIN) as live:
        assert (await live.init())["type"] == "connection_ack"
    # Another site's page cannot open a socket with the patron's cookie (cross-site WebSocket hijacking).
    assert await refused_status(url, cookie=token, origin="https://evil.example") == 403


async def test_each_socket_is_counted_and_gets_one_log_line_without_address_or_token(app, deps, url, caplog):
    import logging

    from app.web.request_log import NoClientAddresses

    caplog.set_level(logging.INFO)
    token = await _token(app, (await patron(deps, 2)).card_number)
    async with LiveClient.open(url) as live:
        await live.init({"authorization": f"Bearer {token}"})
        async with http_client(app) as http:
            assert "library_live_sockets 1.0" in (await http.get("/metrics")).text
        await live.socket.close()
    await until(lambda: _logged(caplog), what="the socket's log line")
    [line] = [r.json_fields for r in caplog.records if r.getMessage() == "websocket"]
    assert line["route"] == "/graphql" and line["status"] == 101 and line["close_code"] == 1000
    assert "127.0.0.1" not in str(line) and token not in caplog.text
    # uvicorn's own handshake line names the client's address: the served log config drops it.
    handshake = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, '%s - "WebSocket %s" [accepted]',
                                  ("203.0.113.7:5000", "/graphql"), None)
    assert NoClientAddresses().filter(handshake) is False


async def _logged(caplog) -> bool:
    return any(r.getMessage() == "websocket" for r in caplog.records)


async def test_in_production_the_socket_keeps_the_origin_rule_of_http(deps, settings):
    from tests.hardening import production_app

    app = production_app(settings, deps.clock, allowed_hosts=("127.0.0.1",))
    token = await _token(app, (await patron(deps, 2)).card_number, base_url="https://127.0.0.1")
    cookie = {"cookie": token, "cookie_name": "__Host-library_session"}
    async with serve(app) as url:
        async with LiveClient.open(url, origin="https://library.example", **cookie) as live:
            assert (await live.init())["type"] == "connection_ack"
        assert await refused_status(url, origin="https://evil.example", **cookie) == 403
        assert await refused_status(url, origin="http://library.example", **cookie) == 403  # not HTTPS
    # A socket to a host name the app does not answer to is refused like a request (400).
    async with serve(production_app(settings, deps.clock)) as url:
        assert await refused_status(url) == 400


async def test_guests_staff_and_ended_sessions_are_refused(app, deps, url):
    await make_staff(deps)
    async with http_client(app) as http:
        staff = await GraphQLClient(http).mutate(
            "staffLogin", {"username": "desk1", "password": "desk-password-1", "issueToken": True}, "token")
    for payload in ({}, {"authorization": f"Bearer {staff['token']}"}, {"authorization": "Bearer not-a-session"}):
        async with LiveClient.open(url) as live:
            await live.send({"type": "connection_init", "payload": payload})
            assert await live.closed() == (4403, "Forbidden")


async def test_logout_and_a_password_change_close_the_sockets_of_the_ended_sessions(app, deps, url):
    hanako = await patron(deps, 2)
    phone, laptop = await _token(app, hanako.card_number), await _token(app, hanako.card_number)

    async with LiveClient.open(url) as on_phone, LiveClient.open(url) as on_laptop:
        for live, token in ((on_phone, phone), (on_laptop, laptop)):
            assert (await live.init({"authorization": f"Bearer {token}"}))["type"] == "connection_ack"
            await live.subscribe()
        async with http_client(app) as http:
            laptop_client = GraphQLClient(http)
            laptop_client.token = laptop
            changed = await laptop_client.mutate("changePassword", {
                "currentPassword": DEFAULT_PASSWORD, "newPassword": "newpass9", "newPasswordConfirmation": "newpass9"})
            assert changed["errors"] == []
            # The phone's session ended with the password change: its socket closes.
            assert await on_phone.closed() == (4401, "Session ended")
            assert (await laptop_client.mutate("logout", {}, "loggedOut"))["loggedOut"] is True
        assert await on_laptop.closed() == (4401, "Session ended")


async def test_an_expiry_by_the_worker_and_a_due_date_reach_the_socket(app, deps, url):
    hanako, waiting, barcode = await _waiting_for_a_copy(deps)
    await circulation.checkin(deps, barcode)
    await Hold.filter(id=waiting.id).update(pickup_deadline=deps.today() - timedelta(days=1))
    token = await _token(app, hanako.card_number)
    async with LiveClient.open(url) as live:
        await live.init({"authorization": f"Bearer {token}"})
        await live.subscribe()
        await circulation.expire_holds(deps)
        expired = await live.next_of_kind("HOLD_EXPIRED")
        assert expired["hold"]["status"] == "CANCELLED"

        loan = await lend(deps, hanako, await make_title(deps, "坊っちゃん"))
        await Loan.filter(id=loan.id).update(due_date=deps.today() + timedelta(days=1))
        assert await reminders.announce_due_soon(deps) == 1
        due = await live.next_of_kind("LOAN_DUE_SOON")
        assert (due["loanCount"], due["dueDate"]) == (1, (deps.today() + timedelta(days=1)).isoformat())


async def test_another_patrons_events_never_reach_the_socket(app, deps, url):
    hanako, waiting, barcode = await _waiting_for_a_copy(deps)
    jiro = await patron(deps, 3)
    title = await make_title(deps, "草枕")
    await lend_all(deps, await patron(deps, 4), title)
    jiros_hold = await hold(deps, jiro, title)
    token = await _token(app, hanako.card_number)
    async with LiveClient.open(url) as live:
        await live.init({"authorization": f"Bearer {token}"})
        await live.subscribe()
        await circulation.checkin(deps, (await Item.get(title_id=title.id)).barcode)  # Jiro's copy
        await circulation.checkin(deps, barcode)  # then Hanako's
        event = (await live.next_event())["data"]["viewerEvents"]
        assert event["hold"]["id"] == gid("Hold", waiting.id) != gid("Hold", jiros_hold.id)


async def test_limits_per_patron_per_address_message_size_and_idle_sockets(app, deps, settings, url):
    hanako = await patron(deps, 2)
    token = await _token(app, hanako.card_number)
    auth = {"authorization": f"Bearer {token}"}
    per_patron = settings.live_connections_per_patron

    async with contextlib.AsyncExitStack() as stack:
        for _ in range(per_patron):
            live = await stack.enter_async_context(LiveClient.open(url))
            assert (await live.init(auth))["type"] == "connection_ack"
            await live.subscribe()
        async with LiveClient.open(url) as one_too_many:
            await one_too_many.send({"type": "connection_init", "payload": auth})
            assert await one_too_many.closed() == (4429, "Too many connections")

    async def all_closed() -> bool:
        return not await LiveSocket.exists()

    await until(all_closed, what="the closed sockets to stop counting")
    async with LiveClient.open(url) as live:
        assert (await live.init(auth))["type"] == "connection_ack"
        await live.send({"type": "subscribe", "id": "1", "payload": {"query": "#" * settings.live_max_message_bytes}})
        assert (await live.closed())[0] == 1009


async def test_too_many_sockets_from_one_address_are_refused_and_idle_ones_closed(app, deps, settings):
    from app.main import create_app

    hanako = await patron(deps, 2)
    token = await _token(app, hanako.card_number)
    small = create_app(settings.replace(live_connections_per_address=2, live_idle_seconds=1), deps.clock,
                       manage_database=False)
    async with serve(small) as url:
        async with LiveClient.open(url) as first, LiveClient.open(url) as second:
            assert await refused_status(url) == 429
            # A socket that runs no subscription is closed once idle; one that does stays.
            for live in (first, second):
                assert (await live.init({"authorization": f"Bearer {token}"}))["type"] == "connection_ack"
            await second.subscribe()
            assert await first.closed() == (1000, "Idle timeout")

            async def counted_down() -> bool:
                return await LiveSocket.all().count() == 1

            await until(counted_down, what="the closed socket to stop counting")
            async with LiveClient.open(url) as third:
                assert (await third.init({"authorization": f"Bearer {token}"}))["type"] == "connection_ack"
            await second.send({"type": "ping"})
            assert (await second.receive())["type"] == "pong"


async def test_a_socket_runs_subscriptions_only(app, deps, url):
    token = await _token(app, (await patron(deps, 2)).card_number)
    async with LiveClient.open(url) as live:
        await live.init({"authorization": f"Bearer {token}"})
        await live.subscribe("mutation { logout(input: {}) { loggedOut } }")
        assert await live.receive() == {"id": "1", "type": "error", "payload": [{
            "message": "Queries and mutations run over HTTP: POST them to /graphql.",
            "extensions": {"code": "BAD_REQUEST"}}]}
        await live.send({"type": "ping"})
        assert (await live.receive())["type"] == "pong"  # the session did not end


async def test_a_subscription_over_http_is_a_bad_request_not_a_crash(client):
    for _ in range(2):  # unseen, then a document the server knows
        response = await client.post("subscription { viewerEvents { kind } }")
        assert response.status_code == 400
        assert response.json() == {"errors": [{"message": "Subscriptions are not served over HTTP POST.",
                                               "extensions": {"code": "BAD_REQUEST"}}]}


async def test_a_check_in_made_by_another_process_reaches_the_socket(app, deps, database, url):
    hanako, waiting, barcode = await _waiting_for_a_copy(deps)
    token = await _token(app, hanako.card_number)
    script = (
        "import asyncio, sys\n"
        "from app import db\nfrom app.domain import circulation\nfrom app.domain.deps import Deps\n"
        "from app.settings import Settings\n"
        "async def main():\n"
        "    settings = Settings.from_env()\n"
        "    await db.init_db(settings.database_url)\n"
        "    try:\n"
        "        result = await circulation.checkin(Deps.build(settings), sys.argv[1])\n"
        "        print('trapped', result.trapped_hold.id)\n"
        "    finally:\n"
        "        await db.close_db()\n"
        "asyncio.run(main())\n"
    )
    async with LiveClient.open(url) as live:
        await live.init({"authorization": f"Bearer {token}"})
        await live.subscribe()
        desk = Process([sys.executable, "-c", script, barcode], library_env(database), "desk-process")
        try:
            assert await desk.exit_code() == 0, desk.output
            assert f"trapped {waiting.id}" in desk.output
        finally:
            desk.cleanup()
        event = (await live.next_event())["data"]["viewerEvents"]
        assert (event["kind"], event["hold"]["id"]) == ("HOLD_READY", gid("Hold", waiting.id))


async def test_on_postgresql_a_lost_listen_connection_is_reopened_and_nothing_is_missed(app, deps, database, url):
    from app import db

    if not db.is_postgres():
        pytest.skip("PostgreSQL's LISTEN connection; SQLite polls the table")
    hanako, waiting, barcode = await _waiting_for_a_copy(deps)
    token = await _token(app, hanako.card_number)
    async with LiveClient.open(url) as live:
        await live.init({"authorization": f"Bearer {token}"})
        await live.subscribe()
        # The database drops the hub's LISTEN connection (a restart, a network cut)...
        terminated = await db.fetch("SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity "
                                    "WHERE query LIKE 'LISTEN %'")
        assert terminated and all(row["done"] for row in terminated)
        # ... and the copy is checked in before the hub listens again.
        await circulation.checkin(deps, barcode)
        event = await live.next_of_kind("HOLD_READY")
        assert event["hold"]["id"] == gid("Hold", waiting.id)


async def test_on_postgresql_several_server_processes_hand_on_every_event_and_share_the_limits(deps, database):
    from app import db

    if not db.is_postgres():
        pytest.skip("several server processes need PostgreSQL; SQLite runs one")
    hanako, waiting, barcode = await _waiting_for_a_copy(deps)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Process.library("serve", "--workers", "2", "--port", str(port), name="server",
                             env=library_env(database, public_base_url=base, log_level="WARNING",
                                             live_connections_per_patron=4))
    try:
        async def listening() -> bool:
            assert server.popen.poll() is None, server.output
            rows = await db.fetch("SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN %'")
            return rows[0]["n"] == 2

        await until(listening, what="both server processes to LISTEN")
        async with httpx.AsyncClient(base_url=base) as http:
            payload = await GraphQLClient(http).mutate(
                "login", {"cardNumber": hanako.card_number, "password": DEFAULT_PASSWORD, "issueToken": True}, "token")
        url = f"ws://127.0.0.1:{port}/graphql"
        async with contextlib.AsyncExitStack() as stack:
            sockets = [await stack.enter_async_context(LiveClient.open(url)) for _ in range(4)]
            for live in sockets:
                assert (await live.init({"authorization": f"Bearer {payload['token']}"}))["type"] == "connection_ack"
                await live.subscribe()
            # The limit counts the sockets on both processes, wherever the fifth one lands.
            async with LiveClient.open(url) as fifth:
                await fifth.send({"type": "connection_init", "payload": {"authorization": f"Bearer {payload['token']}"}})
                assert await fifth.closed() == (4429, "Too many connections")
            await circulation.checkin(deps, barcode)  # this test's process: neither server's
            for live in sockets:
                assert (await live.next_of_kind("HOLD_READY"))["hold"]["id"] == gid("Hold", waiting.id)
        assert await server.stop() == 0, server.output
    finally:
        server.cleanup()
