"""The Starlette application: routes, middleware and lifespan, built by `create_app`."""

from __future__ import annotations

import contextlib
import gc
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from app import db
from app.clock import Clock
from app.domain.deps import Deps
from app.schema import build_schema
from app.schema.view import GraphQLView
from app.settings import Settings
from app.web import calendar_feeds, email_confirm, privacy_export
from app.web.guards import BodySizeLimit, GraphQLRequestGuard, SecurityHeaders, TrustedHosts, normalize_origin
from app.web.live import LiveConnectionGuard, LiveHub
from app.web.metrics import Metrics
from app.web.metrics import routes as health_and_metrics
from app.web.request_log import RequestLog


def create_app(settings: Settings | None = None, clock: Clock | None = None, *,
               manage_database: bool = True) -> Starlette:
    """Build the app. With `manage_database=False` the caller (a test) has opened the ORM."""
    settings = settings or Settings.from_env()
    deps = Deps.build(settings, clock)
    graphql = GraphQLView(build_schema(settings), deps)
    metrics = Metrics(settings.metrics_multiprocess_dir or None)
    live = LiveHub(deps)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            async with live.running():
                yield
            return
        await db.init_db(settings.database_url)
        try:
            async with live.running():
                _freeze_startup_objects()
                yield
        finally:
            await db.close_db()

    email_confirm.redact_tokens_in_access_log()
    app = Starlette(
        routes=[
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            *(graphql.graphiql.routes() if graphql.graphiql else []),
            *email_confirm.routes(deps),
            *health_and_metrics(metrics, deps),
            *calendar_feeds.routes(deps),
            *privacy_export.routes(deps),
        ],
        middleware=middleware(settings, metrics, live=live),
        lifespan=lifespan,
    )
    app.state.deps = deps
    app.state.graphql = graphql
    app.state.live = live
    return app


def _freeze_startup_objects() -> None:
    """Leave what startup made (modules, the schema and its plans, settings) out of the garbage
    collector's walks: a full collection otherwise walks them all, and every request in flight
    waits for it (with 8 connections, a search's p99 went from about 30 to 55 ms). A server
    process's startup objects live as long as it does."""
    gc.collect()
    gc.freeze()


def middleware(settings: Settings, metrics: Metrics | None = None,
               live: LiveHub | None = None) -> list[Middleware]:
    """The HTTP protections every route gets, outermost first (see `app.web`)."""
    stack = [
        # Outermost, so that even the 500 of a crash carries the headers.
        Middleware(SecurityHeaders, production=settings.production),
        Middleware(RequestLog, on_request=metrics.observe if metrics else None),
        # Only the configured host names: a foreign Host never reaches a route, so no redirect
        # (e.g. `/graphql/` → `/graphql`) can send a client, or a token in a URL, elsewhere.
        Middleware(TrustedHosts, allowed_hosts=settings.hosts),
    ]
    origins = [o for o in (normalize_origin(v) for v in settings.allowed_origins) if o]
    if origins:
        # Only these origins may read answers in a browser, with the patron's cookie.
        stack.append(Middleware(
            CORSMiddleware, allow_origins=origins, allow_credentials=True, allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization"], expose_headers=["X-Request-ID"],
        ))
    stack += [
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        *([Middleware(LiveConnectionGuard, hub=live)] if live is not None else []),
        Middleware(GraphQLRequestGuard, public_base_url=settings.public_base_url,
                   allowed_origins=settings.allowed_origins),
    ]
    return stack
