"""借りた本の履歴 (opt-in, the patron's secret) and 読書マラソン (counts only)."""

from datetime import date, datetime, timedelta

import pytest
from strawberry import relay

from app.clock import FixedClock
from app.domain import circulation
from app.domain.deps import Deps
from app.domain.shelves import record_checkout
from app.models import Item, Loan, Patron, ReadingHistoryEntry, ReadingTally
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, codes, make_patron, make_staff, make_title

HISTORY = "{ viewer { readingHistoryEnabled readingHistory { totalCount edges { node { borrowedOn title { title } } } } } }"
MARATHON = "{ viewer { readingMarathon { target periodStart periodEnd count remaining percent achieved months { year month count } } } }"


@pytest.fixture
async def hanako(deps, client):
    patron = await make_patron(deps, "100000001", name_kana="コガハナコ")
    await client.login("100000001", DEFAULT_PASSWORD)
    return patron


async def checkout(deps, patron: Patron, title_name: str, day: date | None = None) -> Loan:
    """The circulation desk lends a new title to the patron (on `day`, default today)."""
    title = await make_title(deps, title_name)
    item = await Item.get(title_id=title.id)
    if day is not None:
        deps = Deps(deps.settings, FixedClock(datetime(day.year, day.month, day.day, 10), deps.settings.tz), deps.hasher)
    return (await circulation.checkout(deps, patron.card_number, item.barcode)).loan


async def checkin(deps, loan: Loan) -> None:
    """The circulation desk takes the copy back."""
    item = await Item.get(id=loan.item_id)
    await circulation.checkin(deps, item.barcode)


async def set_history(client, enabled: bool) -> dict:
    return await client.mutate("setReadingHistoryEnabled", {"enabled": enabled},
                               "patron { readingHistoryEnabled } deletedEntries")


# --- loan history -------------------------------------------------------------------------


async def test_history_is_off_by_default_and_nothing_is_kept(client, deps, hanako):
    await checkout(deps, hanako, "こころ")
    data = await client.query(HISTORY)
    assert data["viewer"]["readingHistoryEnabled"] is False
    assert data["viewer"]["readingHistory"]["totalCount"] == 0
    assert await ReadingHistoryEntry.all().count() == 0
    # The marathon still counts the loan: a number, no title.
    assert (await ReadingTally.get(patron_id=hanako.id)).count == 1


async def test_a_returned_loan_without_consent_has_no_patron_link_in_the_database(deps, hanako):
    loan = await checkout(deps, hanako, "人間失格")
    await checkin(deps, loan)
    assert await Loan.filter(patron_id=hanako.id).count() == 0
    assert (await Loan.get(id=loan.id)).patron_id is None
    assert await ReadingHistoryEntry.filter(patron_id=hanako.id).count() == 0
    # What remains about the patron is a count per day, with no title in it.
    assert await ReadingTally.filter(patron_id=hanako.id).values_list("day", "count") == [(deps.today(), 1)]


async def test_opting_in_records_consent_and_keeps_later_checkouts(client, deps, clock, hanako):
    await checkout(deps, hanako, "こころ")  # before consent: not kept
    payload = await set_history(client, True)
    assert payload["errors"] == [] and payload["patron"]["readingHistoryEnabled"] is True
    assert (await Patron.get(id=hanako.id)).reading_history_enabled_at == clock.now()
    loan = await checkout(deps, hanako, "坊っちゃん")
    await checkin(deps, loan)
    await checkout(deps, hanako, "三四郎", deps.today() + timedelta(days=1))
    data = await client.query(HISTORY)
    edges = data["viewer"]["readingHistory"]["edges"]
    assert [(e["node"]["title"]["title"], e["node"]["borrowedOn"]) for e in edges] == [
        ("三四郎", "2026-11-29"), ("坊っちゃん", "2026-11-28")]
    # The returned loan itself is anonymised; the history is the only record, and it is the patron's.
    assert (await Loan.get(id=loan.id)).patron_id is None


