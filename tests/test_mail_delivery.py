"""Delivery of notices through a real SMTP server on loopback (F15): exact Japanese messages,
retries with backoff on temporary refusals, failure on permanent ones, a worker killed
mid-batch, two workers at once (a server that is down: test_mail_outage). Time moves only with
the FixedClock."""

from __future__ import annotations

import asyncio
import io
import random
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from rich.console import Console

from app.domain import mailer, notices, outbox
from app.domain.deps import Deps
from app.mail_sink import PrintingHandler
from app.models import Notice
from app.models.enums import NoticeKind, NoticeStatus
from tests.smtp import free_port
from tests.support import make_patron

HOLD_READY_BODY = """古賀市立図書館です。
ご予約の資料の貸出準備ができました。

取置期限日：2026年12月5日（土）

取置期限日までに、予約された方の利用者カードをお持ちのうえ、図書館カウンターにお越しください。
期限を過ぎますと、ご予約は取り消しとなります。

メールは通信環境などにより届かないこともあります。予約資料を確実に受け取るため、
マイページも定期的にご覧ください。

※このメールは送信専用のアドレスから送信しています。ご返信いただいてもお答えできません。
――――――――――――――――――――
古賀市立図書館
"""


@pytest.fixture
def settings(settings, smtp_server):
    return settings.replace(smtp_port=smtp_server.port)


async def hold_ready(deps: Deps, patron_id: int | None = None, *, hold_id: int = 7,
                     to: str | None = "hanako@example.jp") -> Notice:
    """The HOLD_READY notice circulation records when a copy is trapped (data contract)."""
    await notices.enqueue(
        deps, NoticeKind.HOLD_READY, dedupe_key=f"hold_ready:{hold_id}:3:2026-11-28",
        patron_id=patron_id, to_address=to,
        data={"hold_id": hold_id, "title_id": 1, "title": "銀河鉄道の夜", "pickup_deadline": "2026-12-05"},
    )
    return await Notice.get(dedupe_key=f"hold_ready:{hold_id}:3:2026-11-28")


async def hold_received(deps: Deps, hold_id: int, to: str = "hanako@example.jp") -> Notice:
    await notices.enqueue(
        deps, NoticeKind.HOLD_RECEIVED, dedupe_key=f"hold_received:{hold_id}", patron_id=None,
        to_address=to, data={"hold_id": hold_id, "title_id": 1, "title": "こころ",
                             "placed_on": "2026-11-28", "source": "web"},
    )
    return await Notice.get(dedupe_key=f"hold_received:{hold_id}")


async def test_a_hold_ready_notice_arrives_as_japanese_plain_text_with_proper_headers(deps, smtp_server):
    notice = await hold_ready(deps)

    report = await mailer.deliver_once(deps)

    assert (report.claimed, report.sent) == (1, 1)
    [mail] = smtp_server.received
    assert mail.mail_from == "koga-lib@fromjapan.org" and mail.rcpt_tos == ["hanako@example.jp"]
    message = mail.message
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("古賀市立図書館", "koga-lib@fromjapan.org")
    assert message["To"] == "hanako@example.jp"
    assert mail.subject == "【古賀市立図書館】貸出準備完了のお知らせ"
    assert message["Date"] == "Sat, 28 Nov 2026 10:00:00 +0900"
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    assert message["Auto-Submitted"] == "auto-generated"
    assert mail.body == HOLD_READY_BODY
    # The headers on the wire are ASCII: the Japanese subject is MIME-encoded.
    raw_headers = mail.raw.split(b"\r\n\r\n")[0]
    assert raw_headers.isascii() and b"Subject: =?utf-8?b?" in raw_headers
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENT and notice.attempts == 1 and notice.sent_at == deps.now()
    assert message["Message-ID"] == notice.message_id
    assert notice.message_id.endswith("@fromjapan.org>") and f"notice.{notice.id}." in notice.message_id


async def test_the_title_appears_only_when_the_library_chose_to_name_titles(deps, smtp_server):
    await hold_ready(deps, hold_id=1)
    named = Deps(deps.settings.replace(notices_include_titles=True), deps.clock, deps.hasher)
    await hold_ready(named, hold_id=2, to="taro@example.jp")

    await mailer.deliver_once(deps)

    [private] = smtp_server.to("hanako@example.jp")
    [with_title] = smtp_server.to("taro@example.jp")
    assert "銀河鉄道の夜" not in private.body and "資料名" not in private.body
    assert "資料名　　：銀河鉄道の夜\n取置期限日：2026年12月5日（土）" in with_title.body


