"""GraphiQL works without the internet: every asset comes from the server, and a real browser
(headless Chromium from Debian's packages) renders the editor with every other host unreachable."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import pytest

from tests.processes import Process, library_env, until
from tests.smtp import free_port

CHROMIUM = shutil.which("chromium")


async def test_the_page_names_no_other_host_and_writes_nothing_into_the_url(client):
    page = await client.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/graphiql/") for s in sources)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    init = (await client.http.get("/graphiql/graphiql-init.js")).text
    assert "history" not in init and "location" not in init and "sessionStorage" in init
    for source in sources:
        asset = await client.http.get(source)
        assert asset.status_code == 200 and len(asset.content) > 100, source


async def test_nothing_else_is_served_from_the_asset_path(client):
    assert (await client.http.get("/graphiql/../../app/settings.py")).status_code == 404
    assert (await client.http.get("/graphiql/graphiql.min.js.map")).status_code == 404


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
async def test_a_browser_cut_off_from_the_internet_renders_the_editor(database, tmp_path):
    port = free_port()
    server = Process.library("serve", "--port", str(port),
                             env=library_env(database, log_level="INFO", tmpdir=tmp_path), name="server")
    url = f"http://127.0.0.1:{port}/graphql"

    async def answering() -> bool:
        assert server.popen.poll() is None, server.output
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(url, headers={"accept": "text/html"})).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await until(answering, what="the server to answer")
        browser = subprocess.run([
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium'}",
            # The network is cut: no name resolves but the server's own address.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=20000", "--dump-dom", url,
        ], capture_output=True, text=True, timeout=120)
        await until(lambda: _asked_for_schema(server), what="GraphiQL to load the schema")
    finally:
        await server.stop()
        log = server.output
        server.cleanup()
    dom = browser.stdout
    assert 'class="graphiql-container"' in dom, dom[:2000]
    assert "CodeMirror" in dom and "Loading…" not in dom
    assert '"status": 200' in log or '"status":200' in log


async def _asked_for_schema(server: Process) -> bool:
    # GraphiQL's first request is the introspection query, a POST from the page itself.
    return '"method": "POST"' in server.output or '"method":"POST"' in server.output
