"""Searches run against the articles alias: the requests and results of ``newsflow.search``
(pure) sent with the client given, for the HTTP API and the CLI.

The client's errors go through unchanged (``ApiError``, ``TransportError``): the callers know
what a failure means to their user (an HTTP status, a CLI message).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from elasticsearch import Elasticsearch, NotFoundError

from newsflow import search as core

# Runs the aggregation-only half of a first collapsed page next to the page itself.
_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="newsflow-search")


def search(client: Elasticsearch, alias: str, req: core.SearchRequest) -> core.SearchResult:
    """One page of hits (or stories, with ``req.collapse``), facets and counts.

    Raises ``ValueError`` for an unknown filter field."""
    if not req.collapse:
        return core.parse_result(req, client.search(index=alias, **core.build_query(req)).body)
    if req.search_after is None:
        # A first page: one collapsed request, then the shown stories' other articles; the
        # story count and histogram alongside, on another core.
        counts = None
        if req.count_stories or req.histogram:
            counts = _POOL.submit(
                lambda: client.search(index=alias, **core.build_counts_query(req)).body
            )
        try:
            first = client.search(index=alias, **core.build_page_query(req)).body
            shown = core.page_stories(req, first)
            others = _others(client, alias, req, shown)
        finally:
            found = counts.result() if counts is not None else None
        return core.parse_result(req, first, others, found)
    page = core.StoryPage(req)
    while not page.done:
        stories = page.read_stream(client.search(index=alias, **page.stream_query()).body)
        found = None
        if stories:
            found = client.search(index=alias, **core.build_story_query(req, stories)).body
        page.read_stories(found, _others(client, alias, req, stories))
    return page.result()


def _others(
    client: Elasticsearch, alias: str, req: core.SearchRequest, stories: list[str]
) -> dict[str, Any] | None:
    if not stories:
        return None
    return client.search(index=alias, **core.build_others_query(req, stories)).body


def suggest_entities(
    client: Elasticsearch,
    alias: str,
    prefix: str,
    types: tuple[str, ...] = core.ENTITY_TYPES,
    size: int = 10,
    timeout: str | None = None,
) -> list[dict[str, Any]]:
    """``[{type, value, count}]``: the ``size`` most frequent values of ``types`` with a word
    starting with ``prefix``."""
    resp = client.search(index=alias, **core.build_suggest_query(prefix, types, size, timeout)).body
    return core.parse_suggestions(resp, types, size)


def entity_profile(
    client: Elasticsearch,
    alias: str,
    entity_type: str,
    name: str,
    facet_size: int = 10,
    quotes: int = 10,
    timeout: str | None = None,
) -> dict[str, Any]:
    """``{type, name, articles, interval, mentions, co_occurring, quotes}`` for one entity:
    one query for the counts, then one for the mentions over time (when some article has a
    date) and one for the quotes (people only)."""
    resp = client.search(
        index=alias, **core.build_entity_query(entity_type, name, facet_size, timeout)
    ).body
    mentions = None
    interval = core.mentions_interval(resp)
    if interval:
        mentions = client.search(
            index=alias, **core.build_mentions_query(entity_type, name, interval, timeout)
        ).body
    said = None
    if core.wants_quotes(entity_type, resp, quotes):
        said = client.search(index=alias, **core.build_quotes_query(name, quotes, timeout)).body
    return core.parse_entity_profile(entity_type, name, resp, mentions, said, quotes)


def get_article(client: Elasticsearch, alias: str, article_id: str) -> dict[str, Any] | None:
    """The stored article (without pipeline bookkeeping) or None when there is none with that
    id; a missing alias raises the client's ``NotFoundError``."""
    try:
        resp = client.get(index=alias, id=article_id, source_excludes=list(core.ARTICLE_EXCLUDES))
    except NotFoundError as exc:
        # A missing document answers {"found": false}; a missing index answers an error.
        if isinstance(exc.body, dict) and exc.body.get("found") is False:
            return None
        raise
    return {"id": resp["_id"], **resp["_source"]}


@dataclass(frozen=True)
class AliasHealth:
    """Whether the alias can be searched: the cluster's status and what the alias holds."""

    cluster: Literal["green", "yellow", "red"]
    alias_exists: bool
    documents: int | None  # None when the alias does not exist

    @property
    def ok(self) -> bool:
        return self.alias_exists and self.cluster != "red"


def alias_health(client: Elasticsearch, alias: str) -> AliasHealth:
    """Cluster status, whether ``alias`` exists and its document count (three light calls)."""
    cluster = client.cluster.health()["status"]
    exists = bool(client.indices.exists(index=alias))
    documents = client.count(index=alias)["count"] if exists else None
    return AliasHealth(cluster=cluster, alias_exists=exists, documents=documents)
