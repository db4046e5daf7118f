"""The privacy dashboard (わたしの情報): what the library holds and for how long, the consent
ledger, the one-time export, the patron's sessions, and deleting reading records in one step."""

from __future__ import annotations

import json
import logging

from app.domain import email_addresses
from app.models import Bookshelf, Favorite, Notice, ReadingHistoryEntry, ReadingTally
from tests.circulation_support import gid, hold, lend, lend_all, logged_in, patron
from tests.conftest import http_client
from tests.support import DEFAULT_PASSWORD, GraphQLClient, codes, make_title

DASHBOARD = """{ viewer { privacy {
  categories { kind label count retention retentionDays deletableOnline }
  consentLedger { kind day }
  sessions { id device createdAt lastSeenAt current } } } }"""
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.1 Mobile/15E148 Safari/604.1")


async def _reader(deps, app):
    """Hanako: two loans (one from her history), a hold, a shelf, a favorite, the history on."""
    hanako = await patron(deps, 2)
    async with logged_in(app, hanako) as client:
        await client.mutate("setReadingHistoryEnabled", {"enabled": True})
        await lend(deps, hanako, await make_title(deps, "こころ"))
        await lend(deps, hanako, await make_title(deps, "坊っちゃん"))
        other = await make_title(deps, "草枕")
        await lend_all(deps, await patron(deps, 3), other)
        await hold(deps, hanako, other)
        shelf = await client.mutate("createBookshelf", {"name": "夏に読む本"}, "bookshelf { id }")
        await client.mutate("addToBookshelf", {"bookshelfId": shelf["bookshelf"]["id"], "titleId": gid("Title", other.id)})
        await client.mutate("addFavorite", {"titleId": gid("Title", other.id)})
    return hanako


async def test_the_dashboard_shows_every_kind_of_data_with_counts_and_how_long_it_is_kept(app, deps):
    hanako = await _reader(deps, app)
    async with logged_in(app, hanako) as client:
        privacy = (await client.query(DASHBOARD))["viewer"]["privacy"]
    shown = {c["kind"]: c for c in privacy["categories"]}
    assert list(shown) == ["REGISTRATION", "CONTACT_ADDRESS", "CURRENT_LOANS", "ACTIVE_HOLDS", "CANCELLED_HOLDS",
                           "LOAN_HISTORY", "BOOKSHELVES", "FAVORITES", "HOLD_CART", "READING_MARATHON", "NOTICES",
                           "SESSIONS", "CALENDAR_FEED", "CONSENT_LEDGER"]
    counts = {kind: c["count"] for kind, c in shown.items()}
    assert counts["CURRENT_LOANS"] == 2 and counts["LOAN_HISTORY"] == 2 and counts["ACTIVE_HOLDS"] == 1
    assert counts["BOOKSHELVES"] == 1 and counts["FAVORITES"] == 1 and counts["READING_MARATHON"] == 1
    assert counts["NOTICES"] == 1  # 予約受付
    assert shown["CANCELLED_HOLDS"]["retentionDays"] == deps.settings.hold_history_days
    assert f"{deps.settings.hold_history_days}日後" in shown["CANCELLED_HOLDS"]["retention"]
    assert shown["CURRENT_LOANS"]["deletableOnline"] is False and "返却" in shown["CURRENT_LOANS"]["retention"]
    assert shown["LOAN_HISTORY"]["deletableOnline"] is True and shown["LOAN_HISTORY"]["label"] == "借りた本の履歴"
    assert "IPアドレスは保存しません" in shown["SESSIONS"]["retention"]


async def test_only_the_patron_sees_their_dashboard(app, deps, client, other_client):
    hanako = await patron(deps, 2)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    me = (await client.query("{ viewer { id } }"))["viewer"]["id"]
    await other_client.login((await patron(deps, 3)).card_number, DEFAULT_PASSWORD)
    query = "query($id: ID!) { node(id: $id) { ... on Patron { privacy { consentLedger { kind } } calendarFeed { url } } } }"
    assert (await other_client.query(query, {"id": me}))["node"] is None
    assert (await client.query("{ viewer { privacy { sessions { id } } } }"))["viewer"]["privacy"]["sessions"]


