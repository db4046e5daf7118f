"""GraphiQL that works without the internet (a library's intranet, a laptop on a train).

Its built files (GraphiQL, React, their styles) come from the `graphene-django-graphiql-static`
package on PyPI, which ships them and nothing else that runs (it needs no Django to be read),
so `pip install` brings them and no third-party code is copied into this repository. The page
and its start-up script are ours: operations go to `/graphql` as POSTs, nothing is written into
the URL, and the editors live in `sessionStorage` (gone with the tab). Served only when GraphiQL
is on (development, or `GRAPHIQL=1`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from app.schema.graphql_http import error_response

ASSET_PATH = "/graphiql/"
_PACKAGE = "graphene_django_graphiql_static"
_VENDOR = ("graphiql.min.css", "react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
_OWN = Path(__file__).resolve().parent / "static"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# Everything from this server; inline styles for the editor (CodeMirror sets them), no inline script.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

PAGE = """<!DOCTYPE html>
<html lang="ja">
<head>
  <meta charset="utf-8">
  <title>GraphiQL — {title}</title>
  <style>html, body, #graphiql {{ height: 100%; margin: 0; overflow: hidden; width: 100%; }}</style>
  <link rel="stylesheet" href="{path}graphiql.min.css">
  <script src="{path}react.production.min.js"></script>
  <script src="{path}react-dom.production.min.js"></script>
  <script src="{path}graphiql.min.js"></script>
</head>
<body>
  <div id="graphiql">Loading…</div>
  <script src="{path}graphiql-init.js"></script>
</body>
</html>
"""


def _files() -> dict[str, bytes]:
    vendor = resources.files(_PACKAGE) / "static" / _PACKAGE
    found = {name: (vendor / name).read_bytes() for name in _VENDOR}
    found["graphiql-init.js"] = (_OWN / "graphiql-init.js").read_bytes()
    return found


class GraphiQLPage:
    """The page and its assets, read once."""

    def __init__(self, title: str) -> None:
        self.files = _files()
        self.html = PAGE.format(title=title, path=ASSET_PATH)

    def page(self) -> Response:
        return HTMLResponse(self.html, headers={"Content-Security-Policy": PAGE_POLICY})

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = self.files.get(name)
        if body is None:
            return error_response(404, "No such file.", "NOT_FOUND")
        # The files change only with the installed package: a browser may keep them a day.
        return Response(body, media_type=_TYPES[Path(name).suffix], headers={"Cache-Control": "public, max-age=86400"})

    def routes(self) -> list[Route]:
        return [Route(ASSET_PATH + "{name}", self.asset, methods=["GET"])]
