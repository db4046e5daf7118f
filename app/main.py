"""The Starlette application: routes, middleware and lifespan, built by `create_app`."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Route

from app import db
from app.clock import Clock
from app.domain.deps import Deps
from app.schema import build_schema
from app.schema.view import GraphQLView
from app.settings import Settings
from app.web import email_confirm


def create_app(settings: Settings | None = None, clock: Clock | None = None, *,
               manage_database: bool = True) -> Starlette:
    """Build the app. With `manage_database=False` the caller (a test) has opened the ORM."""
    settings = settings or Settings.from_env()
    deps = Deps.build(settings, clock)
    graphql = GraphQLView(build_schema(settings), deps)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            yield
            return
        await db.init_db(settings.database_url)
        try:
            yield
        finally:
            await db.close_db()

    email_confirm.redact_tokens_in_access_log()
    app = Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), *email_confirm.routes(deps)],
        lifespan=lifespan,
    )
    app.state.deps = deps
    return app
