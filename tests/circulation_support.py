"""Arranging circulation states for tests: patrons with cards and e-mail, loans, holds, IDs."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

from strawberry import relay

from app.domain import circulation
from app.domain.deps import Deps
from app.models import Item, Loan, Patron, Title
from app.models.enums import HoldSource, ItemStatus
from tests.conftest import http_client
from tests.support import DEFAULT_PASSWORD, GraphQLClient, make_patron

LOAN_FIELDS = "id dueDate renewalCount overdue checkedOutOn title { title } renewability { renewable reasons messages }"
HOLD_FIELDS = "id status source queuePosition placedOn pickupDeadline cancellable title { title }"


def gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


async def patron(deps: Deps, n: int, *, email: bool = True) -> Patron:
    """Patron number n: card 10000000n, e-mail pn@example.jp unless told otherwise."""
    return await make_patron(deps, f"1{n:08d}", email=f"p{n}@example.jp" if email else None)


async def lend(deps: Deps, borrower: Patron, title: Title) -> Loan:
    """Check out a copy of the title on the shelf to the patron, as the desk would."""
    item = await Item.filter(title_id=title.id, status=ItemStatus.AVAILABLE, loanable=True).order_by("id").first()
    assert item is not None, "no copy on the shelf"
    return (await circulation.checkout(deps, borrower.card_number, item.barcode)).loan


async def lend_all(deps: Deps, borrower: Patron, title: Title) -> None:
    """Every copy of the title goes out to the patron (so others may hold it)."""
    while await Item.exists(title_id=title.id, status=ItemStatus.AVAILABLE, loanable=True):
        await lend(deps, borrower, title)


async def hold(deps: Deps, holder: Patron, title: Title, source: HoldSource = HoldSource.WEB):
    return await circulation.place_hold(deps, holder, title.id, source=source)


@contextlib.asynccontextmanager
async def logged_in(app, who: Patron, address: str = "192.0.2.10") -> AsyncIterator[GraphQLClient]:
    """A browser of its own, logged in as the patron."""
    async with http_client(app, address=address) as http:
        client = GraphQLClient(http)
        await client.login(who.card_number, DEFAULT_PASSWORD)
        yield client


async def my_holds(client: GraphQLClient) -> list[dict]:
    data = await client.query(f"{{ viewer {{ holds {{ edges {{ node {{ {HOLD_FIELDS} }} }} }} }} }}")
    return [e["node"] for e in data["viewer"]["holds"]["edges"]]


async def my_loans(client: GraphQLClient) -> list[dict]:
    data = await client.query(f"{{ viewer {{ loans {{ edges {{ node {{ {LOAN_FIELDS} }} }} }} }} }}")
    return [e["node"] for e in data["viewer"]["loans"]["edges"]]
