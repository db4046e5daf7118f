"""The demo accounts show what the README promises about loans and holds."""

from app.demo import DEMO_PATRONS, load_demo
from app.models import CalendarDay, Loan
from tests.circulation_support import my_holds, my_loans


async def test_demo_patrons_have_the_loans_and_holds_the_readme_describes(client, other_client, deps):
    assert await load_demo(deps, titles=120)
    hanako, taro = DEMO_PATRONS[0], DEMO_PATRONS[1]

    await client.login(hanako.card_number, hanako.password)
    reasons = sorted(tuple(loan["renewability"]["reasons"]) for loan in await my_loans(client))
    assert reasons == [(), ("LOAN_OVERDUE",), ("RENEWAL_LIMIT_REACHED",)]
    assert sorted(h["status"] for h in await my_holds(client)) == ["READY", "WAITING"]

    await other_client.login(taro.card_number, taro.password)
    (loan,) = await my_loans(other_client)
    assert loan["renewability"]["reasons"] == ["RENEWAL_BLOCKED_BY_HOLD"]

    closed = set(await CalendarDay.filter(is_closed=True).values_list("day", flat=True))
    assert not {d for d in await Loan.all().values_list("due_date", flat=True)} & closed
