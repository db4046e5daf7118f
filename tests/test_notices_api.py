"""What patrons and staff see of notices: `viewer.notices` (own only, whether each was sent) and,
for staff, the failed ones with the reason, which they can send again."""

from __future__ import annotations

from datetime import datetime

import pytest
from strawberry.relay import to_base64

from app.domain import mailer, notices
from app.domain.deps import Deps
from app.models import Notice
from app.models.enums import NoticeKind, NoticeStatus
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, codes, make_patron, make_staff

VIEWER_NOTICES = """{ viewer { notices(first: 10) { totalCount edges { node {
  id kind status subject toAddress attempts sentAt nextAttemptAt lastError patron { id } } } } } }"""
FAILED = """{ failedNotices(first: 10) { totalCount edges { node {
  kind status toAddress attempts lastError patron { cardNumber } } } } }"""


@pytest.fixture
def settings(settings, smtp_server):
    return settings.replace(smtp_port=smtp_server.port)


async def notice(deps: Deps, patron_id: int | None, key: str, to: str | None = "hanako@example.jp",
                 kind: NoticeKind = NoticeKind.HOLD_RECEIVED) -> Notice:
    data = {"hold_id": 1, "title_id": 1, "placed_on": "2026-11-28", "source": "web", "pickup_deadline": "2026-12-05"}
    await notices.enqueue(deps, kind, dedupe_key=key, patron_id=patron_id, to_address=to, data=data)
    return await Notice.get(dedupe_key=key)


async def test_a_patron_sees_their_own_notices_and_whether_each_was_sent(client, deps, smtp_server, clock):
    hanako = await make_patron(deps, "101000001", email="hanako@example.jp")
    taro = await make_patron(deps, "101000002", email="taro@example.jp")
    await notice(deps, hanako.id, "hold_received:1")
    await mailer.deliver_once(deps)
    clock.advance(minutes=1)
    smtp_server.handler.rcpt_replies.append("550 5.1.1 User unknown")
    await notice(deps, hanako.id, "hold_ready:1:1:2026-11-28", kind=NoticeKind.HOLD_READY)
    await mailer.deliver_once(deps)
    clock.advance(minutes=1)
    await notice(deps, hanako.id, "hold_ready:2:2:2026-11-28", to=None, kind=NoticeKind.HOLD_READY)
    clock.advance(minutes=1)
    await notice(deps, hanako.id, "hold_received:3")
    await notice(deps, taro.id, "hold_received:4", to="taro@example.jp")
    await client.login("101000001", DEFAULT_PASSWORD)

    data = (await client.query(VIEWER_NOTICES))["viewer"]["notices"]

    nodes = [e["node"] for e in data["edges"]]
    assert data["totalCount"] == 4
    assert [(n["kind"], n["status"]) for n in nodes] == [
        ("HOLD_RECEIVED", "PENDING"), ("HOLD_READY", "NO_ADDRESS"), ("HOLD_READY", "FAILED"), ("HOLD_RECEIVED", "SENT")]
    assert nodes[3]["subject"] == "【古賀市立図書館】予約受付のお知らせ" and nodes[3]["sentAt"] is not None
    assert nodes[0]["nextAttemptAt"] is not None and nodes[3]["nextAttemptAt"] is None
    assert nodes[1]["toAddress"] is None
    # The reason of a failure and the patron link are for staff.
    assert all(n["lastError"] is None and n["patron"] is None for n in nodes)
    assert "taro@example.jp" not in str(nodes)


async def test_another_patrons_notice_does_not_exist_for_you(client, deps):
    await make_patron(deps, "101000001")
    taro = await make_patron(deps, "101000002", email="taro@example.jp")
    theirs = await notice(deps, taro.id, "hold_received:9", to="taro@example.jp")
    await client.login("101000001", DEFAULT_PASSWORD)
    data = await client.query("query($id: ID!) { node(id: $id) { id } }", {"id": to_base64("Notice", theirs.id)})

    assert data == {"node": None}


async def test_a_patron_can_fetch_their_own_notice_by_id(client, deps):
    hanako = await make_patron(deps, "101000001")
    mine = await notice(deps, hanako.id, "hold_received:1")
    await client.login("101000001", DEFAULT_PASSWORD)
    data = await client.query("query($id: ID!) { node(id: $id) { ... on Notice { kind status } } }",
                              {"id": to_base64("Notice", mine.id)})

    assert data == {"node": {"kind": "HOLD_RECEIVED", "status": "PENDING"}}


async def test_staff_see_failed_notices_with_the_reason_and_can_send_them_again(client, other_client, deps,
                                                                                smtp_server):
    hanako = await make_patron(deps, "101000001", email="hanako@example.jp")
    await notice(deps, hanako.id, "hold_received:1")
    await notice(deps, hanako.id, "hold_received:2")
    smtp_server.handler.rcpt_replies.append("550 5.7.1 Relaying denied")
    await mailer.deliver_once(deps)
    await make_staff(deps)
    await other_client.staff_login("desk1", STAFF_PASSWORD)

    failed = (await other_client.query(FAILED))["failedNotices"]

    assert failed["totalCount"] == 1
    [node] = [e["node"] for e in failed["edges"]]
    assert node == {"kind": "HOLD_RECEIVED", "status": "FAILED", "toAddress": "hanako@example.jp", "attempts": 1,
                    "lastError": "550 5.7.1 Relaying denied", "patron": {"cardNumber": "101000001"}}

    failed_row = await Notice.get(status=NoticeStatus.FAILED)
    retried = await other_client.mutate("retryNotice", {"noticeId": to_base64("Notice", failed_row.id)},
                                        "notice { status attempts }")
    assert retried == {"errors": [], "notice": {"status": "PENDING", "attempts": 0}}
    await mailer.deliver_once(deps)
    assert (await Notice.get(id=failed_row.id)).status is NoticeStatus.SENT
    assert len(smtp_server.received) == 2

    again = await other_client.mutate("retryNotice", {"noticeId": to_base64("Notice", failed_row.id)})
    assert codes(again) == ["NOTICE_NOT_RETRYABLE"]
    unknown = await other_client.mutate("retryNotice", {"noticeId": to_base64("Notice", 999)})
    assert codes(unknown) == ["NOT_FOUND"]


