"""Brute-force drill: show that the login throttle holds (and that unknown cards look known),
and that the lockout it causes is no weapon against the patron.

Three attacks, each from one client address:
  1. many passwords against one known card, then the right password (still refused: locked for
     every client the card has not met), then the right password from the patron's own browser,
     which logged in before the attack (let in: a known browser has its own counter);
  2. the same passwords against an unknown card: the answers must be the same, in the same order;
  3. one password against each of many cards (half unknown): the per-address limit stops it.

By default the drill runs against the app in-process on a throwaway SQLite database, with the
production throttle and hashing settings. With `--url` it attacks a running server (yours,
e.g. after `library demo`): the cards it guesses stay locked for THROTTLE_LOCK_MINUTES.

    python scripts/brute_force.py
    python scripts/brute_force.py --url http://127.0.0.1:8000/graphql --card 100000001 --password koga1234

Exit status 0 when the throttle held, 1 when it did not.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

import httpx

LOGIN = "mutation Login($input: LoginInput!) { login(input: $input) { errors { code } patron { id } } }"
WRONG_PASSWORDS = [f"x{n:04d}a" for n in range(10_000)]


@dataclass
class Attempt:
    code: str  # OK, INVALID_CREDENTIALS, RATE_LIMITED, ...
    ms: float


@dataclass
class Report:
    card_limit: int
    address_limit: int
    known: list[Attempt] = field(default_factory=list)
    right_password_after: Attempt | None = None
    own_browser_after: Attempt | None = None
    unknown: list[Attempt] = field(default_factory=list)
    sweep: list[Attempt] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not self.problems


Client = Callable[[str], Awaitable[httpx.AsyncClient]]


async def try_login(http: httpx.AsyncClient, card: str, password: str) -> Attempt:
    started = time.perf_counter()
    response = await http.post("/graphql", json={"query": LOGIN, "variables": {
        "input": {"cardNumber": card, "password": password}}})
    ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return Attempt(f"HTTP_{response.status_code}", ms)
    payload = response.json()["data"]["login"]
    return Attempt(payload["errors"][0]["code"] if payload["errors"] else "OK", ms)


def _checked(attempts: list[Attempt]) -> int:
    """Guesses the server actually compared (every answer but RATE_LIMITED)."""
    return sum(a.code != "RATE_LIMITED" for a in attempts)


def _stays_locked(attempts: list[Attempt]) -> bool:
    codes = [a.code for a in attempts]
    first = codes.index("RATE_LIMITED") if "RATE_LIMITED" in codes else len(codes)
    return all(c == "RATE_LIMITED" for c in codes[first:])


async def drill(client: Client, *, known_card: str, unknown_card: str, right_password: str | None,
                guesses: int, sweep_cards: list[str], card_limit: int, address_limit: int) -> Report:
    """Run the three attacks; `client(name)` gives an HTTP client (one client address each)."""
    report = Report(card_limit, address_limit)
    async with await client("patron") as patron:
        if right_password:
            # The patron's own browser logs in once before the attack (and keeps its proof).
            await try_login(patron, known_card, right_password)
        async with await client("one-card") as http:
            for password in WRONG_PASSWORDS[:guesses]:
                report.known.append(await try_login(http, known_card, password))
            if right_password:
                report.right_password_after = await try_login(http, known_card, right_password)
        if right_password:
            report.own_browser_after = await try_login(patron, known_card, right_password)
    async with await client("unknown-card") as http:
        for password in WRONG_PASSWORDS[:guesses]:
            report.unknown.append(await try_login(http, unknown_card, password))
    async with await client("many-cards") as http:
        for card in sweep_cards:
            report.sweep.append(await try_login(http, card, WRONG_PASSWORDS[-1]))

    if _checked(report.known) > card_limit or not _stays_locked(report.known):
        report.problems.append(f"one card: {_checked(report.known)} guesses were checked (limit {card_limit})")
    if any(a.code == "OK" for a in report.known + report.unknown + report.sweep):
        report.problems.append("a wrong password logged in")
    if report.right_password_after and report.right_password_after.code != "RATE_LIMITED":
        report.problems.append(f"the right password got {report.right_password_after.code} during the lockout")
    if report.own_browser_after and report.own_browser_after.code != "OK":
        report.problems.append(f"the patron's own browser got {report.own_browser_after.code}: the lockout is a weapon")
    if [a.code for a in report.known] != [a.code for a in report.unknown]:
        report.problems.append("an unknown card is answered differently from a known one")
    if _checked(report.sweep) > address_limit or not _stays_locked(report.sweep):
        report.problems.append(f"many cards: {_checked(report.sweep)} guesses were checked (limit {address_limit})")
    return report


def print_report(report: Report, out=sys.stdout) -> None:
    def line(text: str) -> None:
        print(text, file=out)

    def summary(attempts: list[Attempt]) -> str:
        codes: dict[str, int] = {}
        for a in attempts:
            codes[a.code] = codes.get(a.code, 0) + 1
        return ", ".join(f"{code} ×{n}" for code, n in codes.items())

    def timing(attempts: list[Attempt]) -> str:
        checked = [a.ms for a in attempts if a.code != "RATE_LIMITED"]
        return f"{statistics.median(checked):.1f} ms median per checked guess" if checked else "-"

    line(f"1. {len(report.known)} passwords against one known card: {summary(report.known)}"
         f" ({timing(report.known)})")
    if report.right_password_after:
        line(f"   then the right password: {report.right_password_after.code}")
    if report.own_browser_after:
        line(f"   then the right password from the patron's own browser: {report.own_browser_after.code}")
    line(f"2. the same against an unknown card:  {summary(report.unknown)} ({timing(report.unknown)})"
         + ("  — identical answers" if [a.code for a in report.known] == [a.code for a in report.unknown] else ""))
    line(f"3. one password against {len(report.sweep)} cards: {summary(report.sweep)}"
         f" — {_checked(report.sweep)} guesses checked before the address was locked")
    if report.held:
        line(f"THE THROTTLE HOLDS: at most {report.card_limit} guesses per card and "
             f"{report.address_limit} per address; unknown and known cards are indistinguishable"
             + ("; the patron's own browser still gets in." if report.own_browser_after else "."))
    else:
        line("THE THROTTLE DID NOT HOLD:")
        for problem in report.problems:
            line(f"  - {problem}")


def sweep_cards(count: int, known: list[str]) -> list[str]:
    """Card numbers to sweep: the known ones among numbers that (almost surely) are not cards."""
    unknown = (f"10{n:07d}" for n in range(9_000_000, 9_999_999, 7919))
    cards = list(known)
    while len(cards) < count:
        cards.append(next(unknown))
    return cards[:count]


async def run_in_process(guesses: int, sweep: int, settings=None, clock=None, *,
                         card_limit: int | None = None, address_limit: int | None = None) -> Report:
    """The drill against the app in this process: on a throwaway SQLite database, or (a test)
    on the database already open for `settings`. The limits expected default to the settings'."""
    from app import db
    from app.clock import Clock
    from app.domain.deps import Deps
    from app.main import create_app
    from app.models import Patron
    from app.settings import Settings

    owns_database = settings is None
    if owns_database:
        path = Path(tempfile.mkdtemp(prefix="brute-force-")) / "drill.sqlite3"
        settings = Settings(database_url=f"sqlite://{path}", secret_key="brute-force-drill",
                            public_base_url="http://testserver")
        await db.migrate(settings.database_url)
        await db.init_db(settings.database_url)
    try:
        app = create_app(settings, clock or Clock(settings.timezone), manage_database=False)
        deps: Deps = app.state.deps
        known = ["100000001", "100000002", "100000003"]
        for card in known:
            if not await Patron.exists(card_number=card):
                await Patron.create(card_number=card, name_kana="ドリル", birth_date="1990-01-01", phone="0929421151",
                                    password_hash=await deps.hasher.hash("koga1234"),
                                    created_at=deps.now(), updated_at=deps.now())
        addresses = iter(f"192.0.2.{n}" for n in range(10, 250))

        async def client(name: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(next(addresses), 40000))
            return httpx.AsyncClient(transport=transport, base_url="http://testserver")

        return await drill(client, known_card=known[0], unknown_card="109999999", right_password="koga1234",
                           guesses=guesses, sweep_cards=sweep_cards(sweep, known[1:]),
                           card_limit=card_limit or settings.throttle_card_failures,
                           address_limit=address_limit or settings.throttle_ip_failures)
    finally:
        if owns_database:
            await db.close_db()


