"""Health checks and Prometheus metrics: `/healthz`, `/readyz`, `/metrics`.

Request metrics come from the request log's line (`RequestLog(on_request=...)`): the route's
template, the GraphQL operation name, the outcome and the duration, so they follow whatever
executes the GraphQL document. No label carries personal data: routes and error codes are the
service's own names, and operation names are the client developers' (a GraphQL Name, at most
`MAX_OPERATION_LABELS` of them per process, further ones counted as `(other)`).

The outbox, the worker's daily steps and the open subscription sockets are read from the
database at each scrape, so every server process reports the same figures, whichever machine
the workers run on.

`library serve` runs uvicorn's processes in prometheus-client's multiprocess mode (a private
directory in PROMETHEUS_MULTIPROC_DIR): any process answering `/metrics` reports the sum of all.
"""

from __future__ import annotations

from typing import Any, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app import db
from app.domain import monitoring
from app.domain.deps import Deps
from app.domain.errors import ErrorCode

MAX_OPERATION_LABELS = 200
# Seconds: a fast query is a few milliseconds; a slow page or a password hash is near a second.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def outcome(line: dict[str, Any]) -> str:
    """How a request ended, from its log line: ok, user_error, bad_request, refused or error."""
    status = line.get("status") or 500
    if status >= 500 or line.get("unexpected_errors"):
        return "error"
    if line.get("refused"):
        return "refused"
    if status >= 400 or line.get("errors"):
        return "bad_request"
    return "user_error" if line.get("user_errors") else "ok"


class Metrics:
    """The service's request metrics, for one app (a test builds several; each has its own)."""

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "library_requests", "Requests by route, GraphQL operation name and outcome.",
            ["route", "operation", "outcome"], registry=self.registry,
        )
        self.latency = Histogram(
            "library_request_duration_seconds", "Time to answer a request, by route and GraphQL operation name.",
            ["route", "operation"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.user_errors = Counter(
            "library_user_errors", "Refusals returned in mutation payloads, by ErrorCode.",
            ["code"], registry=self.registry,
        )
        self.throttled = Counter(
            "library_throttle_refusals",
            "Operations refused as RATE_LIMITED (login throttle, e-mail rate limit), by operation name.",
            ["operation"], registry=self.registry,
        )
        self._operations: set[str] = set()
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def observe(self, line: dict[str, Any]) -> None:
        """Count one request from its log line (`RequestLog`'s `on_request`)."""
        route = line.get("route") or "(unmatched)"
        operation = self._operation_label(line)
        key = (route, operation, outcome(line))
        children = self._children.get(key)
        if children is None:  # the labelled series, looked up once (labels are few: routes, operations)
            children = self._children[key] = (self.requests.labels(*key), self.latency.labels(route, operation))
        children[0].inc()
        children[1].observe(line.get("duration_ms", 0) / 1000)
        for code in line.get("user_errors", ()):
            self.user_errors.labels(code).inc()
            if code == ErrorCode.RATE_LIMITED.value:
                self.throttled.labels(operation).inc()

    def _operation_label(self, line: dict[str, Any]) -> str:
        if "operation_type" not in line:
            return ""  # not a GraphQL operation (another route, or a document that did not parse)
        name = line.get("operation") or "(anonymous)"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATION_LABELS:
                return "(other)"
            self._operations.add(name)
        return name

    async def exposition(self, deps: Deps) -> bytes:
        """The text format: this process's (or every server process's) metrics and the database's."""
        registry = CollectorRegistry(auto_describe=False)
        if self.multiprocess_dir:
            MultiProcessCollector(registry, path=self.multiprocess_dir)
        else:
            registry.register(_Forward(self.registry))
        registry.register(_Snapshot(await monitoring.snapshot(deps)))
        return generate_latest(registry)


class _Forward:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        return self.registry.collect()


class _Snapshot:
    def __init__(self, snapshot: monitoring.Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        notices = GaugeMetricFamily("library_outbox_notices", "Notices in the outbox, by status "
                                    "(pending, sent, failed for good, no_address: never sendable).", labels=["status"])
        for status in ("pending", "sent", "failed", "no_address"):
            notices.add_metric([status], s.notices.get(status, 0))
        yield notices
        yield GaugeMetricFamily("library_outbox_due", "Pending notices due for delivery now (the backlog).", value=s.due)
        yield GaugeMetricFamily("library_outbox_retrying", "Due notices that failed before (temporary failures).",
                                value=s.retrying)
        yield GaugeMetricFamily("library_outbox_oldest_due_age_seconds",
                                "How long the oldest due notice has waited (0 when none is due).",
                                value=s.oldest_due_age_seconds)
        down = s.mail_server.down_since
        yield GaugeMetricFamily("library_mail_server_down", "1 while the mail server cannot be used (an outage: "
                                "the whole outbox waits), else 0.", value=1 if down else 0)
        yield GaugeMetricFamily("library_mail_server_down_seconds", "How long the current outage has lasted "
                                "(0 when the mail server works).",
                                value=max((s.now - down).total_seconds(), 0.0) if down else 0.0)
        runs = GaugeMetricFamily("library_worker_step_last_run_timestamp_seconds",
                                 "When each daily step of the worker last ran (Unix time).", labels=["step"])
        for step, at in sorted(s.step_runs.items()):
            runs.add_metric([step], at.timestamp())
        yield runs
        yield GaugeMetricFamily("library_live_sockets", "Subscription sockets open now, all server processes "
                                "together.", value=s.live_sockets)


async def healthz(request: Request) -> Response:
    """The process is up and answering."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready for traffic: the database answers and every migration on disk is applied."""
    try:
        pending = await db.pending_migrations()
    except Exception:  # noqa: BLE001 - any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if pending:
        return JSONResponse({"status": "unavailable", "database": "ok", "pending_migrations": pending},
                            status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def routes(metrics: Metrics, deps: Deps) -> list[Route]:
    """`/healthz`, `/readyz` and `/metrics`."""

    async def metrics_endpoint(request: Request) -> Response:
        return Response(await metrics.exposition(deps), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
