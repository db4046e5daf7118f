"""The page behind the link in the confirmation mail: `/email/confirm?token=…` (登録を確定する).

GET only shows what would be confirmed and a button; it never confirms, because mail scanners
and link previews open links. The button POSTs the token in the form body: the token is the
capability (no cookie is involved, so a forged cross-site form cannot do anything its sender
could not already do). SPAs that show the link themselves use the `confirmEmail` mutation.
"""

from __future__ import annotations

import html
import logging
import re
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.domain import email_addresses, messages
from app.domain.deps import Deps
from app.domain.errors import DomainError
from app.domain.messages import message_for
from app.domain.notice_templates import jp_datetime

_MAX_BODY = 4096
_HEADERS = {
    "Cache-Control": "no-store",
    # The token is in the address bar: never hand it to another site.
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_PAGE = Template("""<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>$heading | $library</title>
<style>
body { font-family: sans-serif; max-width: 36em; margin: 2em auto; padding: 0 1em; line-height: 1.8; color: #222; }
h1 { font-size: 1.3em; border-bottom: 2px solid #2a6f4e; padding-bottom: .3em; }
button { font-size: 1.1em; padding: .6em 1.6em; background: #2a6f4e; color: #fff; border: 0; border-radius: 4px; }
.address { font-weight: bold; font-size: 1.1em; }
.error { color: #b00020; }
</style>
</head>
<body>
<p>$library</p>
<h1>$heading</h1>
$content
</body>
</html>
""")


def routes(deps: Deps) -> list[Route]:
    """The confirmation page's routes, bound to the app's deps."""

    async def show(request: Request) -> HTMLResponse:
        token = request.query_params.get("token", "")
        try:
            change = await email_addresses.pending_change(deps, token)
        except DomainError as error:
            return _error_page(deps, error)
        e = html.escape
        expires = jp_datetime(change.expires_at, deps.settings.tz)
        content = (
            f"<p>{messages.EMAIL_CONFIRM_INTRO}</p>\n"
            f'<p class="address">{e(change.address)}</p>\n'
            f"<p>{messages.EMAIL_CONFIRM_ASK}</p>\n"
            '<form method="post" action="confirm">\n'
            f'<input type="hidden" name="token" value="{e(token)}">\n'
            f'<button type="submit">{messages.EMAIL_CONFIRM_BUTTON}</button>\n'
            "</form>\n"
            f"<p><small>{e(messages.EMAIL_CONFIRM_EXPIRES.format(expires=expires))}</small></p>"
        )
        return _page(deps, messages.EMAIL_CONFIRM_HEADING, content)

    async def confirm(request: Request) -> HTMLResponse:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return _page(deps, messages.EMAIL_CONFIRM_HEADING, f'<p class="error">{messages.EMAIL_CONFIRM_BAD_FORM}</p>',
                         415)
        if int(request.headers.get("content-length") or 0) > _MAX_BODY:
            return _page(deps, messages.EMAIL_CONFIRM_HEADING, f'<p class="error">{messages.EMAIL_CONFIRM_TOO_LARGE}</p>',
                         413)
        form = await request.form(max_files=0, max_fields=4)
        token = form.get("token")
        try:
            confirmed = await email_addresses.confirm(deps, token if isinstance(token, str) else "")
        except DomainError as error:
            return _error_page(deps, error)
        content = (
            f"<p>{messages.EMAIL_DONE}</p>\n"
            f'<p class="address">{html.escape(confirmed.address)}</p>\n'
            f"<p>{messages.EMAIL_DONE_CLOSE}</p>"
        )
        return _page(deps, messages.EMAIL_DONE_HEADING, content)

    return [
        Route("/email/confirm", show, methods=["GET"]),
        Route("/email/confirm", confirm, methods=["POST"]),
    ]


def _error_page(deps: Deps, error: DomainError) -> HTMLResponse:
    message = html.escape(message_for(error.failures[0]))
    return _page(deps, messages.EMAIL_CONFIRM_HEADING, f'<p class="error">{message}</p>', 400)


def _page(deps: Deps, heading: str, content: str, status: int = 200) -> HTMLResponse:
    body = _PAGE.substitute(heading=heading, library=html.escape(deps.settings.library_name), content=content)
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


class RedactTokens(logging.Filter):
    """Blanks `token=…` in access-log lines: logs never carry tokens."""

    _TOKEN = re.compile(r"(token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def redact_tokens_in_access_log() -> None:
    """Install `RedactTokens` on uvicorn's access log (once per process)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())
