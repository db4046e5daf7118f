"""Delivery of the outbox through a real SMTP server (aiosmtplib): claim, render, send, record.

Nothing is lost: a notice leaves the outbox only as `sent` or, after a permanent refusal or too
many temporary failures, `failed` (staff see those and can retry them). Nothing is sent twice in
normal operation: a batch is claimed with a lease (`locked_until`/`locked_by`; on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so several workers share the outbox) and each notice is marked sent
right after the server accepts it. A worker killed mid-batch leaves its claimed rows to the next
worker once the lease has passed. The one window left, a crash between the server's "250" and
the database write, would resend the notices in flight (one per connection) with the same
Message-ID.

An outage of the mail server costs nothing but delay: a round that cannot connect, or whose
temporary refusals (4xx, a dropped connection) reach OUTAGE_REFUSALS different notices in a row
with nothing accepted between, counts no attempt against any of them, puts its batch back and
makes the whole outbox wait (`app.domain.outbox`).

Throughput (`python -m bench.outbox`): a batch of MAIL_BATCH_SIZE goes out over up to
MAIL_CONNECTIONS connections side by side, and messages are written as bytes directly.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import random
import socket
import uuid
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr

import aiosmtplib
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.domain import notice_templates, outbox
from app.domain.deps import Deps
from app.domain.email_addresses import confirmation_url, without_addresses
from app.domain.outbox import retry_delay
from app.models import Notice, OneTimeToken
from app.models.enums import NoticeKind, NoticeStatus
from app.settings import Settings

log = logging.getLogger(__name__)

_MAX_ERROR = 500
CRLF = "\r\n"


class TemporaryFailure(Exception):
    """Worth another try later: 4xx, connection refused, timeouts, a server being configured."""


class PermanentFailure(Exception):
    """Retrying cannot help: the server refused this message (5xx) or it cannot be written."""


class Unwritable(PermanentFailure):
    """The notice cannot be made into a mail (its address, an expired link): the server was not asked."""


OUTAGE_REFUSALS = 3
"""Temporary refusals of this many different notices in a row, with nothing accepted between,
mean the server refuses everything (an outage), not these notices (greylisting, a full mailbox).
While the outbox is already down, one is enough."""


@dataclass
class DeliveryReport:
    """What a delivery round (or a run of rounds) did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0  # temporary failures counted against their notices
    failed: int = 0
    released: int = 0  # put back untried: the round ran out of time, or the server is down
    outage: str | None = None  # why the mail server could not be used, if it could not
    retry_at: datetime | None = None  # during an outage: when the outbox is tried again
    still_due: int = 0  # after a run (`deliver_all`): notices due now that are still waiting

    @property
    def deferred(self) -> int:
        """Notices left in the outbox for later: retried, or still due when the run ended."""
        return self.retried + self.still_due

    def more_due(self, batch_size: int) -> bool:
        """Whether the next round should start at once: this one got answers and left mail due.

        A round that got nowhere (the server down, or no time left to send in) never asks for
        another at once, so no setting can make the worker spin.
        """
        answered = self.sent + self.retried + self.failed > 0
        return answered and self.outage is None and (self.claimed >= batch_size or self.released > 0)

    def add(self, other: DeliveryReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.released += other.released
        self.outage, self.retry_at = other.outage, other.retry_at


def process_holder() -> str:
    """A name for this process in `locked_by` and worker leases (host and pid)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


# --- the message ---------------------------------------------------------------------------


def message_id(notice: Notice, settings: Settings) -> str:
    """The Message-ID of a notice: the same on every attempt, so a resend is recognisable."""
    event = hashlib.sha256(notice.dedupe_key.encode()).hexdigest()[:16]
    return f"<notice.{notice.id}.{event}@{settings.mail_domain}>"


@dataclass(frozen=True)
class Outgoing:
    """One mail ready for the wire: envelope and the message as bytes."""

    sender: str
    recipient: str
    data: bytes


async def compose(deps: Deps, notice: Notice) -> Outgoing:
    """The mail of a notice: Japanese plain text in UTF-8, sender and Date from the settings and clock.

    Written out directly rather than through `EmailMessage`, whose header objects and generator
    cost more than the whole SMTP conversation: a fixed, simple shape (ASCII headers, the
    Japanese display name and subject as RFC 2047 encoded words, a base64 body).
    """
    settings = deps.settings
    url = None
    if notice.kind is NoticeKind.EMAIL_CONFIRMATION:
        await _check_link_alive(deps, notice)
        url = confirmation_url(settings, notice.data["nonce"])
    letter = notice_templates.render(notice.kind, notice.data, settings, confirmation_url=url)
    to = notice.to_address or ""
    if not to.isascii() or "@" not in to or any(c in to for c in "\r\n<>,;\"") or to != to.strip():
        # The address was validated when it was saved: this guards the header, not the rules.
        raise Unwritable(f"address not usable: {to!r}")
    headers = (
        f"From: {formataddr((settings.library_name, settings.mail_from), charset='utf-8')}\r\n"
        f"To: {to}\r\n"
        f"Subject: {Header(letter.subject, 'utf-8', header_name='Subject').encode(linesep=CRLF)}\r\n"
        f"Date: {format_datetime(deps.now().astimezone(settings.tz))}\r\n"
        f"Message-ID: {message_id(notice, settings)}\r\n"
        # RFC 3834: tells auto-responders (vacation replies) not to answer.
        "Auto-Submitted: auto-generated\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        # base64 passes any relay, 8BITMIME or not.
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    body = base64.encodebytes(letter.body.encode("utf-8")).replace(b"\n", b"\r\n")
    return Outgoing(settings.mail_from, to, headers.encode("ascii") + body)


async def _check_link_alive(deps: Deps, notice: Notice) -> None:
    token = await OneTimeToken.get_or_none(id=notice.data.get("token_id"))
    if token is None or token.used_at is not None or token.revoked_at is not None:
        raise Unwritable("the confirmation link was replaced before it could be sent")
    if token.expires_at <= deps.now():
        raise Unwritable("the confirmation link expired before it could be sent")


# --- the SMTP connection -------------------------------------------------------------------


class SmtpTransport:
    """One SMTP connection, opened on first use (aiosmtplib). The connections of one round share
    a `RoundState`: once the server is down, the round's other notices wait too."""

    def __init__(self, settings: Settings, state: RoundState | None = None) -> None:
        self.settings = settings
        self.state = state or RoundState()
        self._client: aiosmtplib.SMTP | None = None

    async def send(self, message: Outgoing) -> None:
        """Hand one message to the server, or raise Temporary/PermanentFailure."""
        client = await self._connected()
        try:
            await client.sendmail(message.sender, [message.recipient], message.data)
        except aiosmtplib.SMTPRecipientsRefused as error:
            refusal = error.recipients[0]
            raise _by_code(refusal.code, refusal.message) from error
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as error:
            raise _by_code(error.code, error.message) from error
        except ValueError as error:
            raise Unwritable(f"address not usable: {error}") from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            self.abort()
            raise TemporaryFailure(_describe(error)) from error

    async def connect(self, *, extra: bool = False) -> None:
        """Open the connection now, or raise TemporaryFailure. An `extra` connection that fails
        does not mark the server down: it may only limit connections per client."""
        await self._connected(extra=extra)

    async def _connected(self, *, extra: bool = False) -> aiosmtplib.SMTP:
        if self.state.down is not None:
            # The server could not be reached this round: the other notices wait too.
            raise TemporaryFailure(self.state.down)
        if self._client is not None and self._client.is_connected:
            return self._client
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host, port=s.smtp_port, timeout=s.smtp_timeout_seconds,
            use_tls=s.smtp_tls, start_tls=s.smtp_starttls if not s.smtp_tls else False,
            username=s.smtp_username or None, password=s.smtp_password or None,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            # Refused, timed out, TLS or login rejected: the server or its settings, not the
            # message, so every notice waits and is tried again later.
            client.close()
            reason = f"cannot connect to {s.smtp_host}:{s.smtp_port}: {_describe(error)}"
            if not extra:
                self.state.server_down(reason)
            raise TemporaryFailure(reason) from error
        self._client = client
        return client

    async def close(self) -> None:
        """Say goodbye to the server (QUIT) after a round."""
        if self._client is not None and self._client.is_connected:
            with suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await self._client.quit()
        self._client = None

    def abort(self) -> None:
        """Drop the connection without a word (after an error or when cancelled)."""
        if self._client is not None:
            self._client.close()
        self._client = None


@dataclass
class RoundState:
    """Shared by the connections of one round: whether the server is down, and the temporary
    refusals held back until the round knows whose fault they are (the notice's or the server's)."""

    refusals_for_outage: int = OUTAGE_REFUSALS
    down: str | None = None
    answered: bool = False
    held: list[tuple[Notice, TemporaryFailure]] = field(default_factory=list)

    def server_down(self, reason: str) -> None:
        if self.down is None:
            self.down = reason

    def refused_for_now(self, notice: Notice, error: TemporaryFailure) -> None:
        """A temporary refusal: held back, and an outage once too many come in a row."""
        self.held.append((notice, error))
        if len(self.held) >= self.refusals_for_outage:
            self.server_down(f"{len(self.held)} notices in a row refused for now, the last: {error}")

    def server_answered(self) -> list[tuple[Notice, TemporaryFailure]]:
        """The server accepted a message or refused it for good: it works, so the refusals held
        back were the notices' own (returned, to be counted), unless the round already gave up."""
        self.answered = True
        self.refusals_for_outage = OUTAGE_REFUSALS
        if self.down is not None:
            return []
        held, self.held = self.held, []
        return held


def _by_code(code: int, text: str) -> Exception:
    reply = f"{code} {text}"
    return PermanentFailure(reply) if 500 <= code < 600 else TemporaryFailure(reply)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


# --- claiming and recording ----------------------------------------------------------------


async def claim(deps: Deps, limit: int, holder: str) -> list[Notice]:
    """Lease up to `limit` due notices to `holder`; rows leased to a live worker are skipped."""
    now = deps.now()
    until = now + timedelta(seconds=deps.settings.worker_lease_seconds)
    free = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    async with in_transaction():
        rows = await (
            Notice.filter(free, status=NoticeStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if not rows:
            return []
        # The same condition again: on SQLite (no row locks) this UPDATE is what makes the claim exclusive.
        await Notice.filter(free, id__in=[r.id for r in rows], status=NoticeStatus.PENDING).update(
            locked_until=until, locked_by=holder
        )
    return await Notice.filter(id__in=[r.id for r in rows], locked_by=holder).order_by("next_attempt_at", "id")


async def _record(deps: Deps, notice: Notice, holder: str, error: Exception | None,
                  rng: random.Random | None) -> str:
    """Write the outcome of one attempt; returns "sent", "retried" or "failed"."""
    now = deps.now()
    attempts = notice.attempts + 1
    changes: dict = {"attempts": attempts, "locked_until": None, "locked_by": None}
    if error is None:
        outcome = "sent"
        changes.update(status=NoticeStatus.SENT, sent_at=now, last_error=None,
                       message_id=message_id(notice, deps.settings))
    elif isinstance(error, TemporaryFailure) and attempts < deps.settings.mail_max_attempts:
        outcome = "retried"
        changes.update(last_error=str(error)[:_MAX_ERROR],
                       next_attempt_at=now + retry_delay(deps.settings, attempts, rng))
    else:
        outcome = "failed"
        changes.update(status=NoticeStatus.FAILED, failed_at=now, last_error=str(error)[:_MAX_ERROR])
    # Only while the lease is ours: a worker that overran it must not overwrite the next one.
    updated = await Notice.filter(id=notice.id, locked_by=holder).update(**changes)
    if updated != 1:
        log.warning("notice %s: lease lost before its outcome (%s) was recorded", notice.id, outcome)
    # A server's reply often quotes the recipient: never an address in the log.
    log.info("notice %s (%s): %s%s", notice.id, notice.kind.value, outcome,
             f" after attempt {attempts}: {without_addresses(str(error))[:_MAX_ERROR]}" if error else "")
    return outcome


async def _release(notices: list[Notice], holder: str) -> None:
    await Notice.filter(id__in=[n.id for n in notices], locked_by=holder).update(locked_until=None, locked_by=None)


# --- a delivery round ----------------------------------------------------------------------


async def deliver_once(deps: Deps, limit: int | None = None, *, holder: str | None = None,
                       rng: random.Random | None = None, try_now: bool = False) -> DeliveryReport:
    """Claim one batch of due notices and try each once (メール配信 one round).

    Up to MAIL_CONNECTIONS connections send the batch side by side, each taking the next notice
    from the batch when it is free; every notice is recorded right after the server's answer,
    so a crash loses nothing and resends at most the notices in flight (with their Message-ID).
    While the outbox waits after an outage nothing is claimed, unless `try_now`.
    """
    settings = deps.settings
    before = await outbox.status()
    if before.waiting(deps.now()) and not try_now:
        return DeliveryReport(outage=before.last_error, retry_at=before.paused_until)
    # A fresh tag per round: a round never mistakes rows of an earlier, abandoned round for its own.
    tag = f"{holder or process_holder()}/{uuid.uuid4().hex[:8]}"[-64:]
    claimed = await claim(deps, limit or settings.mail_batch_size, tag)
    report = DeliveryReport(claimed=len(claimed))
    if not claimed:
        return report
    waiting = deque(claimed)
    # Stop early enough that the last send finishes inside the lease.
    deadline = deps.now() + timedelta(seconds=settings.worker_lease_seconds - settings.smtp_timeout_seconds)
    # While the outbox is down, a round is a probe: one connection, and one temporary refusal
    # says that the server still refuses everything.
    state = RoundState(refusals_for_outage=1 if before.down else OUTAGE_REFUSALS)
    connections = 1 if before.down else max(settings.mail_connections, 1)
    transports = [SmtpTransport(settings, state) for _ in range(min(connections, len(claimed)))]

    async def count(notice: Notice, error: Exception | None) -> None:
        outcome = await _record(deps, notice, tag, error, rng)
        setattr(report, outcome, getattr(report, outcome) + 1)

    async def sender(transport: SmtpTransport, extra: bool) -> None:
        if extra:
            try:
                await transport.connect(extra=True)
            except TemporaryFailure as error:
                # Fewer connections than asked for (a server limiting them): the others carry on.
                log.info("extra SMTP connection not opened: %s", error)
                return
        while waiting and state.down is None and deps.now() < deadline:
            notice = waiting.popleft()
            error = await _attempt(deps, transport, notice)
            if isinstance(error, TemporaryFailure):
                state.refused_for_now(notice, error)
                continue
            if not isinstance(error, Unwritable):
                for held, refusal in state.server_answered():
                    await count(held, refusal)
            await count(notice, error)

    try:
        # One connection first: if the server is down, the round learns it once, not once per connection.
        with suppress(TemporaryFailure):
            await transports[0].connect()
        async with asyncio.TaskGroup() as senders:
            for position, transport in enumerate(transports):
                senders.create_task(sender(transport, extra=position > 0 and state.down is None))
    except BaseException:
        for transport in transports:
            transport.abort()
        raise
    await asyncio.gather(*(t.close() for t in transports))
    if state.down is None:
        # Fewer refusals in a row than an outage takes: they were the notices' own.
        for notice, refusal in state.held:
            await count(notice, refusal)
        put_back = list(waiting)  # out of time
    else:
        # The server's fault, not the notices': no attempt counted, the whole outbox waits.
        put_back = [notice for notice, _ in state.held] + list(waiting)
    if put_back:
        await _release(put_back, tag)
        report.released = len(put_back)
    if state.answered:
        await outbox.record_answered_round(deps, before)
    if state.down is not None:
        after = await outbox.record_failed_round(deps, state.down, put_back=len(put_back), rng=rng)
        report.outage, report.retry_at = after.last_error, after.paused_until
    return report


async def _attempt(deps: Deps, transport: SmtpTransport, notice: Notice) -> Exception | None:
    """Send one notice; the failure, if any, as a value."""
    try:
        message = await compose(deps, notice)
    except PermanentFailure as error:
        return error
    except Exception as error:  # noqa: BLE001 - one unwritable notice must not block the outbox
        log.exception("notice %s (%s) cannot be written", notice.id, notice.kind.value)
        return Unwritable(f"cannot be written: {_describe(error)}")
    try:
        await transport.send(message)
    except (TemporaryFailure, PermanentFailure) as error:
        return error
    return None


async def deliver_all(deps: Deps, *, holder: str | None = None, rng: random.Random | None = None,
                      try_now: bool = False) -> DeliveryReport:
    """Rounds until no notice is due now or the mail server is down (`library send-mail`)."""
    total = DeliveryReport()
    while True:
        report = await deliver_once(deps, holder=holder, rng=rng, try_now=try_now)
        total.add(report)
        if not report.more_due(deps.settings.mail_batch_size):
            total.still_due = await Notice.filter(status=NoticeStatus.PENDING, next_attempt_at__lte=deps.now()).count()
            return total
