"""Helpers for talking to the app as a client would, and for arranging data."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from app.domain.deps import Deps
from app.models import Patron, Staff
from app.models.enums import StaffRole


class GraphQLError(AssertionError):
    pass


class GraphQLClient:
    """A GraphQL client over real HTTP semantics (cookies, headers, status codes)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token: str | None = None

    async def post(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                    headers=headers, **kwargs)

    async def execute(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Run an operation and return the whole JSON body (data and errors)."""
        response = await self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    async def query(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Run an operation that must not produce GraphQL errors; return `data`."""
        body = await self.execute(query, variables, **kwargs)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]

    async def mutate(self, name: str, input: dict[str, Any], selection: str = "") -> dict[str, Any]:
        """Run one mutation with an `input` and return its payload (`errors` always selected)."""
        document = (
            f"mutation M($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) "
            f"{{ errors {{ code field message }} {selection} }} }}"
        )
        data = await self.query(document, {"input": input})
        return data[name]

    async def login(self, card_number: str, password: str) -> dict[str, Any]:
        payload = await self.mutate("login", {"cardNumber": card_number, "password": password},
                                    "patron { id cardNumber }")
        assert payload["errors"] == [], payload["errors"]
        return payload

    async def staff_login(self, username: str, password: str) -> dict[str, Any]:
        payload = await self.mutate("staffLogin", {"username": username, "password": password},
                                    "staff { id username }")
        assert payload["errors"] == [], payload["errors"]
        return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


DEFAULT_PASSWORD = "pass1234"
STAFF_PASSWORD = "desk-password-1"


async def make_patron(deps: Deps, card_number: str = "101234567", *, name_kana: str = "コガタロウ",
                      birth_date: date = date(1990, 4, 1), phone: str = "0929421151",
                      password: str | None = DEFAULT_PASSWORD, email: str | None = None) -> Patron:
    now = deps.now()
    return await Patron.create(
        card_number=card_number, name_kana=name_kana, birth_date=birth_date, phone=phone,
        password_hash=await deps.hasher.hash(password) if password else None,
        email=email, contact_email=email, created_at=now, updated_at=now,
    )


async def make_staff(deps: Deps, username: str = "desk1", password: str = STAFF_PASSWORD,
                     role: StaffRole = StaffRole.DESK) -> Staff:
    from app.domain import accounts

    return await accounts.create_staff(deps, username, password, role=role)
