"""The circulation limits hold with the real server in two processes (`library serve --workers 2`
on PostgreSQL): requests racing from many clients, each on its own connection, land on both
processes, and only the database's locks keep them apart. Nothing here is shared in memory."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import httpx
import pytest

from app.clock import Clock
from app.domain.deps import Deps
from app.models import Hold, Item, Loan
from app.models.enums import ACTIVE_HOLD_STATUSES, HoldStatus, ItemStatus
from tests.circulation_support import gid, hold, lend, lend_all, patron
from tests.conftest import DATABASE_URL
from tests.processes import Process, library_env, until
from tests.smtp import free_port
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, GraphQLClient, codes, make_staff, make_title

pytestmark = pytest.mark.skipif(
    not DATABASE_URL.startswith("postgres"),
    reason="several server processes need PostgreSQL (set TEST_DATABASE_URL); SQLite runs one",
)


@pytest.fixture(scope="module")
async def server(database: str) -> AsyncIterator[str]:
    """`library serve --workers 2` on a free port, on the test database (migrated by `database`)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = library_env(database, public_base_url=base, log_level="WARNING")
    process = Process.library("serve", "--workers", "2", "--port", str(port), env=env, name="server")

    async def answering() -> bool:
        assert process.popen.poll() is None, process.output
        try:
            async with httpx.AsyncClient(base_url=base) as http:
                response = await http.post("/graphql", json={"query": "{ __typename }"})
        except httpx.TransportError:
            return False
        return response.status_code == 200

    try:
        await until(answering, what="the server to answer")
        yield base
        assert await process.stop() == 0, process.output
    finally:
        process.cleanup()


@pytest.fixture
def real_deps(settings) -> Deps:
    """Deps on the real clock, as the server processes see it."""
    return Deps.build(settings, Clock(settings.tz))


async def _client(base: str, login: str, card_or_username: str, password: str) -> GraphQLClient:
    """A client of its own (its own connection) with a bearer token."""
    client = GraphQLClient(httpx.AsyncClient(base_url=base, timeout=60))
    field = "cardNumber" if login == "login" else "username"
    payload = await client.mutate(login, {field: card_or_username, "password": password, "issueToken": True}, "token")
    assert payload["errors"] == [] and payload["token"], payload
    client.token = payload["token"]
    return client


async def _race(base: str, login: tuple[str, str, str], calls: list[tuple[str, dict, str]]) -> list[dict]:
    """Each call from its own client, all at once (so they spread over both processes)."""
    clients = [await _client(base, *login) for _ in calls]
    try:
        return await asyncio.gather(*(c.mutate(name, input, sel) for c, (name, input, sel) in zip(clients, calls)))
    finally:
        await asyncio.gather(*(c.http.aclose() for c in clients))


def _desk() -> tuple[str, str, str]:
    return ("staffLogin", "desk1", STAFF_PASSWORD)


def _patron_login(card_number: str) -> tuple[str, str, str]:
    return ("login", card_number, DEFAULT_PASSWORD)


async def test_one_copy_checked_out_at_two_desks_at_once_goes_to_one_patron(server, real_deps):
    await make_staff(real_deps)
    title = await make_title(real_deps)
    item = await Item.get(title_id=title.id)
    borrowers = [await patron(real_deps, n) for n in range(1, 9)]

    payloads = await _race(server, _desk(), [
        ("checkoutItem", {"cardNumber": p.card_number, "barcode": item.barcode}, "loan { id }") for p in borrowers])

    assert sorted(tuple(codes(p)) for p in payloads) == [()] + [("ITEM_NOT_AVAILABLE",)] * 7
    [loan] = await Loan.filter(item_id=item.id, returned_at=None)
    winner = next(p for p, b in zip(payloads, borrowers) if not p["errors"])
    assert winner["loan"]["id"] == gid("Loan", loan.id)
    assert (await Item.get(id=item.id)).status is ItemStatus.ON_LOAN


