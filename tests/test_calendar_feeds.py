"""Calendar feeds (iCalendar, RFC 5545), read back with the `icalendar` parser: the library's
public calendar, and a patron's private feed of due dates and pickup deadlines at a secret
address the patron creates, rotates and revokes. A renewal moves its event; titles stay out."""

from __future__ import annotations

from datetime import date, datetime

import icalendar
from zoneinfo import ZoneInfo

from app.domain import calendar, circulation
from app.main import create_app
from app.models import Item
from tests.circulation_support import gid, hold, lend, lend_all, logged_in, patron
from tests.conftest import http_client
from tests.support import make_title

FEED = "feed { url webcalUrl namesTitles privacyNote createdAt } privacyNote"


def _events(body: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


async def _fetch(app, url: str) -> tuple[int, bytes]:
    async with http_client(app) as http:
        response = await http.get(url.removeprefix("http://testserver"))
    return response.status_code, response.content


async def test_the_public_feed_lists_closed_days_and_events_for_any_calendar_app(app, deps, client):
    await calendar.set_day(date(2026, 12, 29), closed=True, note="年末年始休館")
    await calendar.add_event(date(2027, 2, 11), "赤ちゃんおはなし会", description="申込不要", starts_at="10:30")
    await calendar.add_event(date(2026, 12, 5), "古本市")
    url = (await client.query("{ libraryCalendarFeedUrl }"))["libraryCalendarFeedUrl"]
    assert url == "http://testserver/calendar/library.ics"

    async with http_client(app) as http:
        response = await http.get("/calendar/library.ics")
        cached = await http.get("/calendar/library.ics", headers={"if-none-match": response.headers["etag"]})
    assert response.status_code == 200 and response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=900" and cached.status_code == 304
    cal = icalendar.Calendar.from_ical(response.content)
    assert cal["X-WR-CALNAME"] == "古賀市立図書館 休館日・行事"
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    closed = events["休館日：年末年始休館"]
    assert closed.decoded("DTSTART") == date(2026, 12, 29) and closed.decoded("DTEND") == date(2026, 12, 30)
    story = events["赤ちゃんおはなし会"]
    assert story.decoded("DTSTART") == datetime(2027, 2, 11, 10, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert str(story["DESCRIPTION"]) == "申込不要"
    assert events["古本市"].decoded("DTSTART") == date(2026, 12, 5)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Tokyo"]


async def test_the_private_feed_has_due_dates_and_pickup_deadlines_and_names_no_titles(app, deps):
    hanako = await patron(deps, 2)
    loan = await lend(deps, hanako, await make_title(deps, "こころ"))
    title = await make_title(deps, "草枕")
    await lend_all(deps, await patron(deps, 3), title)
    ready = await hold(deps, hanako, title)
    await circulation.checkin(deps, (await Item.get(title_id=title.id)).barcode)
    async with logged_in(app, hanako) as client:
        created = await client.mutate("createCalendarFeed", {}, FEED)
        assert created["errors"] == [] and created["feed"]["namesTitles"] is False
        assert "資料名を載せず" in created["privacyNote"] and created["privacyNote"] == created["feed"]["privacyNote"]
        url = created["feed"]["url"]
        assert url.startswith("http://testserver/calendar/patron.ics?token=")
        assert created["feed"]["webcalUrl"] == "webcal://" + url.removeprefix("http://")
        # Creating it again changes nothing; the patron can see the address again.
        assert (await client.mutate("createCalendarFeed", {}, FEED))["feed"]["url"] == url
        assert (await client.query("{ viewer { calendarFeed { url } } }"))["viewer"]["calendarFeed"]["url"] == url

    status, body = await _fetch(app, url)
    assert status == 200
    events = {str(e["SUMMARY"]): e for e in _events(body)}
    assert set(events) == {"図書館の返却期限日", "予約資料の取置期限日"}
    assert events["図書館の返却期限日"].decoded("DTSTART") == (await loan.__class__.get(id=loan.id)).due_date
    assert events["予約資料の取置期限日"].decoded("DTSTART") == (await ready.__class__.get(id=ready.id)).pickup_deadline
    assert "こころ".encode() not in body and "草枕".encode() not in body
    # The calendar's cloud learns no row ids: UIDs are keyed digests.
    uid = str(events["図書館の返却期限日"]["UID"])
    assert uid.startswith("loan-") and uid.endswith("@testserver") and len(uid.split("@")[0]) == len("loan-") + 24


async def test_a_renewal_moves_the_event_instead_of_adding_one_and_a_return_removes_it(app, deps, clock):
    hanako = await patron(deps, 2)
    loan = await lend(deps, hanako, await make_title(deps, "こころ"))
    async with logged_in(app, hanako) as client:
        url = (await client.mutate("createCalendarFeed", {}, FEED))["feed"]["url"]
        (before,) = _events((await _fetch(app, url))[1])
        clock.advance(days=5)
        await client.login(hanako.card_number, "pass1234")
        renewed = await client.mutate("renewLoan", {"loanId": gid("Loan", loan.id)}, "loan { dueDate }")
        assert renewed["errors"] == []
    (after,) = _events((await _fetch(app, url))[1])
    assert str(after["UID"]) == str(before["UID"])
    assert after.decoded("DTSTART") == date.fromisoformat(renewed["loan"]["dueDate"]) > before.decoded("DTSTART")
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])

    await circulation.checkin(deps, (await Item.get(id=loan.item_id)).barcode)
    assert _events((await _fetch(app, url))[1]) == []


async def test_a_rotated_or_revoked_address_answers_404(app, deps):
    hanako = await patron(deps, 2)
    async with logged_in(app, hanako) as client:
        first = (await client.mutate("createCalendarFeed", {}, FEED))["feed"]["url"]
        second = (await client.mutate("rotateCalendarFeed", {}, FEED))["feed"]["url"]
        assert second != first
        assert (await _fetch(app, first))[0] == 404 and (await _fetch(app, second))[0] == 200
        assert (await client.mutate("revokeCalendarFeed", {}, "revoked"))["revoked"] is True
        assert (await _fetch(app, second))[0] == 404
        assert [e["code"] for e in (await client.mutate("revokeCalendarFeed", {}))["errors"]] == ["NOT_FOUND"]
        assert (await client.query("{ viewer { calendarFeed { url } } }"))["viewer"]["calendarFeed"] is None
    assert (await _fetch(app, "/calendar/patron.ics?token=guessed"))[0] == 404


async def test_titles_appear_only_when_the_library_names_them_in_notices(deps, settings, clock):
    app = create_app(settings.replace(notices_include_titles=True), clock, manage_database=False)
    hanako = await patron(deps, 2)
    await lend(deps, hanako, await make_title(deps, "こころ"))
    async with logged_in(app, hanako) as client:
        created = await client.mutate("createCalendarFeed", {}, FEED)
    assert created["feed"]["namesTitles"] is True and "資料名が載ります" in created["privacyNote"]
    (event,) = _events((await _fetch(app, created["feed"]["url"]))[1])
    assert str(event["SUMMARY"]) == "図書館の返却期限日：こころ"