async def test_a_hold_received_notice_says_when_and_how_the_hold_was_placed(deps, smtp_server):
    await hold_received(deps, 5)

    await mailer.deliver_once(deps)

    [mail] = smtp_server.received
    assert mail.subject == "【古賀市立図書館】予約受付のお知らせ"
    assert "ご予約を受け付けました。" in mail.body
    assert "受付日　　：2026年11月28日（土）\n受付方法　：Web予約\n" in mail.body
    assert "こころ" not in mail.body


async def test_a_server_answering_451_twice_gets_exactly_one_message_after_backing_off(deps, smtp_server, clock):
    notice = await hold_ready(deps)
    smtp_server.handler.rcpt_replies.extend(["451 4.7.1 Greylisted, try again later"] * 2)
    rng = random.Random(1)

    first = await mailer.deliver_once(deps, rng=rng)
    await notice.refresh_from_db()
    assert (first.retried, notice.status, notice.attempts) == (1, NoticeStatus.PENDING, 1)
    assert "451" in notice.last_error
    wait = notice.next_attempt_at - deps.now()
    assert timedelta(seconds=30) <= wait <= timedelta(seconds=60)  # first step: 60 s, with jitter

    assert (await mailer.deliver_once(deps)).claimed == 0  # not due yet
    clock.advance(wait)
    await mailer.deliver_once(deps, rng=rng)
    await notice.refresh_from_db()
    second_wait = notice.next_attempt_at - deps.now()
    assert notice.attempts == 2 and timedelta(seconds=60) <= second_wait <= timedelta(seconds=120)
    assert smtp_server.received == []

    clock.advance(second_wait)
    await mailer.deliver_once(deps, rng=rng)

    await notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.last_error) == (NoticeStatus.SENT, 3, None)
    assert len(smtp_server.received) == 1
    assert smtp_server.received[0].message["Message-ID"] == notice.message_id


async def test_a_permanent_refusal_marks_the_notice_failed_after_one_try(deps, smtp_server, clock):
    notice = await hold_ready(deps)
    smtp_server.handler.rcpt_replies.append("550 5.1.1 User unknown")

    report = await mailer.deliver_once(deps)

    await notice.refresh_from_db()
    assert report.failed == 1
    assert (notice.status, notice.attempts) == (NoticeStatus.FAILED, 1)
    assert notice.last_error.startswith("550") and "User unknown" in notice.last_error
    clock.advance(days=1)
    assert (await mailer.deliver_once(deps)).claimed == 0
    assert smtp_server.received == []


async def test_a_message_refused_after_data_is_failed_too(deps, smtp_server):
    notice = await hold_ready(deps)
    smtp_server.handler.data_replies.append("554 5.7.1 Message rejected as spam")

    await mailer.deliver_once(deps)

    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.FAILED and "554" in notice.last_error


async def test_temporary_failures_stop_after_the_attempt_limit(deps, smtp_server, clock):
    limited = Deps(deps.settings.replace(mail_max_attempts=3), clock, deps.hasher)
    notice = await hold_ready(limited)
    smtp_server.handler.rcpt_replies.extend(["452 4.2.2 Mailbox full"] * 3)

    for _ in range(3):
        await mailer.deliver_once(limited)
        clock.advance(hours=1)

    await notice.refresh_from_db()
    assert (notice.status, notice.attempts) == (NoticeStatus.FAILED, 3)
    assert "452" in notice.last_error and smtp_server.received == []


async def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(deps, smtp_server, clock):
    for hold_id in (1, 2, 3):
        await hold_ready(deps, hold_id=hold_id, to=f"patron{hold_id}@example.jp")
    # The server stops answering at the second recipient; the worker is killed meanwhile.
    # (One connection, so which notice is in flight when it dies is known.)
    smtp_server.handler.hang_on_rcpt = 2
    one = Deps(deps.settings.replace(mail_connections=1), clock, deps.hasher)
    worker = asyncio.create_task(mailer.deliver_once(one, holder="worker-a"))
    assert await asyncio.to_thread(smtp_server.handler.hanging.wait, 10)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    smtp_server.handler.release.set()

    rows = await Notice.all().order_by("id")
    assert [r.status for r in rows] == [NoticeStatus.SENT, NoticeStatus.PENDING, NoticeStatus.PENDING]
    assert all(r.locked_until is not None for r in rows[1:])

    # A restarted worker leaves the dead worker's rows alone while its lease lasts...
    assert (await mailer.deliver_once(deps, holder="worker-b")).claimed == 0
    # ...and takes them over after it.
    clock.advance(seconds=deps.settings.worker_lease_seconds)
    report = await mailer.deliver_once(deps, holder="worker-b")

    assert report.sent == 2
    assert sorted(r for m in smtp_server.received for r in m.rcpt_tos) == [
        "patron1@example.jp", "patron2@example.jp", "patron3@example.jp"]
    assert {n.status for n in await Notice.all()} == {NoticeStatus.SENT}


