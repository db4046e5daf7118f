"""Lockout is no weapon: an attacker guesses as slowly as ever, and the patron (or the desk) who
knows the password still gets in from a browser that has logged in before."""

from __future__ import annotations

from tests.conftest import http_client
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, GraphQLClient, codes, make_patron, make_staff

CARD = "101234567"


def guess(password: str = "wrong1", card: str = CARD) -> dict:
    return {"cardNumber": card, "password": password}


async def _login(client: GraphQLClient, password: str, card: str = CARD) -> list[str]:
    return codes(await client.mutate("login", guess(password, card)))


async def test_an_attacker_from_many_addresses_still_gets_five_guesses_per_card(app, deps, settings):
    await make_patron(deps)
    answers = []
    for n in range(8):
        async with http_client(app, address=f"192.0.2.{n + 1}") as http:
            answers.append(await _login(GraphQLClient(http), "wrong1"))
    limit = settings.throttle_card_failures
    assert answers == [["INVALID_CREDENTIALS"]] * limit + [["RATE_LIMITED"]] * (8 - limit)


async def test_the_patrons_own_browser_gets_in_while_the_card_is_locked_for_strangers(app, deps):
    await make_patron(deps)
    async with http_client(app, address="198.51.100.5") as home:
        patron = GraphQLClient(home)
        await patron.login(CARD, DEFAULT_PASSWORD)
        await patron.mutate("logout", {})
        async with http_client(app, address="192.0.2.66") as elsewhere:
            attacker = GraphQLClient(elsewhere)
            for _ in range(5):
                assert await _login(attacker, "wrong1") == ["INVALID_CREDENTIALS"]
            # Locked for any client the card has not met, even with the right password...
            assert await _login(attacker, DEFAULT_PASSWORD) == ["RATE_LIMITED"]
        async with http_client(app, address="198.51.100.5") as new_browser:
            assert await _login(GraphQLClient(new_browser), DEFAULT_PASSWORD) == ["RATE_LIMITED"]
        # ...but not for the patron's own browser.
        assert await _login(patron, DEFAULT_PASSWORD) == []


async def test_a_known_browser_has_a_limit_of_its_own(app, deps):
    await make_patron(deps)
    async with http_client(app) as http:
        browser = GraphQLClient(http)
        await browser.login(CARD, DEFAULT_PASSWORD)
        for _ in range(5):
            assert await _login(browser, "wrong1") == ["INVALID_CREDENTIALS"]
        assert await _login(browser, DEFAULT_PASSWORD) == ["RATE_LIMITED"]
    # Its failures were its own: a stranger's first guess is counted as a first.
    async with http_client(app, address="192.0.2.7") as http:
        assert await _login(GraphQLClient(http), "wrong1") == ["INVALID_CREDENTIALS"]


async def test_a_proof_for_another_card_or_a_forged_one_makes_no_browser_known(app, deps, settings):
    await make_patron(deps)
    await make_patron(deps, "101234568", name_kana="ヤマダタロウ")
    async with http_client(app, address="192.0.2.9") as http:
        attacker = GraphQLClient(http)
        await attacker.login("101234568", DEFAULT_PASSWORD)  # the attacker's own card
        proof = http.cookies[settings.known_browser_cookie_name]
        http.cookies.set(settings.known_browser_cookie_name, f"{proof}~abcdefgh.forged~.x", domain="testserver.local")
        answers = [await _login(attacker, "wrong1") for _ in range(6)]
    assert answers == [["INVALID_CREDENTIALS"]] * 5 + [["RATE_LIMITED"]]


async def test_the_proof_kept_by_the_browser_names_no_card(app, deps, settings):
    await make_patron(deps)
    async with http_client(app) as http:
        await GraphQLClient(http).login(CARD, DEFAULT_PASSWORD)
        proof = http.cookies[settings.known_browser_cookie_name]
    assert CARD not in proof and str(deps.settings.secret_key) not in proof


async def test_a_library_pc_pool_behind_one_address_keeps_working_for_known_browsers(app, deps, settings):
    deps.settings = settings.replace(throttle_ip_failures=12)
    await make_patron(deps)
    async with http_client(app, address="192.0.2.200") as http:
        regular = GraphQLClient(http)
        await regular.login(CARD, DEFAULT_PASSWORD)
        await regular.mutate("logout", {})
        # Someone at the next PC sweeps cards until the library's address is locked.
        async with http_client(app, address="192.0.2.200") as other_pc:
            sweeper = GraphQLClient(other_pc)
            sweep = [await _login(sweeper, "wrong1", f"10{n:07d}") for n in range(14)]
        assert sweep[-1] == ["RATE_LIMITED"]
        assert await _login(regular, DEFAULT_PASSWORD) == []


async def test_the_desk_gets_in_while_someone_guesses_the_desk_password(app, deps):
    await make_staff(deps, "desk")
    async with http_client(app, address="192.0.2.30") as desk_http:
        desk = GraphQLClient(desk_http)
        await desk.staff_login("desk", STAFF_PASSWORD)
        async with http_client(app, address="192.0.2.31") as http:
            attacker = GraphQLClient(http)
            tries = [codes(await attacker.mutate("staffLogin", {"username": "desk", "password": "guess-it"}))
                     for _ in range(6)]
            assert tries[-1] == ["RATE_LIMITED"]
            assert codes(await attacker.mutate("staffLogin", {"username": "desk", "password": STAFF_PASSWORD})) \
                == ["RATE_LIMITED"]
        assert codes(await desk.mutate("staffLogin", {"username": "desk", "password": STAFF_PASSWORD})) == []
