"""The GraphQL endpoint, `/graphql`.

- `POST`: the operation in a JSON body (its text, or the `documentId` of a registered one:
  `app.schema.trusted`). A document validated before runs its plan (`app.schema.compiled`);
  anything else goes through strawberry and graphql-core, which validate (and cache) it. The
  answer follows GraphQL over HTTP (`app.schema.graphql_http`): media type, status codes and an
  `extensions.code` on every top-level error. Bugs are masked and logged, suggestions hidden
  (`app.schema.security`).
- `GET`: GraphiQL when it is on; no operation runs over GET (a link or an `<img>` can never
  trigger one, and no query, with its variables, lands in a URL or a log).
- WebSocket: subscriptions (`viewerEvents`) with the graphql-transport-ws protocol, through
  strawberry and graphql-core (`app.schema.subscriptions`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app import db
from app.domain.deps import Deps
from app.schema import graphql_http
from app.schema.admission import admit
from app.schema.compiled import CompiledExecution
from app.schema.compiled.differential import Differential
from app.schema.context import Context
from app.schema.graphql_http import error_response, executed, response_media_type, with_codes
from app.schema.security import is_unexpected, operation_summary, present_errors
from app.schema.subscriptions import LiveTransportHandler
from app.schema.trusted import PERSISTED_QUERY_NOT_FOUND, TRUSTED_DOCUMENT_REQUIRED, TrustedDocuments
from app.web.graphiql import GraphiQLPage
from app.web.request_log import annotate, request_id

# Subscriptions run over WebSocket only (app.schema.subscriptions): a POST of one is a bad request.
_OVER_POST = OperationType.from_http("POST") - {OperationType.SUBSCRIPTION}


class GraphQLView(GraphQL):
    # Subscriptions: our admission (session, limits) and error masking (app.schema.subscriptions).
    graphql_transport_ws_handler_class = LiveTransportHandler

    def __init__(self, schema: strawberry.Schema, deps: Deps) -> None:
        settings = deps.settings
        super().__init__(
            schema,
            graphql_ide=None,  # ours, offline: app.web.graphiql
            allow_queries_via_get=False,
            # Subscriptions over WebSocket, graphql-transport-ws only (no legacy graphql-ws, no
            # HTTP streaming). A browser's handshake must come from the app's own origin or one
            # in ALLOWED_ORIGINS, as a cookie-carrying POST must (app.web.guards).
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=(settings.public_base_url, *settings.allowed_origins),
            connection_init_wait_timeout=timedelta(seconds=settings.live_init_seconds),
            max_subscriptions_per_connection=settings.live_max_subscriptions,
        )
        self.deps = deps
        self.graphiql = GraphiQLPage(deps.settings.library_name) if deps.settings.graphiql_enabled else None
        self.documents = schema.documents  # type: ignore[attr-defined]
        mode = deps.settings.graphql_execution
        self.compiled = CompiledExecution(schema) if mode != "interpreted" else None
        self.differential = Differential(self) if mode == "differential" else None
        # Registered documents (app/schema/trusted.py): validated now, their plans built now.
        self.trusted = TrustedDocuments.load(deps.settings, schema)
        if self.compiled is not None:
            for known in self.trusted:
                self.compiled.warm(known.text, known.document, known.operation_names())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # Subscriptions: strawberry's graphql-transport-ws machinery (app.schema.subscriptions).
            await super().__call__(scope, receive, send)
            return
        db.one_request()  # its reads batched together, apart from other requests' (app.sqlite_client)
        request = Request(scope, receive)
        method = scope["method"]
        if method == "POST":
            response = await self.post(request)
        elif method == "GET" and self.graphiql is not None and "query" not in request.query_params \
                and "text/html" in request.headers.get("accept", ""):
            response = self.graphiql.page()
        else:
            response = error_response(405, "Send GraphQL operations with POST.",
                                      "METHOD_NOT_ALLOWED", headers={"Allow": "GET, POST" if self.graphiql else "POST"})
        await response(scope, receive, send)

    # --- POST -------------------------------------------------------------------------------

    async def post(self, request: Request) -> Response:
        media_type = response_media_type(request.headers.get("accept"))
        if media_type is None:
            return error_response(406, "Accept application/graphql-response+json or application/json.",
                                  "NOT_ACCEPTABLE")
        data = await self.request_data(request)
        if isinstance(data, Response):
            return data
        sub_response = await self.get_sub_response(request)
        refusal = self.trusted_text(data)
        if refusal is not None:
            result = ExecutionResult(data=None, errors=[refusal])
        else:
            context = await self.get_context(request, sub_response)
            found = self.plan(request, data) if self.compiled is not None else None
            try:
                if found is None:
                    annotate(request.state, execution="interpreted")
                    result = await (self.interpret(data, context) if self.differential is None
                                    else self.differential.first_sight(request, data, context))
                elif self.differential is not None:
                    result = await self.differential.run(request, data, context, found)
                else:
                    result, _roots = await self.execute_plan(data, context, found)
            except MissingQueryError:
                return error_response(400, "No GraphQL query found in the request.", "BAD_REQUEST", media_type)
            except CannotGetOperationTypeError:
                result = ExecutionResult(data=None, errors=[GraphQLError(
                    f"Unknown operation named '{data.operation_name}'.",
                    extensions={"code": "OPERATION_RESOLUTION_FAILURE"})])
            except InvalidOperationTypeError:
                return error_response(400, "Subscriptions are not served over HTTP POST.", "BAD_REQUEST", media_type)
        body = await self.process_result(request, result)
        response = Response(self.encode_json(body), status_code=graphql_http.http_status(media_type, body),
                            media_type=media_type)
        response.headers.raw.extend(sub_response.headers.raw)  # the session cookie, when one is set
        return response

    async def request_data(self, request: Request) -> GraphQLRequestData | Response:
        """The operation of a well-formed JSON body, or the refusal of a body that is not one."""
        try:
            # orjson also refuses lone surrogates ("\\ud800"), which no text may hold: they cannot
            # be written to the database, a log line or the answer.
            body = orjson.loads(await request.body())
        except (orjson.JSONDecodeError, RecursionError):
            return error_response(400, "Unable to parse request body as JSON.", "BAD_REQUEST")
        if isinstance(body, list):
            return error_response(400, "Batching is not supported: send one operation per request.", "BAD_REQUEST")
        if type(body) is not dict:
            return error_response(400, "The request body must be a JSON object.", "BAD_REQUEST")
        query, variables, extensions = body.get("query"), body.get("variables"), body.get("extensions")
        for name, value, kind in (("query", query, str), ("variables", variables, dict),
                                  ("extensions", extensions, dict), ("operationName", body.get("operationName"), str)):
            if value is not None and type(value) is not kind:
                what = "a string" if kind is str else "an object"
                return error_response(400, f"The `{name}` must be {what} or null.", "BAD_REQUEST")
        if query is None:
            query = self.document_by_id(body.get("documentId"), extensions)
        return GraphQLRequestData(query=query, variables=variables, operation_name=body.get("operationName"),
                                  extensions=extensions, protocol="http")

    def document_by_id(self, document_id: Any, extensions: dict | None) -> str | GraphQLError | None:
        """The text of a registered document named by `documentId` (or Apollo's persisted-query hash)."""
        if document_id is None and extensions is not None:
            persisted = extensions.get("persistedQuery")
            if isinstance(persisted, dict) and isinstance(persisted.get("sha256Hash"), str):
                document_id = "sha256:" + persisted["sha256Hash"].lower()
        if document_id is None:
            return None
        known = self.trusted.by_id.get(document_id) if isinstance(document_id, str) else None
        if known is None:
            return GraphQLError("PersistedQueryNotFound: no registered document has this id.",
                                extensions={"code": PERSISTED_QUERY_NOT_FOUND})
        return known.text

    def trusted_text(self, data: GraphQLRequestData) -> GraphQLError | None:
        """A refusal of the request's document: an unknown id, or (TRUSTED_DOCUMENTS_ONLY) a text
        that no registered document has."""
        if isinstance(data.query, GraphQLError):
            return data.query
        if self.deps.settings.trusted_documents_only and data.query not in self.trusted.by_text:
            return GraphQLError("Only registered documents are accepted here: send a `documentId`.",
                                extensions={"code": TRUSTED_DOCUMENT_REQUIRED})
        return None

    # --- the two ways -----------------------------------------------------------------------

    def plan(self, request: Request, data: GraphQLRequestData) -> tuple[Any, Any, Any] | None:
        """The plan, coerced variables and document of a document validated before, or None to interpret."""
        query, operation_name = data.query, data.operation_name
        if not isinstance(query, str):
            return None
        document = self.documents.documents.get(query)
        if document is None:
            known = self.trusted.by_text.get(query)
            if known is None:  # never seen, or not valid: graphql-core validates (and caches) it
                return None
            document = known.document
        found = self.compiled.plan(query, document, operation_name, data.variables)  # type: ignore[union-attr]
        if found is None:
            return None
        summary = self.documents.summaries.memo(
            (query, operation_name), lambda: operation_summary(document, operation_name, self.schema))
        annotate(request.state, execution="compiled", **summary)
        return (*found, document)

    async def execute_plan(self, data: GraphQLRequestData, context: Context, found: tuple[Any, Any, Any],
                           replay: dict[str, Any] | None = None,
                           ) -> tuple[ExecutionResult, dict[str, tuple[Any, bool]]]:
        """The plan's result, and what a mutation's root resolvers returned (for differential mode)."""
        plan, variables, document = found
        try:
            admitted = await admit(self.deps.settings, self.documents, self.schema._schema, document, data.query,
                                   data.operation_name, data.variables, data.extensions, context)
        except Exception as error:  # noqa: BLE001 - a bug before execution, reported as strawberry would
            return ExecutionResult(data=None, errors=[GraphQLError(str(error), original_error=error)]), {}
        if admitted.refusal is not None:
            return ExecutionResult(data=None, errors=[admitted.refusal], extensions=admitted.extensions or None), {}
        run = self.compiled.run(plan, variables, context, None, data.extensions, replay)  # type: ignore[union-attr]
        result = await self.compiled.execute(run)  # type: ignore[union-attr]
        result.extensions = admitted.extensions or None
        return result, run.resolved_roots

    async def interpret(self, data: GraphQLRequestData, context: Context) -> ExecutionResult:
        """graphql-core's way: strawberry parses, validates (caching the document) and executes."""
        return await self.schema.execute(
            data.query, variable_values=data.variables, context_value=context, operation_name=data.operation_name,
            allowed_operation_types=_OVER_POST, operation_extensions=data.extensions,
        )

    # --- answers ----------------------------------------------------------------------------

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        return Context(request, response, self.deps)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Every result passes here: bugs are masked and logged, the request log is annotated."""
        if result.errors:
            annotate(request.state, errors=len(result.errors),
                     unexpected_errors=sum(map(is_unexpected, result.errors)))
        return self.presented(request, result, log=True)

    def presented(self, request: Request, result: ExecutionResult, *, log: bool = False) -> GraphQLHTTPResponse:
        """The answer's body: errors masked and coded; no `data` entry if nothing executed."""
        ran = executed(result)
        errors = result.errors and with_codes(present_errors(
            list(result.errors), request_id=request_id(request.state), settings=self.deps.settings, log=log,
            operation=getattr(request.state, "log", {}).get("operation"),
        ))
        body = process_result(ExecutionResult(data=result.data, errors=errors or None, extensions=result.extensions))
        if not ran:
            del body["data"]
        return body

    def encode_json(self, data: Any) -> bytes:
        # orjson writes Japanese as UTF-8 (3 bytes a character), not as \\uXXXX escapes (6).
        return orjson.dumps(data)
