"""The index document of an enriched article: plain data in, a JSON-able dict out.

Kept apart from the load step so that the worker processes, which shape documents but never
talk to the cluster, do not import the Elasticsearch client (about 2 s of CPU per process).
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from newsflow.transforms import versions
from newsflow.transforms.clean.dates import published_day
from newsflow.transforms.enrich.stories import signature
from newsflow.transforms.models import Article, EnrichedArticle
from newsflow.transforms.urls import try_canonicalize


def document_id(canonical_url: str) -> str:
    """Stable id of an article: SHA-256 of its canonical URL, hex, 40 characters."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:40]


def to_document(
    item: EnrichedArticle,
    run_id: str,
    *,
    model_name: str,
    aliases_path: str | Path | None = None,
    indexed_at: datetime | None = None,
    site_rules_path: str | Path | None = None,
) -> dict[str, Any]:
    """The Elasticsearch document of an enriched article (plain JSON-able dict), enriched
    with the spaCy model ``model_name`` and the alias table at ``aliases_path`` (default
    ``mappings/aliases.json``), cleaned with the site rules at ``site_rules_path`` (default
    ``mappings/site_rules.yaml``), which its versions name."""
    a = item.article
    doc_id = document_id(a.canonical_url)
    story = signature(a.body)
    doc: dict[str, Any] = {
        "id": doc_id,
        "url": a.url,
        "canonical_url": a.canonical_url,
        "title": a.title,
        "body": a.body,
        "description": a.description,
        "authors": a.authors,
        "published": a.published,
        "published_source": a.published_source,
        # The publisher's own calendar day, for date filters and histograms.
        "published_day": published_day(a.published),
        "modified": a.modified,
        "modified_source": a.modified_source,
        "fetched_at": a.fetched_at.isoformat(),
        "indexed_at": (indexed_at or datetime.now(UTC)).isoformat(),
        "site_name": a.site_name,
        "source": a.source,
        "language": a.language,
        "tags": a.tags,
        "section": a.section,
        # A story of its own until the run's story assignment (transforms/stories.py) places it.
        "story_id": doc_id,
        "story_lead": True,
        "story_bands": list(story.bands) if story else [],
        "story_signature": story.encode() if story else None,
        "quotes": [q.as_dict() for q in item.quotes],
        "image": a.image,
        "word_count": a.word_count,
        "free_access": a.free_access,
        "entities": [
            {"name": e.name, "type": e.type, "count": e.count, "first_offset": e.first_offset}
            for e in item.entities
        ],
        "enrich_note": item.enrich_note,
        "run_id": run_id,
        # Which clean/enrich code made this document (transforms/versions.py).
        "pipeline_version": versions.pipeline_version(
            model_name, aliases_path, site_rules_path, a.final_url or a.url
        ),
        "enrichment_version": versions.enrichment_version(model_name, aliases_path),
    }
    doc.update(item.facets())
    return doc


def article_from_document(doc: dict[str, Any]) -> Article:
    """The article an indexed document was made from (what enrich needs as input), for
    re-enriching an article whose page is not in the archive."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Article):
        value = doc.get(f.name)
        if value is None and f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        elif value is None and "list" in str(f.type):
            value = []
        values[f.name] = value
    values["fetched_at"] = (
        datetime.fromisoformat(doc["fetched_at"]) if doc.get("fetched_at") else datetime.now(UTC)
    )
    values["word_count"] = int(doc.get("word_count") or len(doc.get("body", "").split()))
    return Article(**values)


# Stamped anew on every run without changing what a document says (and the hash itself).
RUN_FIELDS = frozenset({"indexed_at", "run_id", "fetched_at", "content_hash"})


def canonical_json(document: dict[str, Any]) -> bytes:
    """The bytes ``content_hash`` hashes: the document without ``RUN_FIELDS`` as compact UTF-8
    JSON with sorted keys. Written by orjson (about 40 µs for an 8 kB article against 100 µs
    for ``json.dumps``); its bytes are those of ``json.dumps(..., ensure_ascii=False,
    sort_keys=True, separators=(",", ":"))`` for every value a document holds (strings,
    integers, booleans, null, lists, objects: ``tests/unit/test_documents.py`` checks it), so
    hashes stored by older code still match. Floats below 1e-4 are spelt otherwise by the two
    (``0.00001`` against ``1e-05``); the article mapping has no float field, and a changed spelling
    would only cost one rewrite. The load step sends these bytes as the document's source, the
    run fields added at the end, so a document is serialised once."""
    content = {key: value for key, value in document.items() if key not in RUN_FIELDS}
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def content_hash(document: dict[str, Any]) -> str:
    """SHA-256 (hex) of a whole index document except ``RUN_FIELDS``: text and metadata,
    entities and facets, quotes, story fields, pipeline versions. Equal hashes mean that
    writing the document again would change nothing the index shows, so the load step skips
    it (``unchanged``) and stores the hash as ``content_hash``. Compute it over the final
    document, after the run's story assignment."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def with_published_day(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document with ``published_day`` filled from its ``published`` date, as a run
    makes it now, and its ``content_hash`` (when it has one) made over the result; a document
    that has the field is returned as it is. Used when an index is migrated and when one is
    upgraded in place (``newsflow.store.indices``): documents made before the field existed get
    it."""
    if "published_day" in document:
        return document
    out = document | {"published_day": published_day(document.get("published"))}
    if "content_hash" in out:
        out["content_hash"] = content_hash(out)
    return out


def rekeyed(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document keyed the way the current code keys it: ``canonical_url`` spelt by
    ``canonicalize``, ``id`` made from it, ``content_hash`` of the result; ``story_id`` is an
    opaque key its story's members share and stays. A document without a canonical URL that
    ``canonicalize`` accepts is returned as it is (its id too). Used when an index is migrated:
    documents made by an older URL function get the id a new run would give them."""
    canonical = try_canonicalize(document.get("canonical_url") or "")
    if canonical is None:
        return document
    out = document | {"canonical_url": canonical, "id": document_id(canonical)}
    out["content_hash"] = content_hash(out)
    return out
