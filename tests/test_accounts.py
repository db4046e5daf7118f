"""Login, sessions, password registration and change (F1, F2, F4) through the HTTP API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.domain.security import token_hash
from app.models import AuthThrottle, OneTimeToken, Session
from tests.conftest import http_client
from tests.support import DEFAULT_PASSWORD, GraphQLClient, codes, make_patron

VIEWER = "{ viewer { cardNumber nameKana } }"


async def test_guest_sees_no_viewer(client):
    assert (await client.query(VIEWER)) == {"viewer": None}


async def test_login_sets_an_httponly_cookie_and_viewer_shows_the_patron(client, deps):
    await make_patron(deps)
    response = await client.post(
        "mutation($i: LoginInput!) { login(input: $i) { errors { code } patron { cardNumber } token } }",
        {"i": {"cardNumber": "101234567", "password": DEFAULT_PASSWORD}},
    )
    body = response.json()["data"]["login"]
    assert body == {"errors": [], "patron": {"cardNumber": "101234567"}, "token": None}
    cookie = response.headers["set-cookie"]
    assert "library_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert (await client.query(VIEWER)) == {"viewer": {"cardNumber": "101234567", "nameKana": "コガタロウ"}}


async def test_only_a_hash_of_the_session_token_is_stored(client, deps):
    await make_patron(deps)
    payload = await client.mutate(
        "login", {"cardNumber": "101234567", "password": DEFAULT_PASSWORD, "issueToken": True}, "token"
    )
    token = payload["token"]
    stored = await Session.all().values_list("token_hash", flat=True)
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


async def test_a_bearer_token_works_without_cookies(app, deps):
    await make_patron(deps)
    async with http_client(app) as http:
        first = GraphQLClient(http)
        payload = await first.mutate(
            "login", {"cardNumber": "101234567", "password": DEFAULT_PASSWORD, "issueToken": True}, "token"
        )
        assert payload["token"] and not http.cookies
    async with http_client(app) as http:
        api = GraphQLClient(http)
        api.token = payload["token"]
        assert (await api.query(VIEWER))["viewer"]["cardNumber"] == "101234567"


async def test_full_width_card_number_is_accepted(client, deps):
    await make_patron(deps)
    payload = await client.mutate("login", {"cardNumber": "１０１２３４５６７", "password": DEFAULT_PASSWORD},
                                  "patron { cardNumber }")
    assert payload["errors"] == [] and payload["patron"]["cardNumber"] == "101234567"


@pytest.mark.parametrize("card", ["10123456", "1012345678", "201234567", "10abc4567", ""])
async def test_malformed_card_numbers_are_refused_with_their_field(client, card):
    payload = await client.mutate("login", {"cardNumber": card, "password": "abcd"})
    assert payload["errors"][0]["code"] == "INVALID_CARD_NUMBER"
    assert payload["errors"][0]["field"] == ["input", "cardNumber"]
    assert "10" in payload["errors"][0]["message"]


@pytest.mark.parametrize("password", ["abc", "abcdefghi", "ab cd", "ａｂｃｄ", "abc!"])
async def test_passwords_must_be_4_to_8_half_width_alphanumerics(client, password):
    payload = await client.mutate("login", {"cardNumber": "101234567", "password": password})
    assert codes(payload) == ["INVALID_PASSWORD"]
    assert payload["errors"][0]["field"] == ["input", "password"]


async def test_wrong_password_and_unknown_card_get_the_same_answer_and_the_same_work(client, deps):
    await make_patron(deps)
    checks = []
    original = deps.hasher._check
    deps.hasher._check = lambda stored, pw: checks.append(stored) or original(stored, pw)
    try:
        wrong = await client.mutate("login", {"cardNumber": "101234567", "password": "nope1"})
        unknown = await client.mutate("login", {"cardNumber": "109999999", "password": "nope1"})
    finally:
        deps.hasher._check = original
    assert wrong["errors"] == unknown["errors"]
    assert codes(wrong) == ["INVALID_CREDENTIALS"] and wrong["errors"][0]["field"] is None
    # Both paths ran one argon2 verification, so their timing is comparable.
    assert len(checks) == 2 and all(h.startswith("$argon2id$") for h in checks)


async def test_five_failures_lock_the_card_for_fifteen_minutes_even_for_the_right_password(client, deps, clock):
    await make_patron(deps)
    for _ in range(5):
        assert codes(await client.mutate("login", {"cardNumber": "101234567", "password": "wrong1"})) == [
            "INVALID_CREDENTIALS"
        ]
    locked = await client.mutate("login", {"cardNumber": "101234567", "password": DEFAULT_PASSWORD})
    assert codes(locked) == ["RATE_LIMITED"]
    clock.advance(minutes=14)
    assert codes(await client.mutate("login", {"cardNumber": "101234567", "password": DEFAULT_PASSWORD})) == [
        "RATE_LIMITED"
    ]
    clock.advance(minutes=2)
    await client.login("101234567", DEFAULT_PASSWORD)


async def test_unknown_cards_are_throttled_exactly_like_known_ones(client, deps):
    await make_patron(deps)
    answers = {}
    for card in ("101234567", "109999999"):
        answers[card] = [
            codes(await client.mutate("login", {"cardNumber": card, "password": "wrong1"})) for _ in range(7)
        ]
    assert answers["101234567"] == answers["109999999"]
    assert answers["101234567"][-1] == ["RATE_LIMITED"]


async def test_throttle_stores_no_card_numbers_or_addresses(client, deps):
    await make_patron(deps)
    await client.mutate("login", {"cardNumber": "101234567", "password": "wrong1"})
    keys = await AuthThrottle.all().values_list("key", flat=True)
    assert keys and all("101234567" not in k and "203.0.113" not in k for k in keys)


async def test_a_success_clears_the_card_failures(client, deps):
    await make_patron(deps)
    for _ in range(4):
        await client.mutate("login", {"cardNumber": "101234567", "password": "wrong1"})
    await client.login("101234567", DEFAULT_PASSWORD)
    for _ in range(4):
        await client.mutate("login", {"cardNumber": "101234567", "password": "wrong1"})
    await client.login("101234567", DEFAULT_PASSWORD)


async def test_one_address_guessing_across_many_cards_is_throttled(app, deps, settings):
    app = app
    deps.settings = settings.replace(throttle_ip_failures=12)
    async with http_client(app, address="192.0.2.99") as http:
        attacker = GraphQLClient(http)
        results = [
            codes(await attacker.mutate("login", {"cardNumber": f"10{n:07d}", "password": "1234"}))
            for n in range(15)
        ]
    assert results[:12] == [["INVALID_CREDENTIALS"]] * 12
    assert results[12:] == [["RATE_LIMITED"]] * 3
    # Another address is not affected.
    async with http_client(app, address="192.0.2.100") as http:
        other = GraphQLClient(http)
        assert codes(await other.mutate("login", {"cardNumber": "100000001", "password": "1234"})) == [
            "INVALID_CREDENTIALS"
        ]


async def test_a_burst_of_parallel_guesses_cannot_pass_the_limit(app, deps):
    await make_patron(deps)
    async with http_client(app) as http:
        attacker = GraphQLClient(http)
        results = await asyncio.gather(*[
            attacker.mutate("login", {"cardNumber": "101234567", "password": f"guess{n}"}) for n in range(12)
        ])
    outcomes = sorted(codes(r)[0] for r in results)
    assert outcomes.count("INVALID_CREDENTIALS") == 5
    assert outcomes.count("RATE_LIMITED") == 7


async def test_logout_ends_the_session_on_the_server(client, deps):
    await make_patron(deps)
    await client.login("101234567", DEFAULT_PASSWORD)
    cookie = dict(client.http.cookies)
    payload = await client.mutate("logout", {}, "loggedOut")
    assert payload == {"errors": [], "loggedOut": True}
    assert (await client.query(VIEWER))["viewer"] is None
    # Replaying the old cookie does not bring the session back.
    client.http.cookies.update(cookie)
    assert (await client.query(VIEWER))["viewer"] is None
    assert await Session.all().count() == 0


async def test_sessions_expire_when_idle_and_at_their_maximum_age(client, deps, clock, settings):
    await make_patron(deps)
    await client.login("101234567", DEFAULT_PASSWORD)
    clock.advance(minutes=settings.session_idle_minutes - 1)
    assert (await client.query(VIEWER))["viewer"] is not None
    clock.advance(minutes=settings.session_idle_minutes + 1)
    assert (await client.query(VIEWER))["viewer"] is None

    await client.login("101234567", DEFAULT_PASSWORD)
    # Active every 30 minutes, so never idle: it still ends at the maximum age.
    for _ in range(settings.session_max_hours * 2 - 1):
        clock.advance(minutes=30)
        assert (await client.query(VIEWER))["viewer"] is not None
    clock.advance(minutes=30)
    assert (await client.query(VIEWER))["viewer"] is None


@pytest.mark.parametrize("token", ["garbage", "x" * 500, "", "Bearer", "'; DROP TABLE sessions; --"])
async def test_tampered_session_tokens_are_simply_guests(client, deps, token):
    await make_patron(deps)
    await client.login("101234567", DEFAULT_PASSWORD)
    client.http.cookies.clear()
    client.token = token or None
    client.http.cookies.set("library_session", token)
    body = await client.execute(VIEWER)
    assert body == {"data": {"viewer": None}}


# --- 新規パスワード登録 -------------------------------------------------------------------

IDENTITY = {
    "cardNumber": "101234567",
    "nameKana": "コガタロウ",
    "birthDate": "19900401",
    "phone": ["092", "942", "1151"],
}


async def _ticket(client: GraphQLClient, **changes) -> dict:
    return await client.mutate("verifyPatronIdentity", {**IDENTITY, **changes}, "ticket expiresAt")


async def test_new_patron_registers_a_password_and_is_logged_in(client, deps):
    await make_patron(deps, password=None)
    step1 = await _ticket(client)
    assert step1["errors"] == [] and step1["ticket"]
    step2 = await client.mutate(
        "registerPassword",
        {"ticket": step1["ticket"], "password": "kg7mq2", "passwordConfirmation": "kg7mq2"},
        "patron { cardNumber }",
    )
    assert step2["errors"] == [] and step2["patron"]["cardNumber"] == "101234567"
    assert (await client.query(VIEWER))["viewer"]["cardNumber"] == "101234567"
    await client.mutate("logout", {})
    await client.login("101234567", "kg7mq2")


@pytest.mark.parametrize(
    "changes",
    [
        {"nameKana": "こがたろう"},
        {"nameKana": "ｺｶﾞﾀﾛｳ"},
        {"nameKana": "コガ　タロウ"},
        {"birthDate": "１９９００４０１"},
        {"phone": ["０９２", " 942 ", "1151"]},
        {"cardNumber": "１０１２３４５６７"},
    ],
)
async def test_identity_input_is_normalised_before_comparing(client, deps, changes):
    await make_patron(deps, password=None)
    assert (await _ticket(client, **changes))["errors"] == []


@pytest.mark.parametrize(
    "changes",
    [
        {"nameKana": "コガジロウ"},
        {"birthDate": "19900402"},
        {"phone": ["092", "942", "1152"]},
        {"cardNumber": "101234568"},
    ],
)
async def test_a_wrong_identity_gets_one_generic_answer(client, deps, changes):
    await make_patron(deps, password=None)
    payload = await _ticket(client, **changes)
    assert payload["ticket"] is None
    assert payload["errors"] == [{
        "code": "IDENTITY_NOT_VERIFIED", "field": None,
        "message": "入力された利用者情報を確認できませんでした。内容をお確かめのうえ、もう一度入力してください。",
    }]


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"birthDate": "20230230"}, "INVALID_BIRTH_DATE", "birthDate"),
        ({"birthDate": "1990041"}, "INVALID_BIRTH_DATE", "birthDate"),
        ({"birthDate": "20991231"}, "INVALID_BIRTH_DATE", "birthDate"),
        ({"nameKana": "古賀太郎"}, "INVALID_NAME_KANA", "nameKana"),
        ({"nameKana": "KOGA"}, "INVALID_NAME_KANA", "nameKana"),
        ({"nameKana": "  "}, "INVALID_NAME_KANA", "nameKana"),
        ({"phone": ["092", "942"]}, "INVALID_PHONE", "phone"),
        ({"phone": ["092", "abc", "1151"]}, "INVALID_PHONE", "phone"),
        ({"phone": ["0", "0", "1"]}, "INVALID_PHONE", "phone"),
        ({"cardNumber": "1234"}, "INVALID_CARD_NUMBER", "cardNumber"),
    ],
)
async def test_malformed_identity_fields_are_named(client, deps, changes, code, field):
    await make_patron(deps, password=None)
    payload = await _ticket(client, **changes)
    assert codes(payload) == [code]
    assert payload["errors"][0]["field"] == ["input", field]


async def test_identity_checks_are_throttled(client, deps):
    await make_patron(deps, password=None)
    for _ in range(5):
        assert codes(await _ticket(client, nameKana="チガウ")) == ["IDENTITY_NOT_VERIFIED"]
    assert codes(await _ticket(client)) == ["RATE_LIMITED"]


@pytest.mark.parametrize(
    ("password", "confirmation", "code", "field"),
    [
        ("abc1", "abc2", "PASSWORD_MISMATCH", "passwordConfirmation"),
        ("ab1", "ab1", "INVALID_PASSWORD", "password"),
        ("abcdefgh9", "abcdefgh9", "INVALID_PASSWORD", "password"),
        ("パスワード", "パスワード", "INVALID_PASSWORD", "password"),
    ],
)
async def test_bad_new_passwords_keep_the_ticket_usable(client, deps, password, confirmation, code, field):
    await make_patron(deps, password=None)
    ticket = (await _ticket(client))["ticket"]
    bad = await client.mutate(
        "registerPassword", {"ticket": ticket, "password": password, "passwordConfirmation": confirmation}
    )
    assert codes(bad) == [code] and bad["errors"][0]["field"] == ["input", field]
    good = await client.mutate(
        "registerPassword", {"ticket": ticket, "password": "good12", "passwordConfirmation": "good12"}
    )
    assert good["errors"] == []


async def test_tickets_are_single_use_and_expire(client, deps, clock, settings):
    await make_patron(deps, password=None)
    ticket = (await _ticket(client))["ticket"]
    new = {"password": "kg7mq2", "passwordConfirmation": "kg7mq2"}
    assert (await client.mutate("registerPassword", {"ticket": ticket, **new}))["errors"] == []
    reused = await client.mutate("registerPassword", {"ticket": ticket, **new})
    assert codes(reused) == ["INVALID_TICKET"] and reused["errors"][0]["field"] == ["input", "ticket"]

    late = (await _ticket(client))["ticket"]
    clock.advance(minutes=settings.registration_ticket_minutes, seconds=1)
    assert codes(await client.mutate("registerPassword", {"ticket": late, **new})) == ["INVALID_TICKET"]
    tampered = (await _ticket(client))["ticket"][:-2] + "xx"
    assert codes(await client.mutate("registerPassword", {"ticket": tampered, **new})) == ["INVALID_TICKET"]
    # The rows say the same: the first ticket was used once, the late one never; and only hashes are kept.
    used, expired = [await OneTimeToken.get(token_hash=token_hash(t)) for t in (ticket, late)]
    assert used.used_at is not None and expired.used_at is None
    assert not await OneTimeToken.filter(token_hash__in=[ticket, late]).exists()


async def test_a_new_identity_check_supersedes_the_previous_ticket(client, deps):
    await make_patron(deps, password=None)
    first = (await _ticket(client))["ticket"]
    second = (await _ticket(client))["ticket"]
    new = {"password": "kg7mq2", "passwordConfirmation": "kg7mq2"}
    assert codes(await client.mutate("registerPassword", {"ticket": first, **new})) == ["INVALID_TICKET"]
    assert (await client.mutate("registerPassword", {"ticket": second, **new}))["errors"] == []


async def test_one_ticket_used_twice_at_once_sets_one_password(client, deps):
    await make_patron(deps, password=None)
    ticket = (await _ticket(client))["ticket"]
    results = await asyncio.gather(*[
        client.mutate("registerPassword", {"ticket": ticket, "password": f"pw{n}ab", "passwordConfirmation": f"pw{n}ab"})
        for n in range(4)
    ])
    assert sorted(len(r["errors"]) for r in results) == [0, 1, 1, 1]


async def test_forgotten_password_path_ends_every_session_of_the_patron(app, client, deps):
    await make_patron(deps)
    async with http_client(app, address="198.51.100.1") as http:
        phone = GraphQLClient(http)
        await phone.login("101234567", DEFAULT_PASSWORD)
        ticket = (await _ticket(client))["ticket"]
        payload = await client.mutate(
            "registerPassword", {"ticket": ticket, "password": "newpw1", "passwordConfirmation": "newpw1"}
        )
        assert payload["errors"] == []
        assert (await phone.query(VIEWER))["viewer"] is None
    assert (await client.query(VIEWER))["viewer"] is not None
    assert codes(await client.mutate("login", {"cardNumber": "101234567", "password": DEFAULT_PASSWORD})) == [
        "INVALID_CREDENTIALS"
    ]


# --- パスワード変更 --------------------------------------------------------------------------

async def test_changing_the_password_ends_other_sessions_only(app, client, deps):
    await make_patron(deps)
    await client.login("101234567", DEFAULT_PASSWORD)
    async with http_client(app, address="198.51.100.1") as http:
        other = GraphQLClient(http)
        await other.login("101234567", DEFAULT_PASSWORD)
        payload = await client.mutate(
            "changePassword",
            {"currentPassword": DEFAULT_PASSWORD, "newPassword": "fresh9", "newPasswordConfirmation": "fresh9"},
        )
        assert payload["errors"] == []
        assert (await other.query(VIEWER))["viewer"] is None
    assert (await client.query(VIEWER))["viewer"] is not None
    await client.mutate("logout", {})
    await client.login("101234567", "fresh9")


@pytest.mark.parametrize(
    ("current", "new", "again", "code", "field"),
    [
        ("wrong1", "fresh9", "fresh9", "INVALID_CREDENTIALS", "currentPassword"),
        (DEFAULT_PASSWORD, "fresh9", "fresh8", "PASSWORD_MISMATCH", "newPasswordConfirmation"),
        (DEFAULT_PASSWORD, "f!", "f!", "INVALID_PASSWORD", "newPassword"),
        (DEFAULT_PASSWORD, DEFAULT_PASSWORD, DEFAULT_PASSWORD, "PASSWORD_UNCHANGED", "newPassword"),
    ],
)
async def test_password_change_refusals_change_nothing(client, deps, current, new, again, code, field):
    await make_patron(deps)
    await client.login("101234567", DEFAULT_PASSWORD)
    payload = await client.mutate(
        "changePassword", {"currentPassword": current, "newPassword": new, "newPasswordConfirmation": again}
    )
    assert codes(payload) == [code] and payload["errors"][0]["field"] == ["input", field]
    await client.mutate("logout", {})
    await client.login("101234567", DEFAULT_PASSWORD)


async def test_guests_cannot_change_a_password(client):
    payload = await client.mutate(
        "changePassword", {"currentPassword": "abcd", "newPassword": "abcd1", "newPasswordConfirmation": "abcd1"}
    )
    assert codes(payload) == ["NOT_AUTHENTICATED"]


async def test_node_shows_a_patron_only_to_that_patron(client, other_client, deps):
    me = await make_patron(deps)
    await make_patron(deps, "107654321")
    mine = (await client.login("101234567", DEFAULT_PASSWORD))["patron"]["id"]
    await other_client.login("107654321", DEFAULT_PASSWORD)
    query = "query($id: ID!) { node(id: $id) { ... on Patron { cardNumber } } }"
    assert (await client.query(query, {"id": mine}))["node"] == {"cardNumber": me.card_number}
    assert (await other_client.query(query, {"id": mine}))["node"] is None
    body = await other_client.execute(query, {"id": "not-a-global-id"})
    assert body["data"] is None or body["data"]["node"] is None
