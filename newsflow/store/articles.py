"""Reads of the articles alias that the flows decide with: which URLs are indexed already
(optionally by the current pipeline version), and which articles an older enrichment made."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError
from elasticsearch.helpers import scan

LOOKUP_CHUNK = 500


def _chunks(items: list[str], size: int = LOOKUP_CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def indexed(
    client: Elasticsearch,
    alias: str,
    urls: Iterable[str],
    *,
    pipeline_version: str | None = None,
) -> dict[str, datetime]:
    """``fetched_at`` of the given URLs that the alias holds, matched by ``url`` or
    ``canonical_url``; with ``pipeline_version``, only documents made by that version. A
    missing index means nothing is indexed yet."""
    found: dict[str, datetime] = {}
    wanted = set(urls)
    for chunk in _chunks(sorted(wanted)):
        query: dict[str, Any] = {
            "bool": {
                "should": [{"terms": {"url": chunk}}, {"terms": {"canonical_url": chunk}}],
                "minimum_should_match": 1,
            }
        }
        if pipeline_version is not None:
            query["bool"]["filter"] = [{"term": {"pipeline_version": pipeline_version}}]
        try:
            reply = client.search(
                index=alias,
                query=query,
                source={"includes": ["url", "canonical_url", "fetched_at"]},
                size=min(2 * len(chunk), 10_000),
            )
        except NotFoundError:
            return {}
        for hit in reply["hits"]["hits"]:
            src = hit["_source"]
            fetched = _parse_date(src.get("fetched_at"))
            for key in (src.get("url"), src.get("canonical_url")):
                if key in wanted:
                    found[key] = max(found.get(key, fetched), fetched)
    return found


def stale_documents(
    client: Elasticsearch, alias: str, enrichment_version: str, limit: int | None
) -> list[dict[str, Any]]:
    """Indexed articles enriched by another version than ``enrichment_version`` (or none)."""
    query = {"bool": {"must_not": [{"term": {"enrichment_version": enrichment_version}}]}}
    found: list[dict[str, Any]] = []
    for hit in scan(client, index=alias, query={"query": query}, size=500):
        found.append(hit["_source"])
        if limit is not None and len(found) >= limit:
            break
    return found


def _parse_date(value: str | None) -> datetime:
    if not value:
        return datetime.min.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
