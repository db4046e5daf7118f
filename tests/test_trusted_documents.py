"""Trusted documents: a first-party client's operations registered ahead of time by hash, sent by id."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from app.main import create_app
from app.schema.trusted import PACKAGE_DIRECTORY, client_manifest, document_id
from tests.conftest import http_client
from tests.hardening import log_output
from tests.support import GraphQLClient, make_title

ROOT = Path(__file__).resolve().parent.parent
SEARCH = (ROOT / "bench" / "queries" / "search.graphql").read_text(encoding="utf-8")
SEARCH_ID = document_id(SEARCH)
TITLES = "query Titles { searchCatalog(first: 5) { totalCount edges { node { id title } } } }"


def _post(http, body: dict):
    return http.post("/graphql", json=body)


@pytest.fixture
async def library(deps):
    await make_title(deps, "銀河鉄道の夜")
    await make_title(deps, "猫の事務所", title_kana="ネコノジムショ")


async def test_a_registered_document_runs_by_its_id_as_by_its_text(client, library):
    by_text = await _post(client.http, {"query": SEARCH, "variables": {"keyword": "ねこ"}})
    by_id = await _post(client.http, {"documentId": SEARCH_ID, "variables": {"keyword": "ねこ"}})
    assert by_id.status_code == 200 and by_id.json() == by_text.json()
    assert [e["node"]["title"] for e in by_id.json()["data"]["searchCatalog"]["edges"]] == ["猫の事務所"]


async def test_apollo_persisted_query_hashes_name_registered_documents_too(client, library):
    body = {"variables": {"keyword": "銀河"}, "extensions": {"persistedQuery": {"version": 1,
                                                                                "sha256Hash": SEARCH_ID[7:]}}}
    response = await _post(client.http, body)
    assert response.json()["data"]["searchCatalog"]["totalCount"] == 1


async def test_an_unknown_id_is_refused_with_a_code_apollo_understands(client):
    response = await _post(client.http, {"documentId": "sha256:" + "0" * 64})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert "data" not in response.json()


async def test_a_registered_document_is_compiled_before_its_first_request(client, library, caplog):
    caplog.set_level(logging.INFO)
    await _post(client.http, {"documentId": SEARCH_ID, "variables": {"keyword": "猫"}})
    await _post(client.http, {"query": TITLES})
    first, second = [json.loads(line) for line in log_output(caplog).splitlines()]
    assert first["execution"] == "compiled" and first["operation"] == "Search"
    assert second["execution"] == "interpreted"  # a document never seen before: validated by graphql-core


async def test_trusted_documents_only_refuses_any_other_text_and_runs_nothing(settings, clock, library):
    app = create_app(settings.replace(trusted_documents_only=True), clock, manage_database=False)
    async with http_client(app) as http:
        client = GraphQLClient(http)
        registered = await _post(http, {"query": SEARCH, "variables": {"keyword": "銀河"}})
        assert registered.json()["data"]["searchCatalog"]["totalCount"] == 1
        by_id = await _post(http, {"documentId": SEARCH_ID, "variables": {"keyword": "銀河"}})
        assert by_id.json() == registered.json()
        other = await client.execute(TITLES)
        assert "data" not in other and other["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
        login = await client.execute('mutation { login(input: {cardNumber: "101234567", password: "x1y2"}) '
                                     "{ errors { code } } }")
        assert login["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"


def test_the_package_registers_the_documents_of_bench_queries_exactly():
    stored = json.loads((PACKAGE_DIRECTORY / "opac-examples.json").read_text(encoding="utf-8"))
    assert stored["documents"] == client_manifest(ROOT / "bench" / "queries"), (
        "run: library trust-documents bench/queries --client opac-examples --dir app/trusted_documents")


def _library(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite://:memory:"})


def test_a_clients_apollo_manifest_is_checked_and_registered(tmp_path, settings, clock):
    manifest = tmp_path / "persisted-query-manifest.json"
    manifest.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": document_id(TITLES)[7:], "name": "Titles", "type": "query", "body": TITLES}]}))
    done = _library("trust-documents", str(manifest), "--client", "opac-spa", "--dir", str(tmp_path / "trusted"),
                    cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    stored = json.loads((tmp_path / "trusted" / "opac-spa.json").read_text())
    assert stored["documents"] == {document_id(TITLES): TITLES}
    app = create_app(settings.replace(trusted_documents_dir=str(tmp_path / "trusted")), clock, manage_database=False)
    assert document_id(TITLES) in app.state.graphql.trusted.by_id


@pytest.mark.parametrize("operations, reason", [
    ([{"id": "0" * 64, "body": TITLES}], "not the SHA-256"),
    ([{"id": document_id("{ nope }")[7:], "body": "{ nope }"}], "Cannot query field 'nope'"),
    ([{"id": document_id("{ x")[7:], "body": "{ x"}], "Syntax Error"),
])
def test_a_manifest_with_a_wrong_hash_or_an_invalid_document_is_refused(tmp_path, operations, reason):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1,
                                    "operations": operations}))
    done = _library("trust-documents", str(manifest), "--client", "spa", "--dir", str(tmp_path / "trusted"), cwd=ROOT)
    assert done.returncode == 1 and reason in (done.stdout + done.stderr).replace("\n", " ")
    assert not (tmp_path / "trusted" / "spa.json").exists()


def test_the_api_guide_shows_the_id_of_the_search_document_it_names():
    guide = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert f'"documentId": "{SEARCH_ID}"' in guide
