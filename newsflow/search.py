"""Faceted full-text search over the articles alias: one request in, hits and facet counts out.

``build_query`` is pure (request -> Elasticsearch body) so it can be tested without a node;
``search`` runs it with the client it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from elasticsearch import Elasticsearch

FACET_FIELDS = ("person", "organization", "location", "source", "language")
FILTER_FIELDS = (
    "person",
    "organization",
    "location",
    "group",
    "event",
    "product",
    "source",
    "language",
    "authors",
)
MAX_QUERY_CHARS = 500


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)  # field -> values (AND)
    subjects: list[str] = field(default_factory=list)  # entities the articles are mainly about
    since: date | None = None
    until: date | None = None
    size: int = 10
    facet_size: int = 10


@dataclass(frozen=True)
class Hit:
    id: str
    url: str
    title: str
    published: str | None
    source: str
    snippet: str
    entities: dict[str, list[str]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "published": self.published,
            "source": self.source,
            "snippet": self.snippet,
            "entities": self.entities,
        }


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[dict[str, Any]]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "hits": [h.as_dict() for h in self.hits],
            "facets": self.facets,
        }


# An entity is a main subject of an article when it is named more than once or early (in the
# headline or the first lines).
MAIN_SUBJECT_MIN_MENTIONS = 2
MAIN_SUBJECT_MAX_OFFSET = 300


def _main_subject(name: str) -> dict[str, Any]:
    return {
        "nested": {
            "path": "entities",
            "query": {
                "bool": {
                    "filter": [{"term": {"entities.name": name}}],
                    "should": [
                        {"range": {"entities.count": {"gte": MAIN_SUBJECT_MIN_MENTIONS}}},
                        {"range": {"entities.first_offset": {"lt": MAIN_SUBJECT_MAX_OFFSET}}},
                    ],
                    "minimum_should_match": 1,
                }
            },
        }
    }


def build_query(req: SearchRequest) -> dict[str, Any]:
    """Elasticsearch search body for a request. User text goes through ``simple_query_string``
    (never fails on syntax, no leading wildcards), bounded in length."""
    unknown = set(req.filters) - set(FILTER_FIELDS)
    if unknown:
        raise ValueError(f"unknown filter field(s): {', '.join(sorted(unknown))}")
    text = req.query.strip()[:MAX_QUERY_CHARS]
    must: list[dict[str, Any]] = []
    if text:
        must.append(
            {
                "simple_query_string": {
                    "query": text,
                    "fields": ["title^3", "description^2", "body"],
                    "default_operator": "and",
                    "flags": "AND|OR|NOT|PHRASE|PRECEDENCE|WHITESPACE|ESCAPE",
                }
            }
        )
    filters: list[dict[str, Any]] = [
        {"term": {name: value}} for name, values in req.filters.items() for value in values
    ]
    filters += [_main_subject(name) for name in req.subjects]
    if req.since or req.until:
        bounds = {}
        if req.since:
            bounds["gte"] = req.since.isoformat()
        if req.until:
            bounds["lte"] = req.until.isoformat()
        filters.append({"range": {"published": bounds}})
    return {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
        "size": req.size,
        "track_total_hits": True,
        "sort": ["_score", {"published": {"order": "desc", "missing": "_last"}}]
        if text
        else [{"published": {"order": "desc", "missing": "_last"}}, "_score"],
        "_source": [
            "id",
            "url",
            "title",
            "published",
            "source",
            "body",
            *FACET_FIELDS[:3],
            "group",
            "event",
            "product",
        ],
        "highlight": {
            "fields": {
                "body": {"fragment_size": 160, "number_of_fragments": 1, "no_match_size": 160}
            },
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
        },
        "aggs": {name: {"terms": {"field": name, "size": req.facet_size}} for name in FACET_FIELDS},
    }


def _hit(raw: dict[str, Any]) -> Hit:
    src = raw["_source"]
    fragments = raw.get("highlight", {}).get("body") or [src.get("body", "")[:160]]
    return Hit(
        id=raw["_id"],
        url=src.get("url", ""),
        title=src.get("title", ""),
        published=src.get("published"),
        source=src.get("source", ""),
        snippet=fragments[0],
        entities={
            t: src.get(t, [])
            for t in ("person", "organization", "location", "group", "event", "product")
        },
    )


def search(client: Elasticsearch, alias: str, req: SearchRequest) -> SearchResult:
    """Run a search request against the alias."""
    body = build_query(req)
    resp = client.search(index=alias, **body)
    facets = {
        name: [{"value": b["key"], "count": b["doc_count"]} for b in agg["buckets"]]
        for name, agg in resp["aggregations"].items()
    }
    return SearchResult(
        total=resp["hits"]["total"]["value"],
        hits=[_hit(h) for h in resp["hits"]["hits"]],
        facets=facets,
    )
