"""My Page (マイページ) with the cart's holdability costs a handful of SQL statements, the same for
1 loan as for 30 (the document the SPA sends is counted in test_mypage_statements)."""

import pytest

from app.domain import circulation
from app.models import HoldCartEntry, Item
from tests.circulation_support import hold, lend, logged_in, patron
from tests.support import counting_statements, make_title


@pytest.fixture
def settings(settings):
    """Statements are counted on the compiled path production runs (a differential run would
    execute every request twice)."""
    return settings.replace(graphql_execution="compiled")


MY_PAGE = """
{ viewer {
    cardNumber
    loans(first: 50) { totalCount edges { node { id dueDate overdue renewalCount title { title author }
                                                 renewability { renewable reasons } } } }
    holds(first: 50) { edges { node { id status queuePosition pickupDeadline cancellable title { title } } } }
    holdCart(first: 50) { edges { node { id title { title } holdability { holdable reasons } } } }
} }
"""


async def _patron_with(deps, n: int, number: int, lender):
    """A patron with n loans, 2 to 10 holds (the first ready, the others waiting), n titles in the cart."""
    me = await patron(deps, number)
    for k in range(n):
        await lend(deps, me, await make_title(deps, f"借りた本{number}-{k}"))
    for k in range(max(2, min(n, 10))):
        wanted = await make_title(deps, f"待つ本{number}-{k}")
        await lend(deps, lender, wanted)
        await hold(deps, me, wanted)
        if k == 0:
            await circulation.checkin(deps, (await Item.get(title_id=wanted.id)).barcode)
    for k in range(n):
        title = await make_title(deps, f"カートの本{number}-{k}")
        await HoldCartEntry.create(patron_id=me.id, title_id=title.id, added_at=deps.now())
    return me


async def _statements_for_my_page(app, who) -> int:
    async with logged_in(app, who) as client:
        with counting_statements() as statements:
            data = await client.query(MY_PAGE)
    assert data["viewer"]["cardNumber"] == who.card_number
    return len(statements)


async def test_my_page_costs_the_same_few_statements_for_1_or_30_loans(app, deps):
    lender = await patron(deps, 99)
    light = await _patron_with(deps, 1, 1, lender)
    heavy = await _patron_with(deps, 30, 2, lender)

    few, many = await _statements_for_my_page(app, light), await _statements_for_my_page(app, heavy)

    assert few == many
    # Session, loans, holds, cart, and the hold rules of the cart (3) with availability (1).
    assert many <= 8, many
