"""The GraphQL HTTP endpoint: strawberry's ASGI view with our context and JSON encoding."""

from __future__ import annotations

from typing import Any

import orjson
import strawberry
from starlette.requests import Request
from starlette.responses import Response

from strawberry.asgi import GraphQL

from app.domain.deps import Deps
from app.schema.context import Context


class GraphQLView(GraphQL):
    def __init__(self, schema: strawberry.Schema, deps: Deps) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if deps.settings.graphiql_enabled else None,
            allow_queries_via_get=False,
        )
        self.deps = deps

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        return Context(request, response, self.deps)

    def encode_json(self, data: Any) -> bytes:
        # orjson writes Japanese as UTF-8 (3 bytes a character), not as \\uXXXX escapes (6).
        return orjson.dumps(data)
