"""開館カレンダー: open and closed days and events by month; staff keep it."""

from datetime import date

import pytest

from app.domain import calendar
from app.models import CalendarDay, CalendarEvent
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, codes, make_patron, make_staff

MONTH = """query($y: Int!, $m: Int!) { libraryCalendar(year: $y, month: $m) {
  year month days { day closed note events { title startsAt } } events { day title description startsAt } } }"""


@pytest.fixture
async def desk(deps, other_client):
    await make_staff(deps)
    await other_client.staff_login("desk1", STAFF_PASSWORD)
    return other_client


async def test_a_guest_sees_the_month_with_closed_days_and_events(client):
    await calendar.set_day(date(2026, 2, 9), closed=True, note="定期休館日")
    await CalendarEvent.create(day=date(2026, 2, 11), title="赤ちゃんおはなし会", description="児童コーナー", starts_at="10:30")
    await CalendarEvent.create(day=date(2026, 3, 1), title="おはなし会")
    data = (await client.query(MONTH, {"y": 2026, "m": 2}))["libraryCalendar"]
    assert (data["year"], data["month"], len(data["days"])) == (2026, 2, 28)
    assert data["days"][8] == {"day": "2026-02-09", "closed": True, "note": "定期休館日", "events": []}
    assert data["days"][10] == {"day": "2026-02-11", "closed": False, "note": "",
                                "events": [{"title": "赤ちゃんおはなし会", "startsAt": "10:30"}]}
    assert [d["closed"] for d in data["days"]].count(True) == 1
    assert data["events"] == [{"day": "2026-02-11", "title": "赤ちゃんおはなし会", "description": "児童コーナー",
                               "startsAt": "10:30"}]


async def test_leap_february_and_december_have_their_days(client):
    assert len((await client.query(MONTH, {"y": 2028, "m": 2}))["libraryCalendar"]["days"]) == 29
    december = (await client.query(MONTH, {"y": 2026, "m": 12}))["libraryCalendar"]["days"]
    assert (december[0]["day"], december[-1]["day"]) == ("2026-12-01", "2026-12-31")


@pytest.mark.parametrize("year, month", [(2026, 0), (2026, 13), (0, 1), (10000, 1)])
async def test_a_month_that_does_not_exist_is_a_bad_request(client, year, month):
    body = await client.execute(MONTH, {"y": year, "m": month})
    assert body["errors"] and body["data"] is None


async def test_staff_close_a_day_and_open_it_again(client, desk):
    payload = await desk.mutate("setCalendarDay", {"day": "2026-12-05", "closed": True, "note": " 臨時休館（点検） "},
                                "day { day closed note }")
    assert payload == {"errors": [], "day": {"day": "2026-12-05", "closed": True, "note": "臨時休館（点検）"}}
    assert await calendar.next_open_day(date(2026, 12, 5)) == date(2026, 12, 6)
    reopened = await desk.mutate("setCalendarDay", {"day": "2026-12-05", "closed": False, "note": "臨時開館"},
                                 "day { closed note }")
    assert reopened["day"] == {"closed": False, "note": "臨時開館"}
    assert await CalendarDay.filter(day=date(2026, 12, 5)).count() == 1
    days = (await client.query(MONTH, {"y": 2026, "m": 12}))["libraryCalendar"]["days"]
    assert days[4] == {"day": "2026-12-05", "closed": False, "note": "臨時開館", "events": []}


async def test_staff_add_and_remove_events(client, desk):
    added = await desk.mutate("addCalendarEvent", {"day": "2027-02-11", "title": "赤ちゃんおはなし会",
                                                   "description": "申込不要", "startsAt": "１０:３０"},
                              "event { id day title startsAt }")
    assert added["errors"] == [] and added["event"]["startsAt"] == "10:30"
    await desk.mutate("addCalendarEvent", {"day": "2027-02-11", "title": "朝のおはなし会", "startsAt": "9:05"})
    events = (await client.query(MONTH, {"y": 2027, "m": 2}))["libraryCalendar"]["events"]
    assert [(e["title"], e["startsAt"]) for e in events] == [("朝のおはなし会", "09:05"), ("赤ちゃんおはなし会", "10:30")]
    removed = await desk.mutate("removeCalendarEvent", {"eventId": added["event"]["id"]}, "removedEventId")
    assert removed == {"errors": [], "removedEventId": added["event"]["id"]}
    again = await desk.mutate("removeCalendarEvent", {"eventId": added["event"]["id"]})
    assert codes(again) == ["NOT_FOUND"] and again["errors"][0]["field"] == ["input", "eventId"]


@pytest.mark.parametrize("input, expected", [
    ({"title": " "}, [("NAME_REQUIRED", "title")]),
    ({"title": "会" * 201}, [("NAME_TOO_LONG", "title")]),
    ({"title": "会", "startsAt": "25:00"}, [("INVALID_TIME", "startsAt")]),
    ({"title": "会", "startsAt": "朝"}, [("INVALID_TIME", "startsAt")]),
    ({"title": "", "startsAt": "10時"}, [("NAME_REQUIRED", "title"), ("INVALID_TIME", "startsAt")]),
    ({"title": "会", "description": "説" * 2001}, [("TEXT_TOO_LONG", "description")]),
])
async def test_bad_events_are_refused(desk, input, expected):
    payload = await desk.mutate("addCalendarEvent", {"day": "2027-02-11", **input})
    assert [(e["code"], e["field"][-1]) for e in payload["errors"]] == expected
    assert await CalendarEvent.all().count() == 0


async def test_a_too_long_note_is_refused(desk):
    payload = await desk.mutate("setCalendarDay", {"day": "2026-12-05", "closed": True, "note": "休" * 201})
    assert codes(payload) == ["TEXT_TOO_LONG"]
    assert await CalendarDay.all().count() == 0


async def test_only_staff_keep_the_calendar(client, deps):
    assert codes(await client.mutate("setCalendarDay", {"day": "2026-12-05", "closed": True})) == ["NOT_AUTHENTICATED"]
    await make_patron(deps)
    await client.login("101234567", DEFAULT_PASSWORD)
    for name, input in [("setCalendarDay", {"day": "2026-12-05", "closed": True}),
                        ("addCalendarEvent", {"day": "2026-12-05", "title": "会"}),
                        ("removeCalendarEvent", {"eventId": "Q2FsZW5kYXJFdmVudDox"})]:
        assert codes(await client.mutate(name, input)) == ["FORBIDDEN"], name
    assert await CalendarDay.all().count() == 0
