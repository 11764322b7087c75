"""Story clusters against the index: earlier runs' copies in, demoted leads out.

The clustering itself is pure (``newsflow.transforms.enrich.stories``); this module asks the
articles alias for the indexed copies that share a band key with a batch (one terms query on
the bands, one on the touched stories' leads) and writes ``story_lead: false`` to the indexed
leads that lost the lead (partial updates).
"""

from __future__ import annotations

import logging
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from newsflow.transforms.batch.documents import content_hash
from newsflow.transforms.enrich.stories import (
    StoryClusters,
    StoryMember,
    assign_documents,
    story_bands_query,
    story_leads_query,
)

log = logging.getLogger(__name__)


def assign_stories(
    client: Elasticsearch,
    alias: str,
    documents: list[dict[str, Any]],
    clusters: StoryClusters,
    *,
    max_candidates: int = 2_000,
) -> None:
    """Story fields of a batch of index documents, against this run (``clusters``) and the
    index behind ``alias`` (earlier runs). Leads the index holds that are leads no more are
    set ``story_lead: false`` with partial updates; one not indexed yet (still loading in this
    run) is retried on the next call. When the index cannot be asked, the batch is clustered
    within the run only (logged), so a cluster hiccup never sinks the run."""
    bands = {b for doc in documents for b in doc.get("story_bands") or ()}
    try:
        for member in _lookup(client, alias, bands, max_candidates):
            clusters.remember(member)
    except (ApiError, TransportError) as exc:
        # Degraded, not failed: this batch is clustered against this run only.
        log.warning("story lookup in %s failed, batch clustered within the run: %s", alias, exc)
    assign_documents(clusters, documents)
    apply_demotions(client, alias, clusters)


def _lookup(client: Elasticsearch, alias: str, bands: set[str], size: int) -> list[StoryMember]:
    """Indexed copies sharing a band key with the batch, then the current leads of their
    stories (a lead may share no band with the new copy)."""
    if not bands:
        return []
    hits = client.search(index=alias, **story_bands_query(bands, size))["hits"]["hits"]
    found = [StoryMember.from_source(hit["_source"], indexed=True) for hit in hits]
    stories = {m.story_id for m in found}
    if stories:
        leads = client.search(index=alias, **story_leads_query(stories, size))["hits"]["hits"]
        found += [StoryMember.from_source(hit["_source"], indexed=True) for hit in leads]
    return found


def apply_demotions(client: Elasticsearch, alias: str, clusters: StoryClusters) -> int:
    """Set ``story_lead: false`` on indexed leads that are leads no more, with the
    ``content_hash`` of the document that makes, so that a re-run which computes the same
    document finds it unchanged. Each update applies only to the version read; a lead not
    indexed yet (still loading in this run) or changed meanwhile is retried on the next call,
    so a run calls this once more after its last load. Returns how many are still pending."""
    if not clusters.pending_demotions:
        return 0
    try:
        found = client.mget(index=alias, ids=sorted(clusters.pending_demotions))["docs"]
        operations: list[dict[str, Any]] = []
        for doc in found:
            if not doc.get("found"):
                continue
            demoted = doc["_source"] | {"story_lead": False}
            target = {
                "_index": doc["_index"],
                "_id": doc["_id"],
                "if_seq_no": doc["_seq_no"],
                "if_primary_term": doc["_primary_term"],
            }
            update = {"story_lead": False, "content_hash": content_hash(demoted)}
            operations += [{"update": target}, {"doc": update}]
        items: list[dict[str, Any]] = (
            client.bulk(operations=operations)["items"] if operations else []
        )
    except (ApiError, TransportError) as exc:
        log.warning("story leads in %s not updated, retried with the next batch: %s", alias, exc)
        return len(clusters.pending_demotions)
    for item in items:
        info = item["update"]
        if info.get("status") in (200, 201):
            clusters.pending_demotions.discard(info["_id"])
        elif info.get("status") not in (404, 409):  # gone or changed meanwhile: next call
            log.warning("story lead of %s not updated: %s", info.get("_id"), info.get("error"))
    return len(clusters.pending_demotions)
