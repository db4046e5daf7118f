"""GraphQL over HTTP (the GraphQL Foundation's specification): media types, status codes, and the
`extensions.code` of every top-level error.

- The answer is `application/graphql-response+json` when the client accepts it, and
  `application/json` when it asks for that, for anything (`*/*`) or says nothing (what Apollo,
  Relay and urql send is accepted as they send it). A client that accepts neither gets 406.
- A request that never executed (a document that does not parse or validate, variables that do
  not coerce, an unknown or missing operation, a refusal before execution) is answered without a
  `data` entry; with `application/graphql-response+json` its status is 4xx, with
  `application/json` 200, as the specification says for each.
- Anything that is not a GraphQL response (a body that is not JSON, a wrong method, a media type
  the server does not take) is refused with a JSON body of the same shape,
  `{"errors": [{"message", "extensions": {"code"}}]}`.

Every top-level error carries `extensions.code` from `TOP_LEVEL_CODES` (documented in
docs/api.md); a field that refuses with an `ErrorCode` (e.g. `NOT_AUTHENTICATED`) keeps it.
"""

from __future__ import annotations

from typing import Any, Iterable

from graphql import GraphQLError, GraphQLSyntaxError
from starlette.responses import Response

from app.web.guards import error_body

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

# The closed set of top-level error codes besides the API's own `ErrorCode` values.
TOP_LEVEL_CODES = {
    "BAD_REQUEST": "The request is not a GraphQL request: a body that is not JSON, not an object, a batch, no query.",
    "GRAPHQL_PARSE_FAILED": "The document is not valid GraphQL syntax, or longer than the token limit.",
    "GRAPHQL_VALIDATION_FAILED": "The document does not validate against the schema and the limits (depth, aliases, "
                                 "one guess per operation, introspection off in production).",
    "OPERATION_RESOLUTION_FAILURE": "Which operation to run is unclear: several in the document and no "
                                    "`operationName`, or none of that name.",
    "BAD_USER_INPUT": "A variable or argument value the operation cannot take (a wrong type, a malformed cursor, "
                      "a negative `first`, control characters).",
    "PERSISTED_QUERY_NOT_FOUND": "No registered document has this `documentId` (send the text).",
    "TRUSTED_DOCUMENT_REQUIRED": "This server runs registered documents only.",
    "COST_LIMIT_EXCEEDED": "The operation costs more than the budget (`extensions.cost`, `extensions.budget`).",
    "RATE_LIMITED": "Guests at this address spent this minute's budget (`extensions.retryAfter`).",
    "INTERNAL_SERVER_ERROR": "A bug: the message is masked; quote `extensions.requestId` to the library.",
    "METHOD_NOT_ALLOWED": "Operations are sent with POST (GET serves GraphiQL only).",
    "UNSUPPORTED_MEDIA_TYPE": "Send the request as `application/json`.",
    "NOT_ACCEPTABLE": "Accept `application/graphql-response+json` or `application/json`.",
    "PAYLOAD_TOO_LARGE": "The body is larger than `MAX_BODY_BYTES`.",
    "FORBIDDEN_ORIGIN": "A browser request from a page whose origin is not allowed.",
}

# Pre-execution refusals whose status says more than 400.
_STATUS = {"RATE_LIMITED": 429}


def response_media_type(accept: str | None) -> str | None:
    """The media type to answer with, from the client's `Accept` (None: none we can give)."""
    if accept is None or not accept.strip():
        return JSON
    best, best_q = None, 0.0
    for entry in accept.split(","):
        media, _, params = entry.partition(";")
        media = media.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        offered = GRAPHQL_RESPONSE if media == GRAPHQL_RESPONSE else JSON if media in (JSON, "application/*", "*/*") else None
        # The GraphQL media type wins a tie: it is the one that says what the status codes mean.
        if offered is not None and (q > best_q or (q == best_q and offered == GRAPHQL_RESPONSE)):
            best, best_q = offered, q
    return best


def with_codes(errors: Iterable[GraphQLError]) -> list[GraphQLError]:
    """The errors with `extensions.code` on each (one it already has is kept)."""
    return [with_code(error, _code(error)) for error in errors]


def with_code(error: GraphQLError, code: str) -> GraphQLError:
    """The error with `extensions.code` (unless it has one: a rule or a resolver may give its own)."""
    if (error.extensions or {}).get("code"):
        return error
    return GraphQLError(error.message, error.nodes, error.source, error.positions, error.path,
                        error.original_error, {**(error.extensions or {}), "code": code})


def _code(error: GraphQLError) -> str:
    """Validation and operation errors are coded where they are found (app.schema.documents),
    bugs where they are masked (app.schema.security); what is left is the syntax, and input:
    variables that do not coerce (before execution) or arguments a field refused (during it)."""
    return "GRAPHQL_PARSE_FAILED" if isinstance(error, GraphQLSyntaxError) else "BAD_USER_INPUT"


def executed(result: Any) -> bool:
    """Did the operation execute? (a request error leaves no data and no error at a path)."""
    return result.data is not None or any(error.path for error in result.errors or ())


def http_status(media_type: str, body: dict[str, Any]) -> int:
    """200 for an executed operation; for one that never executed, 4xx under the GraphQL media type."""
    if "data" in body or media_type == JSON:
        return 200
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", ())]
    return max((_STATUS.get(c, 400) for c in codes), default=400)


def error_response(status: int, message: str, code: str, media_type: str = JSON,
                   headers: dict[str, str] | None = None) -> Response:
    """A refusal that is not a GraphQL response, in the shape every GraphQL client can show."""
    return Response(error_body(message, code), status_code=status, media_type=media_type, headers=headers)