async def test_failed_notices_are_for_staff_only(client, deps):
    assert (await client.query(FAILED)) == {"failedNotices": None}
    await make_patron(deps, "101000001")
    await client.login("101000001", DEFAULT_PASSWORD)
    assert (await client.query(FAILED)) == {"failedNotices": None}
    assert codes(await client.mutate("retryNotice", {"noticeId": "Tm90aWNlOjE="})) == ["FORBIDDEN"]


REQUEUE = "requeueFailedNotices"


async def failed_notice(deps: Deps, smtp_server, clock, when: datetime, key: str) -> Notice:
    """A notice the mail server refused at `when` (library time)."""
    clock.set(when)
    row = await notice(deps, None, key)
    smtp_server.handler.rcpt_replies.append("452 4.3.1 Insufficient system storage")
    await mailer.deliver_once(Deps(deps.settings.replace(mail_max_attempts=1), clock, deps.hasher))
    await row.refresh_from_db()
    assert row.status is NoticeStatus.FAILED and row.failed_at == deps.now()
    return row


async def test_staff_requeue_the_notices_that_failed_during_an_outage_after_a_dry_run(
        other_client, deps, smtp_server, clock):
    # The relay failed from Saturday night to Sunday night; library days in Asia/Tokyo.
    before = await failed_notice(deps, smtp_server, clock, datetime(2026, 11, 27, 23, 50), "hold_received:1")
    saturday = await failed_notice(deps, smtp_server, clock, datetime(2026, 11, 28, 0, 5), "hold_received:2")
    sunday = await failed_notice(deps, smtp_server, clock, datetime(2026, 11, 29, 23, 55), "hold_received:3")
    after = await failed_notice(deps, smtp_server, clock, datetime(2026, 11, 30, 0, 1), "hold_received:4")
    clock.set(datetime(2026, 11, 30, 9, 0))
    await make_staff(deps)
    await other_client.staff_login("desk1", STAFF_PASSWORD)
    period = {"periodStart": "2026-11-28", "periodEnd": "2026-11-29"}

    dry = await other_client.mutate(REQUEUE, {**period, "dryRun": True}, "count dryRun")

    assert dry == {"errors": [], "count": 2, "dryRun": True}
    assert await Notice.filter(status=NoticeStatus.FAILED).count() == 4
    listed = (await other_client.query("{ failedNotices(first: 10) { edges { node { failedAt } } } }"))
    assert [e["node"]["failedAt"] for e in listed["failedNotices"]["edges"]] == [
        "2026-11-29T15:01:00+00:00", "2026-11-29T14:55:00+00:00", "2026-11-27T15:05:00+00:00",
        "2026-11-27T14:50:00+00:00"]

    done = await other_client.mutate(REQUEUE, period, "count dryRun")

    assert done == {"errors": [], "count": 2, "dryRun": False}
    for row, status in [(before, NoticeStatus.FAILED), (saturday, NoticeStatus.PENDING),
                        (sunday, NoticeStatus.PENDING), (after, NoticeStatus.FAILED)]:
        await row.refresh_from_db()
        assert row.status is status
    assert (saturday.attempts, saturday.failed_at, saturday.next_attempt_at) == (0, None, deps.now())
    report = await mailer.deliver_once(deps)
    assert report.sent == 2 and len(smtp_server.received) == 2
    again = await other_client.mutate(REQUEUE, period, "count")
    assert again == {"errors": [], "count": 0}


async def test_a_requeue_period_must_end_on_or_after_its_start(other_client, deps, smtp_server, clock):
    failed = await failed_notice(deps, smtp_server, clock, datetime(2026, 11, 28, 12, 0), "hold_received:1")
    await make_staff(deps)
    await other_client.staff_login("desk1", STAFF_PASSWORD)

    payload = await other_client.mutate(REQUEUE, {"periodStart": "2026-11-29", "periodEnd": "2026-11-28"}, "count")
    too_long = await other_client.mutate(REQUEUE, {"periodStart": "2025-11-28", "periodEnd": "2026-11-28"}, "count")

    assert payload["errors"] == [{"code": "INVALID_PERIOD", "field": ["input", "periodEnd"],
                                  "message": "期間の終了日は開始日以降の日付で、開始日から1年以内にしてください。"}]
    assert payload["count"] == 0 and codes(too_long) == ["INVALID_PERIOD"]
    await failed.refresh_from_db()
    assert failed.status is NoticeStatus.FAILED


async def test_only_staff_may_requeue_failed_notices(client, deps, smtp_server, clock):
    failed = await failed_notice(deps, smtp_server, clock, datetime(2026, 11, 28, 12, 0), "hold_received:1")
    period = {"periodStart": "2026-11-28", "periodEnd": "2026-11-28"}

    assert codes(await client.mutate(REQUEUE, period)) == ["NOT_AUTHENTICATED"]
    await make_patron(deps, "101000001")
    await client.login("101000001", DEFAULT_PASSWORD)
    assert codes(await client.mutate(REQUEUE, period)) == ["FORBIDDEN"]
    await failed.refresh_from_db()
    assert failed.status is NoticeStatus.FAILED