async def test_two_workers_at_once_send_each_notice_once(deps, smtp_server):
    for hold_id in range(1, 9):
        await hold_ready(deps, hold_id=hold_id, to=f"patron{hold_id}@example.jp")

    reports = await asyncio.gather(
        mailer.deliver_once(deps, holder="worker-a", limit=8), mailer.deliver_once(deps, holder="worker-b", limit=8)
    )

    assert sum(r.sent for r in reports) == 8
    recipients = [r for m in smtp_server.received for r in m.rcpt_tos]
    assert sorted(recipients) == sorted(f"patron{i}@example.jp" for i in range(1, 9))


async def test_a_notice_without_an_address_is_kept_but_never_sent(deps, smtp_server):
    patron = await make_patron(deps)
    await hold_ready(deps, patron.id, to=None)

    assert (await mailer.deliver_once(deps)).claimed == 0

    notice = await Notice.get()
    assert notice.status is NoticeStatus.NO_ADDRESS and smtp_server.received == []


async def test_send_mail_once_delivers_everything_due_in_batches(deps, smtp_server):
    small = Deps(deps.settings.replace(mail_batch_size=2), deps.clock, deps.hasher)
    for hold_id in range(1, 6):
        await hold_ready(small, hold_id=hold_id, to=f"patron{hold_id}@example.jp")

    report = await mailer.deliver_all(small)

    assert (report.claimed, report.sent) == (5, 5) and len(smtp_server.received) == 5


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap(settings):
    rng = random.Random(7)
    for attempts, step in [(1, 60), (2, 120), (3, 240), (7, 3600), (12, 3600)]:
        delay = outbox.retry_delay(settings, attempts, rng).total_seconds()
        assert step / 2 <= delay <= step


async def test_the_development_mail_sink_prints_mails_decoded(deps):
    output = io.StringIO()
    sink = Controller(PrintingHandler(Console(file=output, width=200)), hostname="127.0.0.1", port=free_port())
    sink.start()
    try:
        await hold_ready(deps)
        await mailer.deliver_once(Deps(deps.settings.replace(smtp_port=sink.port), deps.clock, deps.hasher))
    finally:
        sink.stop()

    printed = output.getvalue()
    assert "【古賀市立図書館】貸出準備完了のお知らせ" in printed
    assert "古賀市立図書館 <koga-lib@fromjapan.org>" in printed
    assert "取置期限日：2026年12月5日（土）" in printed


async def test_a_message_the_server_stalls_on_does_not_hold_up_the_rest_of_the_batch(deps, smtp_server, clock):
    for hold_id in range(1, 9):
        await hold_ready(deps, hold_id=hold_id, to=f"patron{hold_id}@example.jp")
    # The first recipient hangs; the batch's other connections deliver the other seven meanwhile.
    smtp_server.handler.hang_on_rcpt = 1
    round_ = asyncio.create_task(mailer.deliver_once(deps, holder="worker-a"))
    assert await asyncio.to_thread(smtp_server.handler.hanging.wait, 10)
    deadline = asyncio.get_running_loop().time() + 10
    while len(smtp_server.received) < 7 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)  # polling the real server, not waiting for time to pass
    assert len(smtp_server.received) == 7
    smtp_server.handler.release.set()  # the stalled conversation ends with 421

    report = await round_

    assert (report.sent, report.retried) == (7, 1)
    [stalled] = await Notice.filter(status=NoticeStatus.PENDING)
    assert stalled.attempts == 1 and "421" in stalled.last_error and stalled.locked_by is None
    clock.advance(stalled.next_attempt_at - deps.now())
    assert (await mailer.deliver_once(deps)).sent == 1
    recipients = sorted(r for m in smtp_server.received for r in m.rcpt_tos)
    assert recipients == sorted(f"patron{i}@example.jp" for i in range(1, 9))
