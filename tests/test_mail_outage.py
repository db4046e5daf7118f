"""An outage of the mail server costs nothing but delay (issue 18): a server that cannot be
reached, or that refuses everything for now (4xx), consumes no notice's attempts; the whole
outbox waits, longer after each failed round, and everything goes out once when it is back,
each notice once with its own Message-ID. A round that can send nothing never loops. A real
SMTP server on loopback; rounds are driven one by one and time moves only with the FixedClock."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import pytest

from app.domain import mailer, outbox
from app.domain.deps import Deps
from app.models import Notice
from app.models.enums import NoticeStatus
from app.web.request_log import JsonFormatter
from tests.smtp import SmtpServer
from tests.test_mail_delivery import hold_ready, hold_received

REFUSED_FOR_NOW = "451 4.3.0 Mail server temporarily rejected message"


@pytest.fixture
def settings(settings, smtp_server):
    return settings.replace(smtp_port=smtp_server.port)


def app_log(caplog) -> str:
    """The service's own log lines as JSON (the SMTP server of the test logs too: not ours)."""
    return "\n".join(JsonFormatter().format(r) for r in caplog.records if r.name.startswith("app."))


def events(caplog, name: str) -> list[dict]:
    """The JSON fields of the log records of one event."""
    return [r.json_fields for r in caplog.records if r.getMessage() == name]


async def queue(deps: Deps, count: int) -> list[Notice]:
    return [await hold_ready(deps, hold_id=n, to=f"patron{n}@example.jp") for n in range(1, count + 1)]


async def test_an_outage_longer_than_the_attempt_limit_ends_with_every_notice_delivered_once(deps, clock, caplog):
    caplog.set_level(logging.INFO)
    server = SmtpServer()  # its port is closed until the relay comes back
    settings = deps.settings.replace(smtp_port=server.port, mail_max_attempts=3)
    relay = Deps(settings, clock, deps.hasher)
    queued = await queue(relay, 5)
    waits = []

    # The relay is off: every round finds it unreachable, and the whole outbox waits.
    for _ in range(settings.mail_max_attempts + 2):
        report = await relay_round(relay)
        assert (report.claimed, report.sent, report.retried, report.failed, report.released) == (5, 0, 0, 0, 5)
        assert report.outage.startswith(f"cannot connect to 127.0.0.1:{server.port}")
        # While the outbox waits, rounds claim nothing and do not knock on the door.
        clock.set(report.retry_at - (report.retry_at - deps.now()) / 2)
        assert (await mailer.deliver_once(relay)).claimed == 0
        waits.append(report.retry_at)
        clock.set(report.retry_at)

    # Back, but refusing everything for now: one message per round finds out, nothing is counted.
    server.handler.rcpt_replies.extend([REFUSED_FOR_NOW] * 3)
    server.start()
    try:
        for _ in range(3):
            report = await relay_round(relay)
            assert (report.sent, report.retried, report.released) == (0, 0, 5) and "451" in report.outage
            clock.set(report.retry_at)
        assert server.handler.rcpt_count == 3 and server.received == []
        status = await outbox.status()
        assert status.down and status.failed_rounds == settings.mail_max_attempts + 5

        # Working again: the first round delivers everything and ends the outage.
        report = await mailer.deliver_once(relay)
    finally:
        server.stop()

    assert (report.sent, report.retried, report.failed, report.outage) == (5, 0, 0, None)
    assert await outbox.status() == outbox.OutboxStatus(
        last_error=status.last_error, last_error_at=status.last_error_at)
    for notice in queued:
        await notice.refresh_from_db()
        assert (notice.status, notice.attempts) == (NoticeStatus.SENT, 1)
    message_ids = Counter(str(mail.message["Message-ID"]) for mail in server.received)
    assert message_ids == Counter(n.message_id for n in queued)
    assert len(message_ids) == 5 and set(message_ids.values()) == {1}
    # The outbox waited longer after each failed round, up to MAIL_RETRY_MAX_SECONDS.
    steps = [(later - earlier).total_seconds() for earlier, later in zip(waits, waits[1:])]
    assert all(step <= settings.mail_retry_max_seconds for step in steps) and steps[-1] > steps[0]
    # What an operator sees: a line per failed round, one when it is over, never an address.
    unreachable = events(caplog, "mail_server_unreachable")
    assert [e["failed_rounds"] for e in unreachable] == list(range(1, settings.mail_max_attempts + 6))
    assert {e["notices_put_back"] for e in unreachable} == {5}
    assert unreachable[0]["down_since"] == unreachable[-1]["down_since"]
    [back] = events(caplog, "mail_server_back")
    assert back["failed_rounds"] == settings.mail_max_attempts + 5 and back["down_seconds"] > 0
    assert "@" not in app_log(caplog)