async def test_the_consent_ledger_keeps_the_day_of_each_choice_and_no_old_address(app, deps, clock):
    hanako = await patron(deps, 2)
    async with logged_in(app, hanako) as client:
        await client.mutate("setReadingHistoryEnabled", {"enabled": True})
        clock.advance(days=3)
        await client.login(hanako.card_number, DEFAULT_PASSWORD)  # the old session idled out
        await client.mutate("updateNotificationSettings", {"dueDateReminder": False})
        await client.mutate("updateNotificationSettings", {"dueDateReminder": False})  # no change, no entry
        requested = await email_addresses.request_change(deps, hanako.id, "hanako.new@example.jp",
                                                         use_as_contact=True, update_hold_contacts=False)
        notice = await Notice.get(dedupe_key__startswith="email_confirmation")
        token = email_addresses.confirmation_url(deps.settings, notice.data["nonce"]).split("token=")[1]
        await client.mutate("confirmEmail", {"token": token})
        clock.advance(days=1)
        await client.login(hanako.card_number, DEFAULT_PASSWORD)
        await client.mutate("setReadingHistoryEnabled", {"enabled": False})
        await client.mutate("removeEmail", {})
        ledger = (await client.query(DASHBOARD))["viewer"]["privacy"]["consentLedger"]
    assert requested.address == "hanako.new@example.jp"
    day0 = "2026-11-28"
    assert ledger == [
        {"kind": "LOAN_HISTORY_ON", "day": day0},
        {"kind": "DUE_REMINDER_OFF", "day": "2026-12-01"},
        {"kind": "EMAIL_CHANGED", "day": "2026-12-01"},
        {"kind": "LOAN_HISTORY_OFF", "day": "2026-12-02"},
        {"kind": "EMAIL_REMOVED", "day": "2026-12-02"},
    ]
    assert "example.jp" not in json.dumps(ledger)


