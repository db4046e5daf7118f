"""The GraphQL HTTP endpoint: strawberry's ASGI view with our context, JSON encoding, compiled
execution of known documents (`app.schema.compiled`), and the last word on errors (bugs masked
and logged, suggestions hidden; see `app.schema.security`)."""

from __future__ import annotations

from typing import Any

import orjson
import strawberry
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.types import ExecutionResult
from graphql import GraphQLError

from app.domain.deps import Deps
from app.schema.admission import admit
from app.schema.compiled import MUTATION_ROOTS, CompiledExecution
from app.schema.context import Context
from app.schema.security import is_unexpected, operation_summary, present_errors
from app.schema.trusted import PERSISTED_QUERY_NOT_FOUND, TRUSTED_DOCUMENT_REQUIRED, TrustedDocuments
from app.web.request_log import annotate, log_unexpected, request_id

EXECUTION_MODES = ("compiled", "interpreted", "differential")


class DifferentialLog:
    """Differential mode, in this process: how many requests ran both ways, and each one whose
    compiled answer differed from graphql-core's (the test suite fails on any; an operator finds
    them in the error log as `compiled execution differs`)."""

    def __init__(self) -> None:
        self.compared = 0
        self.mismatches: list[dict[str, Any]] = []

    def clear(self) -> None:
        self.compared, self.mismatches = 0, []


