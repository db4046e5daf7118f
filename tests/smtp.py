"""A real SMTP server on loopback (aiosmtpd's Controller) that records what it accepts and can be
told to refuse (451, 550, ...) or to hang, so the tests see exactly what a mail server would."""

from __future__ import annotations

import asyncio
import email
import re
import socket
import threading
from collections import deque
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

_LINK = re.compile(r"https?://\S+/email/confirm\?token=([A-Za-z0-9_-]+)")


@dataclass
class Received:
    """One message the server accepted (after its final 250)."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def body(self) -> str:
        return self.message.get_content()

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def confirmation_token(self) -> str:
        """The token of the confirmation link in the body."""
        match = _LINK.search(self.body)
        assert match, self.body
        return match.group(1)


class RecordingHandler:
    """aiosmtpd handler: scripted replies to RCPT and DATA, then 250; records accepted messages."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.rcpt_replies: deque[str] = deque()
        self.data_replies: deque[str] = deque()
        self.rcpt_count = 0
        self.hang_on_rcpt: int | None = None
        self.hanging = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd API
        self.rcpt_count += 1
        if self.hang_on_rcpt == self.rcpt_count:
            # A server that stops answering mid-conversation (the test kills the client meanwhile).
            self.hanging.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            return "421 4.3.2 Service shutting down"
        if self.rcpt_replies:
            reply = self.rcpt_replies.popleft()
            if not reply.startswith("250"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        if self.data_replies:
            reply = self.data_replies.popleft()
            if not reply.startswith("250"):
                return reply
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """Start and stop the server on one loopback port (it can come back on the same port)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> SmtpServer:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        self.handler.release.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]
