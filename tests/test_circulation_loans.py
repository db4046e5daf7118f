"""貸出中一覧 and 延長: the patron sees due dates and whether (and why not) a loan can be renewed."""

from datetime import date

import pytest

from app.domain import calendar
from app.models import Loan
from tests.circulation_support import LOAN_FIELDS, gid, hold, lend, my_loans, patron
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, codes, make_staff, make_title

# The suite's clock starts on Saturday 2026-11-28; a 14-day loan is due Saturday 12-12.


async def _renew(client, loan_id: int):
    return await client.mutate("renewLoan", {"loanId": gid("Loan", loan_id)}, f"loan {{ {LOAN_FIELDS} }}")


async def test_my_loans_show_the_title_the_dates_and_that_renewal_is_possible(client, deps):
    hanako = await patron(deps, 1)
    await lend(deps, hanako, await make_title(deps, "銀河鉄道の夜"))
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    assert await my_loans(client) == [{
        "id": gid("Loan", (await Loan.first()).id), "dueDate": "2026-12-12", "renewalCount": 0, "overdue": False,
        "checkedOutOn": "2026-11-28", "title": {"title": "銀河鉄道の夜"},
        "renewability": {"renewable": True, "reasons": [], "messages": []},
    }]


async def test_the_due_date_never_falls_on_a_closed_day(client, deps):
    await calendar.set_day(date(2026, 12, 12), closed=True, note="館内整理日")
    await calendar.set_day(date(2026, 12, 13), closed=True)
    loan = await lend(deps, await patron(deps, 1), await make_title(deps))
    assert loan.due_date == date(2026, 12, 14)


async def test_a_renewal_is_due_a_loan_period_from_the_renewal_day(client, deps, clock):
    hanako = await patron(deps, 1)
    loan = await lend(deps, hanako, await make_title(deps))
    clock.set_date(date(2026, 12, 8))
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    payload = await _renew(client, loan.id)

    assert payload["errors"] == []
    assert payload["loan"]["dueDate"] == "2026-12-22" and payload["loan"]["renewalCount"] == 1
    assert payload["loan"]["renewability"]["reasons"] == ["RENEWAL_LIMIT_REACHED"]


async def test_a_renewed_due_date_skips_closed_days(client, deps, clock):
    hanako = await patron(deps, 1)
    loan = await lend(deps, hanako, await make_title(deps))
    await calendar.set_day(date(2026, 12, 15), closed=True, note="定期休館日")
    clock.set_date(date(2026, 12, 1))
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    assert (await _renew(client, loan.id))["loan"]["dueDate"] == "2026-12-16"


async def test_can_renew_on_the_due_date(client, deps, clock):
    hanako = await patron(deps, 1)
    loan = await lend(deps, hanako, await make_title(deps))
    clock.set_date(date(2026, 12, 12), hour=19)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    payload = await _renew(client, loan.id)
    assert payload["errors"] == [] and payload["loan"]["dueDate"] == "2026-12-26"


async def test_cannot_renew_the_day_after_the_due_date(client, deps, clock):
    hanako = await patron(deps, 1)
    loan = await lend(deps, hanako, await make_title(deps))
    clock.set_date(date(2026, 12, 13), hour=0)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    (shown,) = await my_loans(client)
    assert shown["overdue"] is True
    assert shown["renewability"] == {"renewable": False, "reasons": ["LOAN_OVERDUE"],
                                     "messages": ["返却期限を過ぎているため延長できません。"]}
    payload = await _renew(client, loan.id)
    assert codes(payload) == ["LOAN_OVERDUE"] and payload["loan"] is None
    assert (await Loan.get(id=loan.id)).due_date == date(2026, 12, 12)


