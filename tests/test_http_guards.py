"""CSRF, CORS, body size, GET and batching: what the HTTP layer refuses before GraphQL runs."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.main import middleware
from app.models import AuthThrottle, Patron, Session
from tests.conftest import http_client
from tests.hardening import database_fingerprint, mutation, production, production_app
from tests.support import DEFAULT_PASSWORD, GraphQLClient, make_patron

LOGIN = mutation("login", '{ cardNumber: "101234567", password: "pass1234" }', "errors { code } patron { id }")
CHANGE = mutation("changePassword",
                  '{ currentPassword: "pass1234", newPassword: "evil99", newPasswordConfirmation: "evil99" }')


async def log_in_browser(http: httpx.AsyncClient, deps) -> None:
    await make_patron(deps)
    await GraphQLClient(http).login("101234567", DEFAULT_PASSWORD)
    assert http.cookies


# --- content type -------------------------------------------------------------------------


@pytest.mark.parametrize("content_type, body", [
    ("text/plain", '{"query": "%s"}'),
    ("text/plain;charset=UTF-8", '{"query": "%s"}'),
    ("application/x-www-form-urlencoded", "query=%s"),
    ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n%s\r\n--x--\r\n'),
    ("application/graphql", "%s"),
    ("", '{"query": "%s"}'),
])
async def test_a_login_form_on_another_site_cannot_post_into_the_api(app, deps, content_type, body):
    await make_patron(deps)
    before = await database_fingerprint()
    async with http_client(app) as http:
        query = LOGIN.replace('"', '\\"') if body.startswith("{") else LOGIN
        response = await http.post("/graphql", content=(body % query).encode(),
                                   headers={"content-type": content_type} if content_type else {})
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "set-cookie" not in response.headers
    assert await database_fingerprint() == before


async def test_json_with_a_charset_is_fine(client):
    response = await client.http.post("/graphql", content=b'{"query": "{ viewer { id } }"}',
                                      headers={"content-type": "application/json; charset=utf-8"})
    assert response.status_code == 200 and response.json() == {"data": {"viewer": None}}


# --- origins ------------------------------------------------------------------------------


async def test_a_foreign_page_cannot_use_the_patrons_cookie_and_nothing_changes(app, deps):
    async with http_client(app) as http:
        await log_in_browser(http, deps)
        before = await database_fingerprint()
        response = await http.post("/graphql", json={"query": CHANGE}, headers={"origin": "https://evil.example"})
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN_ORIGIN"
        assert await database_fingerprint() == before
        # The same request from the library's own page goes through.
        response = await http.post("/graphql", json={"query": CHANGE}, headers={"origin": "http://testserver"})
        assert response.json()["data"]["changePassword"]["errors"] == []


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://testserver.evil.example",
                                    "https://testserver", "http://testserver:8080", "not an origin"])
async def test_foreign_origins_are_refused_even_for_a_guest_login(app, deps, origin):
    await make_patron(deps)
    async with http_client(app) as http:
        response = await http.post("/graphql", json={"query": LOGIN}, headers={"origin": origin})
    assert response.status_code == 403
    assert not http.cookies
    assert await Session.all().count() == 0 and await AuthThrottle.all().count() == 0


@pytest.mark.parametrize("origin", ["http://testserver", "HTTP://TESTSERVER", "http://testserver:80"])
async def test_the_apps_own_origin_is_same_origin(app, deps, origin):
    await make_patron(deps)
    async with http_client(app) as http:
        response = await http.post("/graphql", json={"query": LOGIN}, headers={"origin": origin})
    assert response.status_code == 200 and response.json()["data"]["login"]["errors"] == []


async def test_the_browsers_own_same_origin_marker_is_trusted(app, deps):
    # GraphiQL opened as http://localhost:8000 while PUBLIC_BASE_URL says 127.0.0.1.
    await make_patron(deps)
    async with http_client(app) as http:
        response = await http.post("/graphql", json={"query": LOGIN},
                                   headers={"origin": "http://localhost:8000", "sec-fetch-site": "same-origin"})
    assert response.status_code == 200


async def test_a_bearer_token_is_not_subject_to_the_origin_rule(app, deps):
    await make_patron(deps)
    async with http_client(app) as http:
        api = GraphQLClient(http)
        payload = await api.mutate("login", {"cardNumber": "101234567", "password": DEFAULT_PASSWORD,
                                             "issueToken": True}, "token")
        response = await http.post("/graphql", json={"query": "{ viewer { cardNumber } }"},
                                   headers={"origin": "https://app.other.example",
                                            "authorization": f"Bearer {payload['token']}"})
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["cardNumber"] == "101234567"


async def test_allowed_origins_get_cors_with_credentials_and_others_get_nothing(settings, clock, deps):
    app = production_app(settings, clock, allowed_origins=("https://opac.library.example",))
    await make_patron(deps)
    async with http_client(app, base_url="https://library.example") as http:
        preflight = await http.options("/graphql", headers={
            "origin": "https://opac.library.example", "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://opac.library.example"
        assert preflight.headers["access-control-allow-credentials"] == "true"

        response = await http.post("/graphql", json={"query": LOGIN}, headers={"origin": "https://opac.library.example"})
        assert response.status_code == 200 and response.json()["data"]["login"]["errors"] == []
        assert response.headers["access-control-allow-origin"] == "https://opac.library.example"

        refused = await http.options("/graphql", headers={
            "origin": "https://evil.example", "access-control-request-method": "POST"})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        response = await http.post("/graphql", json={"query": "{ viewer { id } }"},
                                   headers={"origin": "https://evil.example"})
        assert response.status_code == 403 and "access-control-allow-origin" not in response.headers


async def test_without_allowed_origins_there_is_no_cors_at_all(app):
    async with http_client(app) as http:
        response = await http.options("/graphql", headers={
            "origin": "https://evil.example", "access-control-request-method": "POST"})
    assert response.status_code == 405 and "access-control-allow-origin" not in response.headers


def test_a_wildcard_origin_is_refused_at_start_up():
    from app.settings import Settings

    with pytest.raises(RuntimeError, match="ALLOWED_ORIGINS"):
        Settings.from_env({"ALLOWED_ORIGINS": "https://a.example, *", "SECRET_KEY": "k"})


async def test_other_routes_keep_their_own_form_posts(settings):
    # The e-mail confirmation page posts a plain HTML form to its own route, with the token
    # as its capability: the JSON and origin rules belong to /graphql only.
    async def confirm(request: Request) -> PlainTextResponse:
        form = await request.form()
        return PlainTextResponse(f"confirmed {len(form['token'])}")

    site = Starlette(routes=[Route("/email/confirm", confirm, methods=["POST"])], middleware=middleware(settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site), base_url="http://testserver") as http:
        response = await http.post("/email/confirm", data={"token": "t" * 43}, headers={"origin": "http://testserver"})
    assert response.status_code == 200 and response.text == "confirmed 43"
    assert response.headers["referrer-policy"] == "no-referrer"


# --- GET, batching, body size -------------------------------------------------------------


async def test_mutations_never_run_over_get(app, deps):
    await make_patron(deps)
    async with http_client(app) as http:
        response = await http.get("/graphql", params={"query": LOGIN})
        assert response.status_code == 405 and response.headers["allow"] == "GET, POST"
        assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
        response = await http.get("/graphql", params={"query": CHANGE})
        assert response.status_code == 405
    assert not http.cookies
    assert await Session.all().count() == 0 and await AuthThrottle.all().count() == 0


async def test_queries_do_not_run_over_get_either(client):
    response = await client.http.get("/graphql", params={"query": "{ viewer { id } }"})
    assert response.status_code == 405 and "viewer" not in response.text


async def test_batched_operations_are_refused(app, deps):
    await make_patron(deps)
    batch = [{"query": LOGIN}, {"query": LOGIN.replace("pass1234", "abcd1234")}]
    async with http_client(app) as http:
        response = await http.post("/graphql", json=batch)
    assert response.status_code == 400
    assert await AuthThrottle.all().count() == 0 and await Session.all().count() == 0


@pytest.mark.parametrize("body", [b"null", b"1", b'"query"', b"true", b"", b"{", b"\xff\xfe", b"\x00" * 17,
                                  b"[" * 60000, b'{"query": "{ viewer { id } }", "variables": ' + b"[" * 60000])
async def test_a_body_that_is_not_a_json_object_is_a_bad_request(client, body):
    response = await client.http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "Unexpected error" not in response.text


async def test_an_oversized_body_is_refused_before_parsing(app, settings):
    big = {"query": "{ viewer { id } }", "variables": {"pad": "x" * settings.max_body_bytes}}
    async with http_client(app) as http:
        response = await http.post("/graphql", json=big)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_an_oversized_body_without_content_length_is_counted_and_refused(app, settings, deps):
    await make_patron(deps)
    chunk = b" " * 4096
    count = settings.max_body_bytes // len(chunk) + 2

    async def body():
        yield b'{"query": "' + LOGIN.replace('"', '\\"').encode() + b'"'
        for _ in range(count):
            yield chunk  # whitespace: valid JSON, if it were ever parsed
        yield b"}"

    async with http_client(app) as http:
        response = await http.post("/graphql", content=body(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert await AuthThrottle.all().count() == 0


async def test_a_body_just_under_the_limit_is_served(app, settings):
    query = b'{"query": "{ viewer { id } }"}'
    padded = query[:-1] + b" " * (settings.max_body_bytes - len(query)) + b"}"
    async with http_client(app) as http:
        response = await http.post("/graphql", content=padded, headers={"content-type": "application/json"})
    assert len(padded) == settings.max_body_bytes
    assert response.status_code == 200 and response.json() == {"data": {"viewer": None}}


@pytest.mark.parametrize("length", ["-1", "abc", "1e9"])
async def test_a_malformed_content_length_is_a_bad_request(app, length):
    async with http_client(app) as http:
        response = await http.post("/graphql", content=b'{"query": "{ viewer { id } }"}',
                                   headers={"content-type": "application/json", "content-length": length})
    assert response.status_code == 400


# --- headers ------------------------------------------------------------------------------


async def test_graphql_answers_carry_security_headers_and_are_never_cached(client):
    response = await client.post("{ viewer { id } }")
    headers = response.headers
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert len(headers["x-request-id"]) == 32
    assert "strict-transport-security" not in headers  # development runs on plain HTTP


async def test_production_adds_hsts_and_secure_host_only_cookies(settings, clock, deps):
    app = production_app(settings, clock)
    await make_patron(deps)
    async with http_client(app, base_url="https://library.example") as http:
        response = await http.post("/graphql", json={"query": LOGIN})
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-library_session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "Domain" not in cookie and "Path=/" in cookie


async def test_production_serves_no_graphiql(settings, clock):
    app = production_app(settings, clock)
    async with http_client(app, base_url="https://library.example") as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 405 and page.headers["allow"] == "POST" and "graphiql" not in page.text.lower()


async def test_development_serves_graphiql_that_may_not_be_framed(client):
    page = await client.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_production_settings_need_a_secret_key():
    from app.settings import Settings

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        Settings.from_env({"APP_ENV": "production"})
    assert production(Settings(secret_key="k")).graphiql_enabled is False
    assert Settings.from_env({"APP_ENV": "production", "SECRET_KEY": "k", "GRAPHIQL": "1"}).graphiql_enabled
