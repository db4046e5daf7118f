"""Request guards in front of the app: body size, CSRF (content type and origin), headers.

- `BodySizeLimit` answers 413 before the body is parsed, from `Content-Length` or, without
  one (chunked uploads), by counting bytes as they arrive.
- `GraphQLRequestGuard` protects `POST /graphql` only: the body must be `application/json`
  (a form or `text/plain` post from another site's page is refused, even for guests), and a
  browser request (one with an `Origin` header) must come from the app's own origin or one in
  `ALLOWED_ORIGINS`, unless it authenticates with a bearer token, which no page can attach to
  someone else's request. Other routes (e.g. the e-mail confirmation page's own form POST,
  which carries its token as its capability) are left to their own rules.
- `SecurityHeaders` adds the usual response headers (nosniff, no referrer, no framing,
  no caching, HSTS in production) unless a route has set its own.
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.bearer import bearer_token
from app.web.request_log import annotate

GRAPHQL_PATH = "/graphql"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str | None:
    """`scheme://host[:port]` in lower case without a default port, or None if it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[parts.scheme] else "")


def error_body(message: str, code: str) -> bytes:
    """A refusal as a GraphQL-shaped JSON body, so every GraphQL client can show it."""
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


async def deny_websocket(scope: Scope, receive: Receive, send: Send, status: int, message: str, code: str) -> None:
    """Refuse a WebSocket handshake with an HTTP answer where the server can send one (uvicorn
    can), else with a bare close (which the server answers 403)."""
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        body = error_body(message, code)
        await send({"type": "websocket.http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})


async def _refuse(scope: Scope, send: Send, status: int, message: str, code: str,
                  route: str | None = None) -> None:
    """Answer with a GraphQL-shaped error body, so every GraphQL client can show it."""
    annotate(scope.get("state") or {}, refused=code, **({"route": route} if route else {}))
    body = error_body(message, code)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})


class TrustedHosts:
    """Answer only to the configured host names (the `Host` header): anything else gets 400 before
    routing, so no redirect can send a client (or a token in a URL) elsewhere. Patterns are exact
    names or `*.example.jp`; the refusal is JSON like every other."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.exact = {h.lower() for h in allowed_hosts if not h.startswith("*")}
        self.suffixes = tuple(h[1:].lower() for h in allowed_hosts if h.startswith("*."))
        self.any = "*" in allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.any or self._allowed(Headers(scope=scope).get("host", "")):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await deny_websocket(scope, receive, send, 400, "Invalid host header.", "BAD_REQUEST")
            return
        await _refuse(scope, send, 400, "Invalid host header.", "BAD_REQUEST")

    def _allowed(self, header: str) -> bool:
        host = header.strip().lower()
        host = host[1:host.index("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]
        return host in self.exact or (bool(self.suffixes) and host.endswith(self.suffixes))


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse request bodies larger than `max_bytes` with 413, before anything parses them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _refuse(scope, send, 400, "Invalid Content-Length.", "BAD_REQUEST")
                return
            if int(declared) > self.max_bytes:
                await self._too_large(scope, send)
                return
            if "transfer-encoding" not in headers:
                # The server reads exactly the declared length: nothing left to count.
                await self.app(scope, receive, send)
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._too_large(scope, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        await _refuse(scope, send, 413, f"Request body is larger than {self.max_bytes} bytes.",
                      "PAYLOAD_TOO_LARGE")


class GraphQLRequestGuard:
    """CSRF protection of `POST /graphql`: JSON only, and browsers only from trusted origins."""

    def __init__(self, app: ASGIApp, *, public_base_url: str, allowed_origins: Iterable[str]) -> None:
        self.app = app
        own = normalize_origin(public_base_url)
        self.trusted = {o for o in (normalize_origin(v) for v in allowed_origins) if o}
        if own:
            self.trusted.add(own)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != GRAPHQL_PATH:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _is_json(headers.get("content-type", "")):
            await _refuse(scope, send, 415, "Send GraphQL requests as application/json.",
                          "UNSUPPORTED_MEDIA_TYPE", GRAPHQL_PATH)
            return
        if not self._origin_allowed(headers):
            await _refuse(scope, send, 403, "Requests from this origin are not allowed.", "FORBIDDEN_ORIGIN",
                          GRAPHQL_PATH)
            return
        await self.app(scope, receive, send)

    def _origin_allowed(self, headers: Headers) -> bool:
        if bearer_token(headers.get("authorization")):
            return True
        origin = headers.get("origin")
        if origin is None:
            # Browsers send Origin on every cross-origin POST; a request without one is
            # same-origin or not from a browser, and carries no one else's cookie.
            return True
        if headers.get("sec-fetch-site") == "same-origin":
            # Set by the browser itself (scripts cannot), e.g. GraphiQL on localhost:8000.
            return True
        normalized = normalize_origin(origin)
        return normalized is not None and normalized in self.trusted


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json"


class SecurityHeaders:
    """Add protective headers to every response that does not set them itself."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production
        common = [
            (b"x-content-type-options", b"nosniff"),
            # Pages such as the e-mail confirmation carry tokens in their URL.
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            # Answers are personal (a patron's loans) or carry tokens: no cache may keep them.
            (b"cache-control", b"no-store"),
        ]
        if production:
            common.append((b"strict-transport-security", b"max-age=31536000"))
        # JSON is never rendered: it may load nothing. HTML pages (GraphiQL, the e-mail
        # confirmation page) keep their own CSP but may not be framed (clickjacking).
        self.json_headers = [*common, (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")]
        self.other_headers = [*common, (b"content-security-policy", b"frame-ancestors 'none'")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = message["headers"] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in raw}
                is_json = any(name.lower() == b"content-type" and value.startswith(b"application/json")
                              for name, value in raw)
                raw.extend(h for h in (self.json_headers if is_json else self.other_headers) if h[0] not in present)
            await send(message)

        await self.app(scope, receive, send_with_headers)
