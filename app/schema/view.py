"""The GraphQL HTTP endpoint: strawberry's ASGI view with our context, JSON encoding, and the
last word on errors (bugs masked and logged, suggestions hidden; see `app.schema.security`)."""

from __future__ import annotations

from typing import Any

import orjson
import strawberry
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from app.domain.deps import Deps
from app.schema.context import Context
from app.schema.security import is_unexpected, present_errors
from app.web.request_log import annotate, request_id


class GraphQLView(GraphQL):
    def __init__(self, schema: strawberry.Schema, deps: Deps) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if deps.settings.graphiql_enabled else None,
            # GET serves GraphiQL only: no operation runs over GET, so a link or an <img>
            # can never trigger one, and no query (with its variables) lands in a URL or log.
            allow_queries_via_get=False,
            # No WebSocket route is mounted; subscriptions are not part of the API.
            subscription_protocols=(),
        )
        self.deps = deps

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        return Context(request, response, self.deps)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Every result passes here: bugs are masked and logged, the request log is annotated."""
        if result.errors:
            annotate(request.state, errors=len(result.errors),
                     unexpected_errors=sum(map(is_unexpected, result.errors)))
            result.errors = present_errors(
                result.errors, request_id=request_id(request.state), settings=self.deps.settings,
                operation=getattr(request.state, "log", {}).get("operation"),
            )
        return process_result(result)

    def decode_json(self, data: str | bytes) -> object:
        try:
            # orjson also refuses lone surrogates ("\\ud800"), which no text may hold: they cannot
            # be written to the database, a log line or the answer.
            value = orjson.loads(data)
        except (ValueError, RecursionError):  # also bytes in no Unicode encoding, or nested too deep
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        # Strawberry expects an object (an array is a batch, refused as such); `null` or `1`
        # would otherwise crash it.
        if not isinstance(value, (dict, list)):
            raise HTTPException(400, "The request body must be a JSON object.")
        return value

    def encode_json(self, data: Any) -> bytes:
        # orjson writes Japanese as UTF-8 (3 bytes a character), not as \\uXXXX escapes (6).
        return orjson.dumps(data)
