"""My Page (マイページ), the document a SPA sends right after login, costs at most 8 SQL
statements, the same for a patron with 1 loan as with 30 (issue 7), and answers right; asking
each cart line's holdability too keeps it so.

Counted: everything the request runs, session lookup and its "last seen" write included (the
clock moves on before each request, so the write is always due). The document is the one the
benchmark sends (`bench/queries/mypage.graphql`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.domain import circulation
from app.models import HoldCartEntry, Item, Patron, Title
from tests.circulation_support import gid, hold, lend, logged_in, patron
from bench.statements import counting_statements
from tests.support import GraphQLClient, make_title


@pytest.fixture
def settings(settings):
    """Statements are counted on the compiled path production runs (a differential run would
    execute every request twice)."""
    return settings.replace(graphql_execution="compiled")


MY_PAGE = (Path(__file__).parent.parent / "bench" / "queries" / "mypage.graphql").read_text()
MAX_STATEMENTS = 8
DUE = "2026-12-12"  # 14 days after START; the calendar has no closed days here


async def _my_page(client: GraphQLClient, clock) -> tuple[dict, list[str]]:
    clock.advance(minutes=5)  # the session's last-seen write is due: count it too
    with counting_statements() as statements:
        data = await client.query(MY_PAGE)
    return data["viewer"], statements


async def _trapped_for(deps, holder: Patron, lender: Patron, name: str) -> Title:
    """A title whose copy waits on the hold shelf for the holder (READY)."""
    title = await make_title(deps, name)
    await lend(deps, lender, title)
    await hold(deps, holder, title)
    await circulation.checkin(deps, (await Item.get(title_id=title.id)).barcode)
    return title


async def _waiting_behind(deps, holder: Patron, lender: Patron, ahead: list[Patron], name: str) -> Title:
    """A title out on loan, held by `ahead` and then by the holder (place len(ahead) + 1)."""
    title = await make_title(deps, name)
    await lend(deps, lender, title)
    for other in [*ahead, holder]:
        await hold(deps, other, title)
    return title


def _loan_view(node: dict) -> tuple:
    return (node["title"]["title"], node["dueDate"], node["renewalCount"], node["overdue"],
            node["renewability"]["renewable"], node["renewability"]["reasons"])


async def test_my_page_costs_the_same_few_statements_for_1_or_30_loans(app, deps, clock):
    me, second, third, lender = [await patron(deps, n) for n in (1, 2, 3, 9)]
    first = await make_title(deps, "吾輩は猫である", author="夏目漱石")
    await lend(deps, me, first)
    await hold(deps, second, first)
    await _trapped_for(deps, me, lender, "こころ")
    await _waiting_behind(deps, me, lender, [second, third], "三四郎")
    await _waiting_behind(deps, me, lender, [second], "それから")

    async with logged_in(app, me) as client:
        for name in ("門", "草枕"):
            cart_title = await make_title(deps, name)
            payload = await client.mutate("addToHoldCart", {"titleId": gid("Title", cart_title.id)})
            assert payload["errors"] == []
        for name in ("虞美人草", "彼岸過迄", "行人"):
            favorite = await make_title(deps, name)
            assert (await client.mutate("addFavorite", {"titleId": gid("Title", favorite.id)}))["errors"] == []
        goal = await client.mutate("setReadingGoal", {"target": 10, "periodStart": "2026-11-01",
                                                      "periodEnd": "2027-01-31"})
        assert goal["errors"] == []

        light, few = await _my_page(client, clock)

        # 29 more loans: one lent 20 days ago (overdue, and someone waits for it), one renewed,
        # 27 plain ones.
        now = clock.now()
        clock.set(now - timedelta(days=20))
        late = await make_title(deps, "坊っちゃん", author="夏目漱石")
        await lend(deps, me, late)
        clock.set(now)
        await hold(deps, third, late)
        renewed = await lend(deps, me, await make_title(deps, "明暗"))
        for k in range(27):
            await lend(deps, me, await make_title(deps, f"文学全集 第{k + 1}巻"))
        assert (await client.mutate("renewLoan", {"loanId": gid("Loan", renewed.id)}))["errors"] == []

        heavy, many = await _my_page(client, clock)

        # The page shows what renewLoan itself decides.
        refused = await client.mutate("renewLoan", {"loanId": light["loans"]["edges"][0]["node"]["id"]})
        assert [e["code"] for e in refused["errors"]] == ["RENEWAL_BLOCKED_BY_HOLD"]

    assert any(s.lstrip().upper().startswith("UPDATE") and "sessions" in s for s in few), few
    assert len(few) == len(many), (few, many)
    assert len(many) <= MAX_STATEMENTS, many

    # --- the answers are right ---------------------------------------------------------------
    assert light["cardNumber"] == me.card_number and light["nameKana"] == "コガタロウ"
    assert light["loans"]["totalCount"] == 1
    assert [_loan_view(e["node"]) for e in light["loans"]["edges"]] == [
        ("吾輩は猫である", DUE, 0, False, False, ["RENEWAL_BLOCKED_BY_HOLD"]),
    ]
    assert heavy["loans"]["totalCount"] == 30
    loans = [_loan_view(e["node"]) for e in heavy["loans"]["edges"]]
    assert len(loans) == 30
    # Earliest due date first: the overdue loan (due 14 days after its checkout 20 days ago).
    assert loans[0] == ("坊っちゃん", "2026-11-22", 0, True, False, ["LOAN_OVERDUE", "RENEWAL_BLOCKED_BY_HOLD"])
    assert loans[1] == ("吾輩は猫である", DUE, 0, False, False, ["RENEWAL_BLOCKED_BY_HOLD"])
    assert loans[2] == ("明暗", DUE, 1, False, False, ["RENEWAL_LIMIT_REACHED"])
    assert loans[3:] == [(f"文学全集 第{k + 1}巻", DUE, 0, False, True, []) for k in range(27)]
    assert heavy["loans"]["edges"][0]["node"]["title"]["author"] == "夏目漱石"

    for page in (light, heavy):
        holds = page["holds"]
        assert holds["totalCount"] == 3
        # Ready first (collect by the pickup deadline, 7 days on), then in the order placed.
        assert [(h["title"]["title"], h["status"], h["queuePosition"], h["pickupDeadline"], h["cancellable"],
                 h["placedOn"]) for h in (e["node"] for e in holds["edges"])] == [
            ("こころ", "READY", None, "2026-12-05", True, "2026-11-28"),
            ("三四郎", "WAITING", 3, None, True, "2026-11-28"),
            ("それから", "WAITING", 2, None, True, "2026-11-28"),
        ]
        assert [e["node"]["title"]["title"] for e in page["holdCart"]["edges"]] == ["門", "草枕"]
        assert page["holdCart"]["totalCount"] == 2
        assert page["favorites"] == {"totalCount": 3}

    assert light["readingMarathon"] == {
        "target": 10, "count": 1, "percent": 10, "achieved": False,
        "months": [{"year": 2026, "month": 11, "count": 1}, {"year": 2026, "month": 12, "count": 0},
                   {"year": 2027, "month": 1, "count": 0}],
    }
    # Every checkout counts, the one 20 days ago too (also in November).
    assert heavy["readingMarathon"] == {
        "target": 10, "count": 30, "percent": 300, "achieved": True,
        "months": [{"year": 2026, "month": 11, "count": 30}, {"year": 2026, "month": 12, "count": 0},
                   {"year": 2027, "month": 1, "count": 0}],
    }


# My Page with the cart's holdability: the hold rules of every line are batched (holder state
# and availability), so 30 lines cost what 1 does.
MY_PAGE_WITH_HOLDABILITY = """
{ viewer {
    cardNumber
    loans(first: 50) { totalCount edges { node { id dueDate overdue renewalCount title { title author }
                                                 renewability { renewable reasons } } } }
    holds(first: 50) { edges { node { id status queuePosition pickupDeadline cancellable title { title } } } }
    holdCart(first: 50) { edges { node { id title { title } holdability { holdable reasons } } } }
} }
"""


async def _patron_with(deps, n: int, number: int, lender: Patron) -> Patron:
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


async def test_the_carts_holdability_costs_the_same_for_1_or_30_lines(app, deps):
    lender = await patron(deps, 99)
    counted = []
    for n, number in ((1, 1), (30, 2)):
        who = await _patron_with(deps, n, number, lender)
        async with logged_in(app, who) as client:
            with counting_statements() as statements:
                data = await client.query(MY_PAGE_WITH_HOLDABILITY)
        assert data["viewer"]["cardNumber"] == who.card_number
        assert len(data["viewer"]["holdCart"]["edges"]) == n
        counted.append(statements)

    few, many = counted
    assert len(few) == len(many), (few, many)
    # Session, loans, holds, cart, and the hold rules of the cart (3) with availability (1).
    assert len(many) <= MAX_STATEMENTS, many
