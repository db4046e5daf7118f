"""`GET /privacy/export?token=…`: the download of a patron's data, prepared by the
`requestPrivacyExport` mutation (see `app.domain.privacy`).

The link works once, for PRIVACY_EXPORT_MINUTES, and only with the same patron's session (the
browser's cookie, or `Authorization: Bearer`): a link copied elsewhere opens nothing. The file
is written on the fly and never stored; neither it nor the token reaches a log.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.domain import privacy
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode
from app.domain.messages import message_for
from app.schema.context import Context
from app.web.guards import error_body

PATH = "/privacy/export"


def _refusal(status: int, error: DomainError) -> Response:
    failure = error.failures[0]
    return Response(error_body(message_for(failure), failure.code.value), status_code=status,
                    media_type="application/json")


def routes(deps: Deps) -> list[Route]:
    """The export's route, bound to the app's deps."""

    async def download(request: Request) -> Response:
        patron = await Context(request, Response(), deps).patron()
        if patron is None:
            return _refusal(401, DomainError(ErrorCode.NOT_AUTHENTICATED))
        try:
            await privacy.claim_export(deps, request.query_params.get("token", ""), patron.id)
        except DomainError as error:
            return _refusal(410 if error.code is ErrorCode.TOKEN_EXPIRED else 404, error)
        document = await privacy.export_document(deps, patron.id)
        filename = f"library-my-data-{deps.today():%Y%m%d}.json"
        return Response(
            orjson.dumps(document, option=orjson.OPT_INDENT_2),
            media_type="application/json; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
        )

    return [Route(PATH, download, methods=["GET"])]
