"""Trusted documents: the operations a first-party client sends, registered ahead of time by hash.

The convention of Relay's persisted queries, Apollo's persisted query lists and the
GraphQL-over-HTTP trusted documents proposal. A client sends
`{"documentId": "sha256:<hex>", "variables": {…}}` instead of the text (Apollo's
`extensions.persistedQuery.sha256Hash` works too); the server looks the text up here.

- Where they live: manifests (`*.json`) in the package's `app/trusted_documents/` and in
  `TRUSTED_DOCUMENTS_DIR` if set. `library trust-documents MANIFEST --client NAME` adds one,
  from an Apollo persisted query manifest, a Relay/`{id: text}` map or `.graphql` files.
- At start-up every document is parsed and validated with the same limits and rules as a request
  (a manifest with an invalid document stops the start, naming it), and its plans are built.
- With `TRUSTED_DOCUMENTS_ONLY=1` (production, first-party clients only) a request must name a
  registered document, by id or by its exact text: arbitrary queries are refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse, specified_rules
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.schema.schema import validate_document

from app.settings import Settings

logger = logging.getLogger("library.trusted")
PACKAGE_DIRECTORY = Path(__file__).resolve().parent.parent / "trusted_documents"
FORMAT = "library-trusted-documents"

# Top-level error codes (`extensions.code`) of this module's refusals.
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
TRUSTED_DOCUMENT_REQUIRED = "TRUSTED_DOCUMENT_REQUIRED"


def document_id(text: str) -> str:
    """The id of a document: `sha256:` and the hex SHA-256 of its UTF-8 text, exactly as sent."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class ManifestError(ValueError):
    """A manifest that cannot be trusted: unreadable, a hash that does not match, an invalid document."""


@dataclass(frozen=True)
class TrustedDocument:
    id: str
    text: str
    document: DocumentNode
    client: str

    def operation_names(self) -> list[str | None]:
        return [d.name.value if d.name else None for d in self.document.definitions
                if isinstance(d, OperationDefinitionNode)]


class TrustedDocuments:
    """The registered documents of this deployment, by id and by text (never evicted)."""

    def __init__(self, documents: Iterable[TrustedDocument] = ()) -> None:
        self.by_id: dict[str, TrustedDocument] = {}
        self.by_text: dict[str, TrustedDocument] = {}
        for trusted in documents:
            self.by_id[trusted.id] = trusted
            self.by_text[trusted.text] = trusted

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[TrustedDocument]:
        return iter(self.by_id.values())

    @classmethod
    def load(cls, settings: Settings, schema: Any) -> TrustedDocuments:
        """Every manifest of the package and of `TRUSTED_DOCUMENTS_DIR`, validated against `schema`.

        A site's own manifest must be valid under the site's limits (else the server does not
        start); a document the package ships that the site's tighter limits refuse is left out
        (it would be refused as text too), with a warning.
        """
        documents = []
        for directory in directories(settings):
            for path in sorted(directory.glob("*.json")):
                try:
                    documents += read_manifest(path, settings, schema)
                except ManifestError as error:
                    if directory != PACKAGE_DIRECTORY:
                        raise
                    logger.warning("trusted_document_left_out", extra={"json_fields": {"reason": str(error)}})
        return cls(documents)


def directories(settings: Settings) -> list[Path]:
    found = [PACKAGE_DIRECTORY]
    if settings.trusted_documents_dir:
        found.append(Path(settings.trusted_documents_dir))
    return found


def read_manifest(path: Path, settings: Settings, schema: Any) -> list[TrustedDocument]:
    """The documents of a stored manifest (`{"format": …, "client": …, "documents": {id: text}}`)."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ManifestError(f"{path}: {error}") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT or not isinstance(content.get("documents"), dict):
        raise ManifestError(f"{path}: not a trusted documents manifest (format {FORMAT!r})")
    client = str(content.get("client") or path.stem)
    return [trusted(text, settings, schema, client, claimed_id=key, where=f"{path}: {key}")
            for key, text in content["documents"].items()]


def trusted(text: Any, settings: Settings, schema: Any, client: str, claimed_id: str | None = None,
            where: str = "") -> TrustedDocument:
    """A document checked as a request's would be: its id, its size in tokens, every validation rule."""
    from app.schema.security import validation_rules

    if not isinstance(text, str) or not text.strip():
        raise ManifestError(f"{where}: not a document")
    actual = document_id(text)
    if claimed_id is not None and _normalised_id(claimed_id) != actual:
        raise ManifestError(f"{where}: the id is not the SHA-256 of the text ({actual})")
    try:
        document = parse(text, max_tokens=settings.max_tokens)
    except GraphQLError as error:
        raise ManifestError(f"{where}: {error.message}") from None
    rules = [*specified_rules, *validation_rules(settings)]
    if not settings.introspection_enabled:
        rules.append(NoSchemaIntrospectionCustomRule)
    errors = validate_document(schema._schema, document, tuple(rules))
    if errors:
        raise ManifestError(f"{where}: {errors[0].message}")
    return TrustedDocument(actual, text, document, client)


def _normalised_id(value: str) -> str:
    """`sha256:<hex>`, also for a bare hex id (Apollo's manifests and Relay's sha256 ids)."""
    value = value.strip().lower()
    return value if value.startswith("sha256:") else "sha256:" + value


def client_manifest(source: Path) -> dict[str, str]:
    """`{id: text}` from what a client's tooling writes: an Apollo persisted query manifest, a
    Relay (or any) `{id: text}` map, a `.graphql` file or a directory of them."""
    if source.is_dir():
        texts = [p.read_text(encoding="utf-8") for p in sorted(source.rglob("*.graphql"))]
        return {document_id(t): t for t in texts}
    if source.suffix in (".graphql", ".gql"):
        text = source.read_text(encoding="utf-8")
        return {document_id(text): text}
    content = json.loads(source.read_text(encoding="utf-8"))
    if isinstance(content, dict) and content.get("format") == "apollo-persisted-query-manifest":
        return {_normalised_id(str(op["id"])): op["body"] for op in content.get("operations", [])}
    if isinstance(content, dict) and content.get("format") == FORMAT:
        return dict(content["documents"])
    if isinstance(content, dict) and all(isinstance(v, str) for v in content.values()):
        return {_normalised_id(k): v for k, v in content.items()}
    raise ManifestError(f"{source}: neither an Apollo persisted query manifest nor an {{id: text}} map")


def write_manifest(directory: Path, client: str, documents: dict[str, str], settings: Settings,
                   schema: Any) -> Path:
    """Check every document and store the client's manifest as `<directory>/<client>.json`
    (replacing that client's previous one)."""
    checked = [trusted(text, settings, schema, client, claimed_id=key, where=key) for key, text in documents.items()]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{client}.json"
    content = {"format": FORMAT, "client": client, "documents": {t.id: t.text for t in checked}}
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
