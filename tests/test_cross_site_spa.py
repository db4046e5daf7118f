"""A SPA served from another site (a development server on another port or host) uses the API with
the patron's cookie: SESSION_COOKIE_SAMESITE=none (always Secure), its origin in ALLOWED_ORIGINS."""

from __future__ import annotations

from app.main import create_app
from tests.conftest import http_client
from tests.hardening import production
from tests.support import make_patron

SPA = "https://opac-spa.example"
LOGIN = ('mutation { login(input: { cardNumber: "101234567", password: "pass1234" }) '
         "{ errors { code } patron { id } } }")


def _cookie_attributes(response) -> list[str]:
    return [part.strip().lower() for part in response.headers["set-cookie"].split(";")]


async def test_a_spa_on_an_allowed_site_logs_in_and_reads_with_its_cookie(settings, clock, deps):
    await make_patron(deps)
    app = create_app(production(settings, session_cookie_samesite="none", allowed_origins=(SPA,)), clock,
                     manage_database=False)
    async with http_client(app, base_url="https://library.example") as http:
        preflight = await http.options("/graphql", headers={
            "origin": SPA, "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == SPA
        assert preflight.headers["access-control-allow-credentials"] == "true"

        login = await http.post("/graphql", json={"query": LOGIN}, headers={"origin": SPA})
        assert login.json()["data"]["login"]["errors"] == []
        assert login.headers["access-control-allow-origin"] == SPA
        attributes = _cookie_attributes(login)
        assert "samesite=none" in attributes and "secure" in attributes and "httponly" in attributes
        assert attributes[0].startswith("__host-library_session=")

        mine = await http.post("/graphql", json={"query": "{ viewer { cardNumber } }"}, headers={"origin": SPA})
        assert mine.json()["data"] == {"viewer": {"cardNumber": "101234567"}}


async def test_a_site_not_in_allowed_origins_is_refused_even_with_samesite_none(settings, clock, deps):
    await make_patron(deps)
    app = create_app(production(settings, session_cookie_samesite="none", allowed_origins=(SPA,)), clock,
                     manage_database=False)
    async with http_client(app, base_url="https://library.example") as http:
        response = await http.post("/graphql", json={"query": LOGIN}, headers={"origin": "https://evil.example"})
    assert response.status_code == 403 and "set-cookie" not in response.headers
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN_ORIGIN"


async def test_the_cookie_is_samesite_lax_unless_the_library_says_otherwise(client, deps):
    await make_patron(deps)
    login = await client.http.post("/graphql", json={"query": LOGIN})
    attributes = _cookie_attributes(login)
    assert "samesite=lax" in attributes and "secure" not in attributes  # development: plain HTTP


async def test_samesite_none_is_secure_even_in_development(settings, clock, deps):
    await make_patron(deps)
    app = create_app(settings.replace(session_cookie_samesite="none"), clock, manage_database=False)
    async with http_client(app) as http:
        login = await http.post("/graphql", json={"query": LOGIN})
    attributes = _cookie_attributes(login)
    assert "samesite=none" in attributes and "secure" in attributes