async def test_holds_placed_in_parallel_never_pass_the_limit_of_ten(server, real_deps):
    lender, hanako = await patron(real_deps, 1), await patron(real_deps, 2)
    titles = [await make_title(real_deps, f"本{n}") for n in range(16)]
    for title in titles:
        await lend(real_deps, lender, title)

    payloads = await _race(server, _patron_login(hanako.card_number), [
        ("placeHold", {"titleId": gid("Title", t.id)}, "hold { id }") for t in titles])

    assert sorted(tuple(codes(p)) for p in payloads) == [()] * 10 + [("HOLD_LIMIT_REACHED",)] * 6
    assert await Hold.filter(patron_id=hanako.id, status__in=ACTIVE_HOLD_STATUSES).count() == 10


async def test_queue_stays_whole_when_copies_come_back_while_holds_are_cancelled_and_placed(server, real_deps):
    await make_staff(real_deps)
    lender = await patron(real_deps, 1)
    waiting = [await patron(real_deps, n) for n in (2, 3, 4)]
    newcomers = [await patron(real_deps, n) for n in (5, 6, 7)]
    title = await make_title(real_deps, copies=2)
    await lend_all(real_deps, lender, title)
    holds = [await hold(real_deps, p, title) for p in waiting]
    barcodes = [i.barcode for i in await Item.filter(title_id=title.id).order_by("id")]

    calls = [_race(server, _desk(), [("checkinItem", {"barcode": b}, "trappedHold { id }") for b in barcodes])]
    for p, h in zip(waiting[:2], holds[:2]):  # the first two in line change their minds meanwhile
        calls.append(_race(server, _patron_login(p.card_number), [("cancelHold", {"holdId": gid("Hold", h.id)}, "")]))
    for p in newcomers:  # and three more patrons join the queue
        calls.append(_race(server, _patron_login(p.card_number), [("placeHold", {"titleId": gid("Title", title.id)}, "")]))
    results = [payload for group in await asyncio.gather(*calls) for payload in group]

    assert all(codes(p) in ([], ["TITLE_AVAILABLE_ON_SHELF"]) for p in results), results
    ready = await Hold.filter(title_id=title.id, status=HoldStatus.READY)
    kept = await Item.filter(title_id=title.id, status=ItemStatus.ON_HOLD_SHELF)
    # One ready hold per kept copy, and a copy is kept only for a ready hold.
    assert sorted(h.item_id for h in ready) == sorted(i.id for i in kept)
    line = await Hold.filter(title_id=title.id, status=HoldStatus.WAITING)
    if line:
        # Nobody waits while a copy sits on the open shelf.
        assert not await Item.filter(title_id=title.id, status=ItemStatus.AVAILABLE).exists()
    # Each waiting patron sees a distinct place, 1..n without gaps.
    places = []
    for h in line:
        client = await _client(server, *_patron_login((await h.patron).card_number))
        try:
            data = await client.query("{ viewer { holds { edges { node { status queuePosition } } } } }")
        finally:
            await client.http.aclose()
        places += [e["node"]["queuePosition"] for e in data["viewer"]["holds"]["edges"] if e["node"]["status"] == "WAITING"]
    assert sorted(places) == list(range(1, len(line) + 1))
    assert len(ready) + len(line) == await Hold.filter(title_id=title.id, status__in=ACTIVE_HOLD_STATUSES).count()


async def test_metrics_add_up_the_requests_of_every_server_process(server):
    """prometheus-client's multiprocess mode: whichever process answers /metrics counts them all."""
    from prometheus_client.parser import text_string_to_metric_families

    async def ping() -> None:
        async with httpx.AsyncClient(base_url=server) as http:  # a connection of its own
            assert (await http.post("/graphql", json={"query": "query Ping { __typename }"})).status_code == 200

    await asyncio.gather(*(ping() for _ in range(24)))
    for _ in range(4):
        async with httpx.AsyncClient(base_url=server) as http:
            text = (await http.get("/metrics")).text
        (pings,) = [s.value for f in text_string_to_metric_families(text) for s in f.samples
                    if s.name == "library_requests_total" and s.labels.get("operation") == "Ping"]
        assert pings == 24