async def test_opting_in_again_keeps_the_first_consent_time(client, deps, clock, hanako):
    await set_history(client, True)
    first = (await Patron.get(id=hanako.id)).reading_history_enabled_at
    clock.advance(minutes=30)
    assert (await set_history(client, True))["errors"] == []
    assert (await Patron.get(id=hanako.id)).reading_history_enabled_at == first


async def test_opting_out_deletes_the_whole_history(client, deps, hanako):
    await set_history(client, True)
    for name in ("こころ", "坊っちゃん"):
        await checkout(deps, hanako, name)
    payload = await set_history(client, False)
    assert payload["errors"] == [] and payload["deletedEntries"] == 2
    assert payload["patron"]["readingHistoryEnabled"] is False
    assert await ReadingHistoryEntry.all().count() == 0
    assert (await Patron.get(id=hanako.id)).reading_history_enabled_at is None
    await checkout(deps, hanako, "三四郎")
    assert await ReadingHistoryEntry.all().count() == 0


async def test_record_checkout_reads_consent_from_the_database(deps, hanako):
    """A patron object loaded before an opt-out must not sneak an entry in afterwards."""
    stale = await Patron.get(id=hanako.id)
    stale.reading_history_enabled_at = datetime(2026, 1, 1)
    title = await make_title(deps, "こころ")
    await record_checkout(stale, title.id, deps.today())
    assert await ReadingHistoryEntry.all().count() == 0


async def test_history_is_visible_only_to_the_patron_themself(client, other_client, deps, hanako):
    await set_history(client, True)
    await checkout(deps, hanako, "こころ")
    entry = await ReadingHistoryEntry.get()
    patron_id = str(relay.GlobalID("Patron", str(hanako.id)))
    entry_id = str(relay.GlobalID("ReadingHistoryEntry", str(entry.id)))
    private = """query($p: ID!, $e: ID!) {
      patron: node(id: $p) { ... on Patron { cardNumber readingHistory { totalCount } favorites { totalCount }
                                              bookshelves { totalCount } readingMarathon { count } } }
      entry: node(id: $e) { id }
    }"""
    # Staff can see the patron, never what they read.
    await make_staff(deps)
    await other_client.staff_login("desk1", STAFF_PASSWORD)
    data = await other_client.query(private, {"p": patron_id, "e": entry_id})
    assert data["patron"] == {"cardNumber": "100000001", "readingHistory": None, "favorites": None,
                              "bookshelves": None, "readingMarathon": None}
    assert data["entry"] is None
    # Another patron cannot even see the patron.
    await other_client.mutate("logout", {})
    await make_patron(deps, "100000002")
    await other_client.login("100000002", DEFAULT_PASSWORD)
    data = await other_client.query(private, {"p": patron_id, "e": entry_id})
    assert data == {"patron": None, "entry": None}
    # The patron sees both.
    mine = await client.query(private, {"p": patron_id, "e": entry_id})
    assert mine["patron"]["readingHistory"] == {"totalCount": 1} and mine["entry"] == {"id": entry_id}


async def test_guests_cannot_change_history_consent(client):
    assert codes(await set_history(client, True)) == ["NOT_AUTHENTICATED"]


# --- reading marathon ---------------------------------------------------------------------


async def set_goal(client, target: int, start: str, end: str) -> dict:
    return await client.mutate("setReadingGoal", {"target": target, "periodStart": start, "periodEnd": end},
                               "readingMarathon { target count percent achieved months { year month count } }")


async def test_marathon_counts_loans_by_month_across_month_and_year_boundaries(client, deps, hanako):
    days = [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 31), date(2026, 12, 31), date(2027, 1, 1),
            date(2026, 10, 31)]  # the last is before the period
    for n, day in enumerate(days):
        await checkout(deps, hanako, f"本{n}", day)
    payload = await set_goal(client, 10, "2026-11-01", "2027-02-28")
    assert payload["errors"] == []
    data = (await client.query(MARATHON))["viewer"]["readingMarathon"]
    assert data["count"] == 5 and data["remaining"] == 5 and data["percent"] == 50 and not data["achieved"]
    assert data["months"] == [
        {"year": 2026, "month": 11, "count": 1}, {"year": 2026, "month": 12, "count": 3},
        {"year": 2027, "month": 1, "count": 1}, {"year": 2027, "month": 2, "count": 0},
    ]