async def run_against(url: str, card: str, password: str | None, guesses: int, sweep: int,
                      card_limit: int, address_limit: int) -> Report:
    """The drill against a running server (all attacks come from this machine's address; the
    patron's browser is a client of its own, with its own cookies)."""
    base, _, path = url.partition("/graphql")

    async def client(name: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base, timeout=30)

    return await drill(client, known_card=card, unknown_card="109999999", right_password=password,
                       guesses=guesses, sweep_cards=sweep_cards(sweep, []), card_limit=card_limit,
                       address_limit=address_limit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="GraphQL endpoint of a running server (default: in-process app)")
    parser.add_argument("--card", default="100000001", help="a known card number (with --url)")
    parser.add_argument("--password", help="its right password: refused to strangers during the lockout, "
                        "let in from the patron's own browser")
    parser.add_argument("--guesses", type=int, default=20, help="passwords tried per card")
    parser.add_argument("--cards", type=int, default=60, help="cards in the sweep")
    parser.add_argument("--card-limit", type=int, default=5, help="the server's THROTTLE_CARD_FAILURES (with --url)")
    parser.add_argument("--address-limit", type=int, default=50,
                        help="the server's THROTTLE_IP_FAILURES (with --url)")
    args = parser.parse_args(argv)
    if args.url:
        print(f"Attacking {args.url}: the guessed cards stay locked for THROTTLE_LOCK_MINUTES.")
        report = asyncio.run(run_against(args.url, args.card, args.password, args.guesses, args.cards,
                                         args.card_limit, args.address_limit))
    else:
        report = asyncio.run(run_in_process(args.guesses, args.cards))
    print_report(report)
    return 0 if report.held else 1


if __name__ == "__main__":
    sys.exit(main())
