"""Privacy-safe structured logs: one JSON line per request, and one per unexpected error.

A line carries what an operator needs (request id, method, route, status, duration, GraphQL
operation name and type, root fields, error counts, the codes of refusals in payloads) and nothing a patron would mind: no query
text (it may hold inline literals), no variables, no headers, no query strings (e-mail links
carry tokens), no client address, no ids. The GraphQL layer adds its fields through
`annotate(...)`; the request id is also sent back in `X-Request-ID` and in masked errors.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from typing import Any, Callable

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

logger = logging.getLogger("library.request")
error_logger = logging.getLogger("library.error")

# Loggers of libraries that print SQL parameters, addresses or message bodies at DEBUG/INFO:
# pinned to WARNING whatever LOG_LEVEL says.
_CHATTY_LOGGERS = ("tortoise", "aiosqlite", "asyncpg", "aiosmtplib")


def request_id(scope_or_state: Any) -> str | None:
    """The id `RequestLog` gave this request (from an ASGI scope or a Starlette `request.state`)."""
    state = scope_or_state.get("state") if isinstance(scope_or_state, dict) else scope_or_state
    if isinstance(state, dict):
        return state.get("request_id")
    return getattr(state, "request_id", None)


def annotate(state: Any, **fields: Any) -> None:
    """Add fields to this request's log line (a no-op outside `RequestLog`)."""
    log = state.get("log") if isinstance(state, dict) else getattr(state, "log", None)
    if isinstance(log, dict):
        log.update(fields)


def annotate_list(state: Any, name: str, values: list[Any]) -> None:
    """Extend a list field of this request's log line (several mutations in one operation)."""
    log = state.get("log") if isinstance(state, dict) else getattr(state, "log", None)
    if isinstance(log, dict) and values:
        log.setdefault(name, []).extend(values)


def log_unexpected(request_id: str | None, error: BaseException, **fields: Any) -> None:
    """Log a bug: where it happened (code locations), never the exception's message.

    Messages of database and validation errors quote row and input values, so only the
    exception types and the frames (file, line, function) are written.
    """
    error_logger.error(
        "unexpected_error",
        extra={"json_fields": {
            "request_id": request_id,
            "error_type": _type_chain(error),
            "traceback": _frames(error),
            **fields,
        }},
    )


def _type_chain(error: BaseException) -> list[str]:
    chain, seen = [], set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(f"{type(current).__module__}.{type(current).__qualname__}")
        current = current.__cause__ or current.__context__
    return chain


def _frames(error: BaseException, limit: int = 20) -> list[str]:
    frames = traceback.extract_tb(error.__traceback__)[-limit:]
    return [f"{_short_path(f.filename)}:{f.lineno} in {f.name}" for f in frames]


def _short_path(path: str) -> str:
    for marker in ("/site-packages/", "/app/", "/tests/", "/scripts/"):
        if marker in path:
            head = "" if marker == "/site-packages/" else marker.strip("/") + "/"
            return head + path.rsplit(marker, 1)[1]
    return path


class RequestLog:
    """ASGI middleware: gives each request an id, writes its log line, turns crashes into 500s.

    A crash that escapes the app is logged (types and frames only) and answered with a
    GraphQL-shaped 500 carrying the request id, so no stack trace reaches the client.
    """

    def __init__(self, app: ASGIApp, on_request: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.app = app
        # Told every finished request's line (the metrics count from it).
        self.on_request = on_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        fields: dict[str, Any] = {}
        # A per-request copy: the server may share the lifespan state dict between requests.
        scope["state"] = {**(scope.get("state") or {}), "request_id": rid, "log": fields}
        started = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:  # noqa: BLE001 - the last line of defence
            log_unexpected(rid, error)
            fields["unexpected_errors"] = fields.get("unexpected_errors", 0) + 1
            if status is None:
                body = orjson.dumps({"errors": [{"message": "Unexpected error.",
                                                  "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": rid}}]})
                await send_with_id({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                ]})
                await send_with_id({"type": "http.response.body", "body": body})
        finally:
            line = {
                "request_id": rid,
                "method": scope.get("method"),
                # The route's template, never the raw path or its query string.
                "route": getattr(scope.get("route"), "path", None),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                **fields,
            }
            logger.info("request", extra={"json_fields": line})
            if self.on_request is not None:
                self.on_request(line)


class NoClientAddresses(logging.Filter):
    """Drops uvicorn's line per WebSocket handshake, which names the client's address: the
    socket's own line (`app.web.live`) tells the same without it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith('%s - "WebSocket '))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event and the record's `json_fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update(getattr(record, "json_fields", None) or {})
        return orjson.dumps(line, default=str).decode()

    converter = time.gmtime


def logging_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` (also handed to uvicorn): JSON lines on stdout."""
    quiet = {name: {"level": "WARNING"} for name in _CHATTY_LOGGERS}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "filters": {"no_client_addresses": {"()": NoClientAddresses}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stdout"}},
        "root": {"handlers": ["stdout"], "level": settings.log_level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True, "filters": ["no_client_addresses"]},
            # Our request line replaces uvicorn's access log, which prints query strings.
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            **quiet,
        },
    }
