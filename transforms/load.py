"""Load step: the index behind the alias, and bulk indexing that records every failed document.

The client is passed in (built once from the settings). Documents are keyed by a stable hash
of the canonical URL, so loading the same article again updates it instead of adding a copy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError
from elasticsearch.helpers import streaming_bulk

from transforms.models import EnrichedArticle, Failure

MAPPINGS_DIR = Path(__file__).resolve().parents[1] / "mappings"


class IndexSetupError(RuntimeError):
    """The alias cannot be set up (e.g. a plain index already has the alias's name)."""


def document_id(canonical_url: str) -> str:
    """Stable id of an article: SHA-256 of its canonical URL, hex, 40 characters."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:40]


def load_template(path: Path = MAPPINGS_DIR / "articles.json") -> dict[str, Any]:
    """The articles index template as data (``template`` and ``mapping_version``)."""
    return json.loads(path.read_text(encoding="utf-8"))


def to_document(
    item: EnrichedArticle, run_id: str, indexed_at: datetime | None = None
) -> dict[str, Any]:
    """The Elasticsearch document of an enriched article (plain JSON-able dict)."""
    a = item.article
    doc: dict[str, Any] = {
        "id": document_id(a.canonical_url),
        "url": a.url,
        "canonical_url": a.canonical_url,
        "title": a.title,
        "body": a.body,
        "description": a.description,
        "authors": a.authors,
        "published": a.published,
        "fetched_at": a.fetched_at.isoformat(),
        "indexed_at": (indexed_at or datetime.now(UTC)).isoformat(),
        "site_name": a.site_name,
        "source": a.source,
        "language": a.language,
        "tags": a.tags,
        "image": a.image,
        "word_count": a.word_count,
        "entities": [
            {"name": e.name, "type": e.type, "count": e.count, "first_offset": e.first_offset}
            for e in item.entities
        ],
        "enrich_note": item.enrich_note,
        "run_id": run_id,
    }
    doc.update(item.facets())
    # Hash of what the article says, so later runs can tell an unchanged re-fetch.
    content = json.dumps([a.title, a.body, a.authors, a.published], ensure_ascii=False)
    doc["content_hash"] = hashlib.sha256(content.encode("utf-8")).hexdigest()
    return doc


def index_name(alias: str, version: int) -> str:
    return f"{alias}-v{version}"


def ensure_index(client: Elasticsearch, alias: str, template: dict[str, Any] | None = None) -> str:
    """Install the index template for ``alias`` and make sure the alias points at a write index.

    Creates ``<alias>-v1`` on first use. Returns the concrete index the alias writes to.
    """
    spec = template or load_template()
    client.indices.put_index_template(
        name=f"newsflow-{alias}",
        index_patterns=[f"{alias}-v*"],
        template=spec["template"],
        priority=200,
        meta={"managed_by": "newsflow", "mapping_version": spec["mapping_version"]},
    )
    try:
        aliases = client.indices.get_alias(name=alias)
    except NotFoundError:
        aliases = None
    if aliases:
        for index, info in aliases.body.items():
            if info["aliases"][alias].get("is_write_index", len(aliases.body) == 1):
                return index
        raise IndexSetupError(
            f"alias {alias!r} points at {sorted(aliases.body)} but none is the write index"
        )
    if client.indices.exists(index=alias):
        raise IndexSetupError(
            f"{alias!r} is a plain index, not an alias; choose another NEWSFLOW_INDEX or move it"
        )
    first = index_name(alias, 1)
    if client.indices.exists(index=first):
        client.indices.put_alias(index=first, name=alias, is_write_index=True)
    else:
        client.indices.create(index=first, aliases={alias: {"is_write_index": True}})
    return first


@dataclass
class LoadResult:
    indexed: int = 0
    failures: list[Failure] = field(default_factory=list)


def _reason(item: dict[str, Any]) -> str:
    error = item.get("error")
    if isinstance(error, dict):
        reason = f"{error.get('type')}: {error.get('reason')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            reason += f" (caused by {cause.get('type')}: {cause.get('reason')})"
    else:
        reason = str(error or item.get("exception") or "unknown error")
    return f"HTTP {item.get('status', '?')}: {reason}"[:1000]


def bulk_load(
    client: Elasticsearch,
    alias: str,
    documents: Iterable[dict[str, Any]],
    *,
    chunk_size: int = 500,
    max_chunk_bytes: int = 10_000_000,
    max_retries: int = 3,
) -> LoadResult:
    """Index documents through the alias; every rejected document becomes a ``Failure``.

    ``raise_on_error=False`` is what makes ``streaming_bulk`` retry 429s; a 200 bulk response
    can still carry per-item errors, which are collected here.
    """
    result = LoadResult()
    urls: dict[str, str] = {}

    def actions():
        for doc in documents:
            urls[doc["id"]] = doc["url"]
            yield {"_op_type": "index", "_index": alias, "_id": doc["id"], "_source": doc}

    for ok, item in streaming_bulk(
        client,
        actions(),
        chunk_size=chunk_size,
        max_chunk_bytes=max_chunk_bytes,
        raise_on_error=False,
        raise_on_exception=False,
        max_retries=max_retries,
        initial_backoff=1,
        max_backoff=30,
    ):
        info = next(iter(item.values()))
        if ok:
            result.indexed += 1
        else:
            doc_id = info.get("_id", "?")
            result.failures.append(Failure(urls.get(doc_id, f"id:{doc_id}"), "load", _reason(info)))
    return result


def refresh(client: Elasticsearch, alias: str) -> None:
    """Make everything loaded so far visible to search."""
    client.indices.refresh(index=alias)
