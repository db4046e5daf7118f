"""A local SMTP sink for development (`library mail-sink`): accepts every mail and prints it decoded,
Japanese subject and body readable and the confirmation link clickable. Never for production.

Needs aiosmtpd, which comes with the test extra (`pip install -e '.[test]'`).
"""

from __future__ import annotations

import email
import threading
from email import policy
from email.message import EmailMessage

from rich.console import Console


class PrintingHandler:
    """aiosmtpd handler: print each message's headers and decoded text, then accept it."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        message: EmailMessage = email.message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[assignment]
        self.console.rule(str(message.get("Subject", "(no subject)")))
        for name in ("From", "To", "Date", "Message-ID"):
            self.console.print(f"[bold]{name}:[/bold] {message.get(name, '')}", highlight=False)
        body = message.get_body(("plain",))
        self.console.print()
        self.console.print(body.get_content() if body is not None else "(no text part)", highlight=False)
        self.console.file.flush()  # show it now, also when the output goes to a file
        return "250 2.0.0 OK"


def run(host: str, port: int, console: Console) -> None:
    """Serve until Ctrl-C."""
    from aiosmtpd.controller import Controller

    controller = Controller(PrintingHandler(console), hostname=host, port=port)
    controller.start()
    console.print(f"Mail sink listening on {host}:{port} (SMTP_HOST={host} SMTP_PORT={port}); Ctrl-C to stop")
    console.file.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