DIFFERENTIAL = DifferentialLog()


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
        self.documents = schema.documents  # type: ignore[attr-defined]
        mode = deps.settings.graphql_execution
        if mode not in EXECUTION_MODES:
            raise ValueError(f"GRAPHQL_EXECUTION must be one of {', '.join(EXECUTION_MODES)}, not {mode!r}")
        self.compiled = CompiledExecution(schema) if mode != "interpreted" else None
        self.differential = mode == "differential"
        # Registered documents (app/schema/trusted.py): validated now, their plans built now.
        self.trusted = TrustedDocuments.load(deps.settings, schema)
        if self.compiled is not None:
            for known in self.trusted:
                self.compiled.warm(known.text, known.document, known.operation_names())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await super().__call__(scope, receive, send)  # GraphiQL (GET), refusals
            return
        request = Request(scope, receive)
        try:
            response = await self.post(request)
        except HTTPException as e:
            response = PlainTextResponse(e.reason, status_code=e.status_code)
        await response(scope, receive, send)

    async def post(self, request: Request) -> Response:
        """A POSTed operation: a known document runs its plan, anything else goes through
        strawberry and graphql-core; a body strawberry would refuse is left to it."""
        data = await self.request_data(request)
        if data is None:
            return await self.run(request)  # the body is read once (Starlette keeps it)
        refusal = self.trusted_text(data)
        if refusal is not None:
            return self.create_response({"data": None, "errors": [refusal.formatted]}, await self.get_sub_response(request))
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)
        found = self.plan(request, data) if self.compiled is not None else None
        if found is None:
            result = await self.execute_operation(request, self.request_adapter_class(request), data, context, None,
                                                  sub_response)
        elif self.differential:
            result = await self.differential_run(request, data, context, None, found)
        else:
            result, _roots = await self.execute_plan(data, context, None, found)
        return self.create_response(await self.process_result(request, result), sub_response)

    async def request_data(self, request: Request) -> GraphQLRequestData | None:
        """The operation of a well-formed JSON body (None: let strawberry answer the request)."""
        if "application/json" not in request.headers.get("content-type", ""):
            return None
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        if type(body) is not dict:
            return None
        query, variables, extensions = body.get("query"), body.get("variables"), body.get("extensions")
        if ((variables is not None and type(variables) is not dict)
                or (extensions is not None and type(extensions) is not dict)):
            return None
        if query is None:
            query = self.document_by_id(body.get("documentId"), extensions)
        if type(query) is not str and not isinstance(query, GraphQLError):
            return None
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

    async def execute_operation(self, request: Request, request_adapter: Any, request_data: Any, context: Context,
                                root_value: Any, sub_response: Response) -> Any:
        """graphql-core's way (in differential mode, a document seen for the first time runs its plan too)."""
        compiled = (self.compiled is not None and request_adapter.method == "POST"
                    and isinstance(request_data, GraphQLRequestData))
        annotate(request.state, execution="interpreted")
        if not (compiled and self.differential):
            return await super().execute_operation(request, request_adapter, request_data, context, root_value,
                                                   sub_response)
        # Differential mode, a document seen for the first time: interpreted first (which validates
        # and caches it), recording a mutation's root values, then compared with its plan.
        roots: dict[str, tuple[Any, bool]] = {}
        token = MUTATION_ROOTS.set(("record", roots))
        try:
            first = await super().execute_operation(request, request_adapter, request_data, context, root_value,
                                                    sub_response)
        finally:
            MUTATION_ROOTS.reset(token)
        found = self.plan(request, request_data)
        annotate(request.state, execution="interpreted")
        if found is None or (found[0].serial and set(roots) != {f.key for f in found[0].root.fields}):
            return first  # no plan, or graphql-core stopped before every root field ran
        second, _roots = await self.execute_plan(request_data, await self.get_context(request, sub_response),
                                                 root_value, found, replay=roots)
        self.compare(request, request_data, second, first)
        return first

    def plan(self, request: Request, data: GraphQLRequestData) -> tuple[Any, Any, Any] | None:
        """The plan and coerced variables of a document validated before, or None to interpret."""
        query, operation_name = data.query, data.operation_name
        if not isinstance(query, str) or not isinstance(operation_name, (str, type(None))):
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

    async def execute_plan(self, data: GraphQLRequestData, context: Context, root_value: Any,
                           found: tuple[Any, Any, Any], replay: dict[str, Any] | None = None,
                           ) -> tuple[ExecutionResult, dict[str, tuple[Any, bool]]]:
        """The plan's result, and what a mutation's root resolvers returned (for differential mode)."""
        plan, variables, document = found
        admitted = await admit(self.deps.settings, self.documents, self.schema._schema, document, data.query,
                               data.operation_name, data.variables, data.extensions, context)
        if admitted.refusal is not None:
            return ExecutionResult(data=None, errors=[admitted.refusal], extensions=admitted.extensions or None), {}
        run = self.compiled.run(plan, variables, context, root_value, data.extensions, replay)  # type: ignore[union-attr]
        result = await self.compiled.execute(run)  # type: ignore[union-attr]
        result.extensions = admitted.extensions or None
        return result, run.resolved_roots

    async def differential_run(self, request: Request, data: GraphQLRequestData, context: Context, root_value: Any,
                               found: tuple[Any, Any, Any]) -> ExecutionResult:
        """Differential mode: the request runs both ways, a mutation's root resolvers once (graphql-core
        replays what the plan's returned), and the two answers' bytes are compared."""
        first, roots = await self.execute_plan(data, context, root_value, found)
        token = MUTATION_ROOTS.set(("replay", roots))
        try:
            second = await self.schema.execute(
                data.query, variable_values=data.variables, context_value=await self.get_context(request, context.response),
                root_value=root_value, operation_name=data.operation_name, operation_extensions=data.extensions,
            )
        finally:
            MUTATION_ROOTS.reset(token)
        self.compare(request, data, first, second)
        return first

    def compare(self, request: Request, data: GraphQLRequestData, compiled: ExecutionResult,
                interpreted: ExecutionResult) -> None:
        ours = self.encode_json(self._presented(request, compiled))
        theirs = self.encode_json(self._presented(request, interpreted))
        DIFFERENTIAL.compared += 1
        if ours != theirs:
            DIFFERENTIAL.mismatches.append({"operation": data.operation_name, "query": data.query, "variables": data.variables,
                               "compiled": ours, "interpreted": theirs})
            log_unexpected(request_id(request.state), AssertionError("compiled execution differs"),
                           operation=getattr(request.state, "log", {}).get("operation"))

    def _presented(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """What `process_result` would send, without touching `result` or the request log."""
        errors = result.errors and present_errors(
            list(result.errors), request_id=request_id(request.state), settings=self.deps.settings, log=False)
        return process_result(ExecutionResult(data=result.data, errors=errors or None, extensions=result.extensions))

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