async def test_marathon_works_with_history_off_and_is_achieved_at_the_target(client, deps, hanako):
    await set_goal(client, 2, "2026-11-01", "2026-11-30")
    await checkout(deps, hanako, "こころ")
    await checkout(deps, hanako, "坊っちゃん")
    await checkout(deps, hanako, "三四郎")
    data = (await client.query(MARATHON))["viewer"]["readingMarathon"]
    assert data["count"] == 3 and data["achieved"] and data["percent"] == 150 and data["remaining"] == 0
    assert await ReadingHistoryEntry.all().count() == 0


async def test_marathon_is_null_until_a_goal_is_set_and_a_new_goal_replaces_it(client, deps, hanako):
    assert (await client.query(MARATHON))["viewer"]["readingMarathon"] is None
    await set_goal(client, 5, "2026-04-01", "2027-03-31")
    await set_goal(client, 12, "2026-11-01", "2026-11-30")
    data = (await client.query(MARATHON))["viewer"]["readingMarathon"]
    assert (data["target"], data["periodStart"], len(data["months"])) == (12, "2026-11-01", 1)


async def test_a_patron_can_stop_the_marathon_and_a_later_goal_counts_the_loans_again(client, deps, hanako):
    await set_goal(client, 5, "2026-11-01", "2026-11-30")
    await checkout(deps, hanako, "こころ")
    cleared = await client.mutate("clearReadingGoal", {}, "cleared")
    assert cleared == {"errors": [], "cleared": True}
    assert (await client.query(MARATHON))["viewer"]["readingMarathon"] is None
    # Nothing left to clear: said so, no error.
    assert await client.mutate("clearReadingGoal", {}, "cleared") == {"errors": [], "cleared": False}
    again = (await set_goal(client, 3, "2026-11-01", "2026-11-30"))["readingMarathon"]
    assert (again["target"], again["count"]) == (3, 1)


async def test_guests_and_staff_cannot_clear_a_goal(client, deps):
    payload = await client.mutate("clearReadingGoal", {}, "cleared")
    assert codes(payload) == ["NOT_AUTHENTICATED"] and payload["cleared"] is False
    await make_staff(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    assert codes(await client.mutate("clearReadingGoal", {}, "cleared")) == ["FORBIDDEN"]


async def test_a_one_day_period_is_allowed(client, hanako):
    assert (await set_goal(client, 1, "2026-11-28", "2026-11-28"))["errors"] == []


@pytest.mark.parametrize("target, start, end, expected", [
    (0, "2026-04-01", "2027-03-31", [("INVALID_GOAL", "target")]),
    (1001, "2026-04-01", "2027-03-31", [("INVALID_GOAL", "target")]),
    (10, "2026-04-01", "2026-03-31", [("INVALID_PERIOD", "periodEnd")]),
    (10, "2026-04-01", "2029-04-01", [("INVALID_PERIOD", "periodEnd")]),
    (-5, "2027-01-01", "2026-01-01", [("INVALID_GOAL", "target"), ("INVALID_PERIOD", "periodEnd")]),
])
async def test_bad_goals_are_refused_with_every_wrong_field(client, hanako, target, start, end, expected):
    payload = await set_goal(client, target, start, end)
    assert [(e["code"], e["field"][-1]) for e in payload["errors"]] == expected
    assert payload["readingMarathon"] is None
    assert (await client.query(MARATHON))["viewer"]["readingMarathon"] is None


async def test_a_three_year_period_is_the_longest(client, hanako):
    assert (await set_goal(client, 100, "2026-04-01", "2029-03-31"))["errors"] == []