async def test_a_loan_is_renewed_only_once(client, deps, clock):
    hanako = await patron(deps, 1)
    loan = await lend(deps, hanako, await make_title(deps))
    clock.set_date(date(2026, 12, 5))
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    assert (await _renew(client, loan.id))["errors"] == []
    clock.advance(minutes=30)

    again = await _renew(client, loan.id)

    assert codes(again) == ["RENEWAL_LIMIT_REACHED"]
    assert again["errors"][0]["message"] == "延長は1回までです。この資料はすでに延長済みです。"
    assert (await Loan.get(id=loan.id)).due_date == date(2026, 12, 19)
    assert (await my_loans(client))[0]["renewability"]["reasons"] == ["RENEWAL_LIMIT_REACHED"]


async def test_cannot_renew_when_someone_is_waiting(client, deps):
    hanako, taro = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps, "こころ")
    loan = await lend(deps, hanako, title)
    await hold(deps, taro, title)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    (shown,) = await my_loans(client)
    assert shown["renewability"] == {"renewable": False, "reasons": ["RENEWAL_BLOCKED_BY_HOLD"],
                                     "messages": ["次の予約があるため延長できません。"]}
    assert codes(await _renew(client, loan.id)) == ["RENEWAL_BLOCKED_BY_HOLD"]
    assert (await Loan.get(id=loan.id)).renewal_count == 0


async def test_every_reason_is_listed_when_several_apply(client, deps, clock):
    hanako, taro = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps)
    loan = await lend(deps, hanako, title)
    await Loan.filter(id=loan.id).update(renewal_count=1)
    await hold(deps, taro, title)
    clock.set_date(date(2026, 12, 20))
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    (shown,) = await my_loans(client)
    assert shown["renewability"]["reasons"] == ["LOAN_OVERDUE", "RENEWAL_LIMIT_REACHED", "RENEWAL_BLOCKED_BY_HOLD"]
    assert codes(await _renew(client, loan.id)) == shown["renewability"]["reasons"]


async def test_another_patrons_loan_cannot_be_renewed_or_seen(client, deps):
    hanako, taro = await patron(deps, 1), await patron(deps, 2)
    loan = await lend(deps, hanako, await make_title(deps))
    await client.login(taro.card_number, DEFAULT_PASSWORD)

    assert codes(await _renew(client, loan.id)) == ["NOT_FOUND"]
    assert codes(await _renew(client, loan.id + 100)) == ["NOT_FOUND"]
    assert codes(await client.mutate("renewLoan", {"loanId": "not-an-id"})) == ["NOT_FOUND"]
    assert codes(await client.mutate("renewLoan", {"loanId": gid("Title", loan.title_id)})) == ["NOT_FOUND"]
    data = await client.query("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Loan", loan.id)})
    assert data == {"node": None}
    assert (await Loan.get(id=loan.id)).renewal_count == 0


@pytest.mark.parametrize("who", ["guest", "staff"])
async def test_only_the_patron_renews(client, deps, who):
    loan = await lend(deps, await patron(deps, 1), await make_title(deps))
    if who == "staff":
        await make_staff(deps)
        await client.staff_login("desk1", STAFF_PASSWORD)
    payload = await _renew(client, loan.id)
    assert codes(payload) == (["NOT_AUTHENTICATED"] if who == "guest" else ["FORBIDDEN"])


async def test_loans_are_listed_earliest_due_first_and_paged(client, deps, clock):
    hanako = await patron(deps, 1)
    late = await lend(deps, hanako, await make_title(deps, "後で借りた本"))
    clock.set_date(date(2026, 11, 20))
    early = await lend(deps, hanako, await make_title(deps, "先に借りた本"))
    clock.set_date(date(2026, 11, 28))
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    data = await client.query(
        "{ viewer { loans(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } }"
    )
    page = data["viewer"]["loans"]
    assert page["totalCount"] == 2 and page["pageInfo"]["hasNextPage"] is True
    assert page["edges"][0]["node"]["id"] == gid("Loan", early.id)
    rest = await client.query(
        "query($after: String) { viewer { loans(first: 5, after: $after) { edges { node { id } } } } }",
        {"after": page["pageInfo"]["endCursor"]},
    )
    assert [e["node"]["id"] for e in rest["viewer"]["loans"]["edges"]] == [gid("Loan", late.id)]
