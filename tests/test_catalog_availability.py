"""Availability of titles, shared by search results and the hold rules."""

from app.domain.catalog import availability
from app.models.enums import HoldSource, HoldStatus, ItemStatus
from app.models import Hold
from tests.support import make_item, make_patron, make_title


async def test_availability_counts_copies_loans_and_the_queue_in_one_pass(deps):
    on_shelf = await make_title(deps, "坊っちゃん", copies=2)
    all_out = await make_title(deps, "こころ", copies=0)
    for status in (ItemStatus.ON_LOAN, ItemStatus.ON_LOAN, ItemStatus.WITHDRAWN):
        await make_item(deps, all_out, status=status)
    await make_item(deps, all_out, loanable=False)  # reference copy: never lent, not counted
    unowned = await make_title(deps, "相互貸借の本", copies=0)
    patron = await make_patron(deps)
    await Hold.create(patron=patron, title=all_out, source=HoldSource.WEB, status=HoldStatus.WAITING,
                      placed_at=deps.now())

    result = await availability([on_shelf.id, all_out.id, unowned.id])

    assert (result[on_shelf.id].copies, result[on_shelf.id].available) == (2, 2)
    assert not result[on_shelf.id].all_copies_out
    assert (result[all_out.id].copies, result[all_out.id].on_loan, result[all_out.id].holds_waiting) == (2, 2, 1)
    assert result[all_out.id].all_copies_out
    assert not result[unowned.id].owned and not result[unowned.id].all_copies_out
