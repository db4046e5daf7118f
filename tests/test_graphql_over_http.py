"""GraphQL over HTTP, as clients meet it: media types, status codes, JSON refusals, and an
`extensions.code` on every top-level error; graphql-http's server audits against the real server."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from app.schema.graphql_http import TOP_LEVEL_CODES
from tests.processes import Process, library_env, until
from tests.support import make_patron

JS = Path(__file__).resolve().parent / "js"
GRAPHQL_RESPONSE = "application/graphql-response+json"
KNOWN_CODES = set(TOP_LEVEL_CODES) | {"NOT_AUTHENTICATED", "FORBIDDEN"}


def js_tools() -> Path:
    """tests/js with its npm packages installed (npm ci, from the committed lock file, again when
    package.json names a package that is not there yet)."""
    wanted = json.loads((JS / "package.json").read_text(encoding="utf-8"))["dependencies"]
    if not all((JS / "node_modules" / name / "package.json").is_file() for name in wanted):
        assert shutil.which("npm"), "npm is needed for the conformance suites (Debian's nodejs/npm)"
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(JS)], check=True,
                       capture_output=True)
    return JS


async def _post(client, body, accept: str | None = GRAPHQL_RESPONSE, **headers) -> httpx.Response:
    if accept is not None:
        headers["accept"] = accept
    return await client.http.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize("document, variables, code", [
    ("{ viewer { id ", None, "GRAPHQL_PARSE_FAILED"),
    ("{ viewer { nosuchfield } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("query Q($n: Int!) { searchCatalog(first: $n) { totalCount } }", {"n": "many"}, "BAD_USER_INPUT"),
    ("query A { viewer { id } } query B { viewer { id } }", None, "OPERATION_RESOLUTION_FAILURE"),
])
async def test_a_request_that_never_executed_is_a_400_without_data(client, document, variables, code):
    response = await _post(client, {"query": document, "variables": variables})
    assert response.status_code == 400 and response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body and [e["extensions"]["code"] for e in body["errors"]] == [code]
    # The same request from a client that asks for application/json: a 200, still without data.
    legacy = await _post(client, {"query": document, "variables": variables}, accept="application/json")
    assert legacy.status_code == 200 and legacy.headers["content-type"] == "application/json"
    assert legacy.json() == body


async def test_an_executed_operation_is_a_200_with_data_even_with_field_errors(client, deps):
    response = await _post(client, {"query": '{ viewer { id } searchCatalog(after: "bm9wZQ==") { totalCount } }'})
    assert response.status_code == 200 and response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert body["data"] is None  # searchCatalog is non-null: its error nulls the whole answer
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_every_top_level_error_carries_a_documented_code(client, deps):
    await make_patron(deps)
    documents = [
        "{ viewer { id ", "{ nope }", "{ searchCatalog(keyword: \"" + "猫" * 300 + "\") { totalCount } }",
        "{ searchCatalog(first: -1) { totalCount } }", "{ __typename } { __typename }",
        "{ __schema { queryType { name } } }" * 2,
    ]
    for document in documents:
        body = (await _post(client, {"query": document})).json()
        assert body.get("errors"), (document, body)
        assert {e["extensions"]["code"] for e in body["errors"]} <= KNOWN_CODES, (document, body)


@pytest.mark.parametrize("accept, expected", [
    (None, "application/json"), ("*/*", "application/json"), ("application/json", "application/json"),
    (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
    # What Apollo Client and urql send: the GraphQL media type first.
    ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
    ("application/json;q=1, application/graphql-response+json;q=0.5", "application/json"),
])
async def test_the_answer_is_in_the_media_type_the_client_accepts(client, accept, expected):
    response = await _post(client, {"query": "{ __typename }"}, accept=accept)
    assert response.status_code == 200 and response.headers["content-type"] == expected
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_client_that_accepts_no_json_gets_406_in_json(client):
    response = await _post(client, {"query": "{ __typename }"}, accept="text/html")
    assert response.status_code == 406 and response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_get_405_with_allow_in_json(client, method):
    response = await client.http.request(method, "/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405 and response.headers["allow"] == "GET, POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("content, headers, status, code", [
    (b"{", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
    (b"[]", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
    (b'{"query": 1}', {"content-type": "application/json"}, 400, "BAD_REQUEST"),
    (b"{}", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
    (b"query=%7B__typename%7D", {"content-type": "application/x-www-form-urlencoded"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b"x" * 70_000, {"content-type": "application/json"}, 413, "PAYLOAD_TOO_LARGE"),
    (b'{"query": "{ __typename }"}', {"content-type": "application/json", "host": "attacker.example"}, 400,
     "BAD_REQUEST"),
])
async def test_refusals_that_are_not_graphql_responses_are_json_too(client, content, headers, status, code):
    response = await client.http.post("/graphql", content=content, headers=headers)
    assert response.status_code == status and response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_graphql_https_server_audits_pass_without_a_warning(database, tmp_path):
    tools = js_tools()
    port = _free_port()
    server = Process.library("serve", "--port", str(port), env=library_env(database, log_level="WARNING",
                                                                          tmpdir=tmp_path), name="server")
    url = f"http://127.0.0.1:{port}/graphql"

    async def answering() -> bool:
        assert server.popen.poll() is None, server.output
        try:
            async with httpx.AsyncClient() as http:
                return (await http.post(url, json={"query": "{ __typename }"})).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await until(answering, what="the server to answer")
        done = subprocess.run(["node", "graphql-http-audit.mjs", url], cwd=tools, capture_output=True, text=True,
                              timeout=120)
    finally:
        await server.stop()
        server.cleanup()
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) > 50
    failing = [r for r in results if r["status"] in ("error", "warn")]
    assert failing == []
    # What is left are MAYs about GET, which this server refuses on purpose (no operation over GET).
    assert all("GET" in r["name"] for r in results if r["status"] == "notice")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