async def relay_round(deps: Deps) -> mailer.DeliveryReport:
    report = await mailer.deliver_once(deps)
    assert report.retry_at is not None and report.retry_at > deps.now()
    for row in await Notice.all():
        assert (row.status, row.attempts, row.locked_by) == (NoticeStatus.PENDING, 0, None)
    return report


async def test_a_server_refusing_every_message_for_now_is_down_not_the_notices_fault(deps, smtp_server):
    one = Deps(deps.settings.replace(mail_connections=1), deps.clock, deps.hasher)
    await queue(one, 5)
    smtp_server.handler.rcpt_replies.extend([REFUSED_FOR_NOW] * 5)

    report = await mailer.deliver_once(one)

    # Three different notices refused in a row, nothing accepted: the server, not the notices.
    assert smtp_server.handler.rcpt_count == mailer.OUTAGE_REFUSALS == 3
    assert (report.retried, report.released) == (0, 5)
    assert report.outage.startswith("3 notices in a row refused for now, the last: 451")
    assert {(n.status, n.attempts) for n in await Notice.all()} == {(NoticeStatus.PENDING, 0)}
    status = await outbox.status()
    assert status.down and status.paused_until == report.retry_at


async def test_refusals_among_accepted_mail_count_against_their_own_notices(deps, smtp_server):
    one = Deps(deps.settings.replace(mail_connections=1), deps.clock, deps.hasher)
    first, second, third = await queue(one, 3)
    smtp_server.handler.rcpt_replies.extend(["452 4.2.2 Mailbox full", "450 4.2.0 Greylisted"])

    report = await mailer.deliver_once(one)

    assert (report.sent, report.retried, report.outage) == (1, 2, None)
    for notice, status in [(first, NoticeStatus.PENDING), (second, NoticeStatus.PENDING), (third, NoticeStatus.SENT)]:
        await notice.refresh_from_db()
        assert (notice.status, notice.attempts) == (status, 1)
    assert "452" in first.last_error and first.next_attempt_at > deps.now()
    assert not (await outbox.status()).down


async def test_a_round_that_has_no_time_to_send_gives_its_batch_back_once_and_stops(deps, smtp_server):
    # Settings a worker refuses (see test_worker): driven here directly, they must still not spin.
    no_time = Deps(deps.settings.replace(worker_lease_seconds=10, smtp_timeout_seconds=10, mail_batch_size=2),
                   deps.clock, deps.hasher)
    await queue(no_time, 3)

    report = await asyncio.wait_for(mailer.deliver_all(no_time), timeout=60)  # a loop would never return

    assert (report.claimed, report.sent, report.released, report.still_due) == (2, 0, 2, 3)
    assert not report.more_due(no_time.settings.mail_batch_size)
    assert smtp_server.received == []
    assert {(n.status, n.attempts, n.locked_by) for n in await Notice.all()} == {(NoticeStatus.PENDING, 0, None)}


async def test_send_mail_now_tries_a_waiting_outbox_at_once(deps, clock):
    server = SmtpServer()
    relay = Deps(deps.settings.replace(smtp_port=server.port), clock, deps.hasher)
    await hold_received(relay, 1)
    failed = await mailer.deliver_all(relay)
    assert failed.outage and failed.deferred == 1

    server.start()
    try:
        clock.advance(seconds=1)  # the relay is fixed; the outbox still waits...
        waiting = await mailer.deliver_all(relay)
        assert (waiting.claimed, waiting.deferred, waiting.retry_at) == (0, 1, failed.retry_at)
        # ...unless the operator says to try now.
        report = await mailer.deliver_all(relay, try_now=True)
    finally:
        server.stop()

    assert (report.sent, report.deferred, report.outage) == (1, 0, None)
    assert len(server.received) == 1 and not (await outbox.status()).down


async def test_the_log_names_no_address_even_when_the_server_quotes_one(deps, smtp_server, caplog):
    caplog.set_level(logging.INFO)
    notice = await hold_ready(deps)
    smtp_server.handler.rcpt_replies.append("550 5.1.1 <hanako@example.jp>: Recipient address rejected")

    await mailer.deliver_once(deps)

    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.FAILED and notice.failed_at == deps.now()
    assert "hanako@example.jp" in notice.last_error  # staff see the server's words in failedNotices
    logged = app_log(caplog)
    assert f"notice {notice.id} (hold_ready): failed after attempt 1: 550 5.1.1 <[address]>" in logged
    assert "hanako" not in logged