async def test_the_export_downloads_once_as_utf8_json_with_the_same_session_only(app, deps, clock, caplog):
    hanako = await _reader(deps, app)
    caplog.set_level(logging.INFO)
    async with logged_in(app, hanako) as client, logged_in(app, await patron(deps, 4), "192.0.2.44") as other:
        prepared = await client.mutate("requestPrivacyExport", {}, "downloadUrl expiresAt")
        url = prepared["downloadUrl"]
        assert url.startswith("http://testserver/privacy/export?token=")
        path = url.removeprefix("http://testserver")

        # Another patron's session, or none, cannot open it (and does not spend it).
        assert (await other.http.get(path)).status_code == 404
        async with http_client(app) as guest:
            refused = await guest.get(path)
        assert refused.status_code == 401 and refused.json()["errors"][0]["extensions"]["code"] == "NOT_AUTHENTICATED"

        response = await client.http.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.headers["content-disposition"] == 'attachment; filename="library-my-data-20261128.json"'
        assert response.headers["cache-control"] == "no-store"
        document = json.loads(response.content.decode("utf-8"))
        assert "こころ" in response.content.decode("utf-8")  # UTF-8, not \\u escapes
        assert document["patron"]["cardNumber"] == hanako.card_number
        assert sorted(loan["title"] for loan in document["currentLoans"]) == ["こころ", "坊っちゃん"]
        assert [e["title"] for e in document["loanHistory"]] == ["こころ", "坊っちゃん"]
        assert document["bookshelves"][0]["titles"][0]["title"] == "草枕"
        assert document["consentLedger"] == [{"kind": "loan_history_on", "on": "2026-11-28"}]
        assert document["readingMarathon"]["loansPerDay"] == [{"day": "2026-11-28", "count": 2}]

        # Once only; and a fresh link expires.
        again = await client.http.get(path)
        assert again.status_code == 404 and again.json()["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"
        late = (await client.mutate("requestPrivacyExport", {}, "downloadUrl"))["downloadUrl"]
        clock.advance(minutes=deps.settings.privacy_export_minutes + 1)
        expired = await client.http.get(late.removeprefix("http://testserver"))
        assert expired.status_code == 410 and expired.json()["errors"][0]["extensions"]["code"] == "TOKEN_EXPIRED"

    # The app's own log lines (not the test client's).
    logged = "\n".join(r.getMessage() + str(getattr(r, "json_fields", "")) for r in caplog.records
                       if not r.name.startswith("httpx"))
    assert "/privacy/export" in logged
    assert url.split("token=")[1] not in logged and "こころ" not in logged and hanako.card_number not in logged


async def test_deleting_reading_records_needs_the_confirmation_and_says_what_stays(app, deps):
    hanako = await _reader(deps, app)
    async with logged_in(app, hanako) as client:
        selection = "deleted { kind count } kept"
        refused = await client.mutate("deleteReadingRecords", {"confirmation": "はい"}, selection)
        assert codes(refused) == ["CONFIRMATION_REQUIRED"] and refused["errors"][0]["field"] == ["input", "confirmation"]
        assert "「削除する」" in refused["errors"][0]["message"]
        assert await ReadingHistoryEntry.filter(patron_id=hanako.id).count() == 2

        done = await client.mutate("deleteReadingRecords", {"confirmation": " 削除する "}, selection)
        assert done["errors"] == []
        assert done["deleted"] == [{"kind": "LOAN_HISTORY", "count": 2}, {"kind": "READING_TALLIES", "count": 1},
                                   {"kind": "BOOKSHELVES", "count": 1}, {"kind": "FAVORITES", "count": 1}]
        assert done["kept"][0].startswith("貸出中の資料2冊の記録は、返却まで残ります")
        assert done["kept"][1].startswith("予約1件の記録は")
        for model in (ReadingHistoryEntry, ReadingTally, Bookshelf, Favorite):
            assert not await model.filter(patron_id=hanako.id).exists()
        # The history choice stays: the next loan is kept, as the patron asked before.
        assert (await client.query("{ viewer { readingHistoryEnabled } }"))["viewer"]["readingHistoryEnabled"]

        only_favorites = await client.mutate("deleteReadingRecords", {"confirmation": "削除する", "records": ["FAVORITES"]},
                                             selection)
        assert only_favorites["deleted"] == [{"kind": "FAVORITES", "count": 0}]


async def test_the_patron_sees_their_sessions_by_device_and_ends_one_or_all_others(app, deps, clock):
    hanako = await patron(deps, 2)
    async with http_client(app) as laptop_http, http_client(app, address="192.0.2.99") as phone_http:
        laptop, phone = GraphQLClient(laptop_http), GraphQLClient(phone_http)
        laptop_http.headers["user-agent"], phone_http.headers["user-agent"] = CHROME, IPHONE
        await laptop.login(hanako.card_number, DEFAULT_PASSWORD)
        clock.advance(minutes=10)
        await phone.login(hanako.card_number, DEFAULT_PASSWORD)
        async with http_client(app) as script_http:
            script = GraphQLClient(script_http)
            await script.login(hanako.card_number, DEFAULT_PASSWORD)

            listed = (await laptop.query(DASHBOARD))["viewer"]["privacy"]["sessions"]
            assert [(s["device"], s["current"]) for s in listed] == [
                (None, False), ("Mobile Safari 17 / iOS 17 / iPhone", False), ("Chrome 120 / Windows 10", True)]

            phone_id = listed[1]["id"]
            ended = await laptop.mutate("endSession", {"sessionId": phone_id}, "endedSessionId endedCurrent")
            assert ended == {"errors": [], "endedSessionId": phone_id, "endedCurrent": False}
            assert (await phone.query("{ viewer { id } }"))["viewer"] is None
            again = await laptop.mutate("endSession", {"sessionId": phone_id})
            assert codes(again) == ["NOT_FOUND"]

            assert (await laptop.mutate("endOtherSessions", {}, "endedCount"))["endedCount"] == 1
            assert (await script.query("{ viewer { id } }"))["viewer"] is None
            assert (await laptop.query("{ viewer { id } }"))["viewer"] is not None

            mine = (await laptop.query(DASHBOARD))["viewer"]["privacy"]["sessions"][0]["id"]
            own = await laptop.mutate("endSession", {"sessionId": mine}, "endedCurrent")
            assert own["endedCurrent"] is True
            assert (await laptop.query("{ viewer { id } }"))["viewer"] is None
