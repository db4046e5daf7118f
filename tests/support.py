"""Helpers for talking to the app as a client would, and for arranging data."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from app.domain.deps import Deps
from app.models import Item, Patron, Staff, Title
from app.models.enums import ItemStatus, MaterialType, StaffRole


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


_barcodes = iter(range(1, 10**9))


async def make_title(deps: Deps, title: str = "銀河鉄道の夜", *, title_kana: str = "ギンガテツドウノヨル",
                     author: str = "宮沢賢治", author_kana: str = "ミヤザワケンジ", publisher: str = "新潮社",
                     copies: int = 1, **fields: Any) -> Title:
    """A title with `copies` loanable copies on the shelf (barcodes are unique per test run)."""
    from app.domain.search_index import TitleFields, indexed_columns

    now = deps.now()
    searched = TitleFields(title, title_kana, author, author_kana, publisher, fields.get("publisher_kana", ""),
                           fields.get("material_type", MaterialType.BOOK))
    row = await Title.create(
        title=title, title_kana=title_kana, author=author, author_kana=author_kana, publisher=publisher,
        **indexed_columns(searched), arrived_on=fields.pop("arrived_on", deps.today()), created_at=now,
        updated_at=now, **fields,
    )
    for _ in range(copies):
        await make_item(deps, row)
    return row


async def make_item(deps: Deps, title: Title, *, barcode: str | None = None,
                    status: ItemStatus = ItemStatus.AVAILABLE, loanable: bool = True) -> Item:
    return await Item.create(
        barcode=barcode or f"T{next(_barcodes):09d}", title=title, status=status, loanable=loanable,
        location="一般書架", created_at=deps.now(),
    )
