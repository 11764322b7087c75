"""The ``maintenance`` flow: dead-letter retry, stale re-enrichment, index stats. Daily.

Re-enrichment picks articles whose ``enrichment_version`` differs from the current one
(``transforms/versions.py``): from the archived page when there is one (clean + enrich, as a
re-process), else from the body already in the index (enrich only). Wiring only.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE

from newsflow.flows.reprocess import finish_summary, process_records, rewrite_task
from newsflow.settings import Settings
from newsflow.store import indices, load
from newsflow.store.archive import Archive, ArchiveError
from newsflow.store.client import check_cluster, make_client
from newsflow.transforms import versions
from newsflow.transforms.batch import documents
from newsflow.transforms.enrich.entities import enrich_articles
from newsflow.transforms.models import Article, Failure, StageCounts


@task(name="retry-dead-letters", retries=2, retry_delay_seconds=[5, 20], cache_policy=NO_CACHE)
def retry_dead_letters_task(settings: Settings, run_id: str) -> load.LoadResult:
    return load.retry_dead_letters(make_client(settings), settings.index, run_id)


def stale_documents(
    client: Elasticsearch, alias: str, current: str, limit: int | None
) -> list[dict[str, Any]]:
    """Indexed articles enriched by another version than ``current`` (or by none)."""
    query = {"bool": {"must_not": [{"term": {"enrichment_version": current}}]}}
    found: list[dict[str, Any]] = []
    for hit in scan(client, index=alias, query={"query": query}, size=500):
        found.append(hit["_source"])
        if limit is not None and len(found) >= limit:
            break
    return found


def article_from_document(doc: dict[str, Any]) -> Article:
    """The article an indexed document was made from (what enrich needs as input)."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Article):
        value = doc.get(f.name)
        if value is None and f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        elif value is None and "list" in str(f.type):
            value = []
        values[f.name] = value
    values["fetched_at"] = (
        datetime.fromisoformat(doc["fetched_at"]) if doc.get("fetched_at") else (datetime.now(UTC))
    )
    values["word_count"] = int(doc.get("word_count") or len(doc.get("body", "").split()))
    return Article(**values)


@task(name="enrich-from-index", cache_policy=NO_CACHE)
def enrich_from_index_task(
    docs: list[dict[str, Any]], settings: Settings, run_id: str
) -> tuple[list[dict[str, Any]], list[Failure]]:
    """Documents re-made from their indexed text with the current enrichment."""
    articles: list[Article] = []
    failures: list[Failure] = []
    for doc in docs:
        try:
            articles.append(article_from_document(doc))
        except (KeyError, TypeError, ValueError) as exc:
            failures.append(
                Failure(doc.get("url", doc.get("id", "?")), "enrich", f"bad doc: {exc}")
            )
    enriched = enrich_articles(articles, settings.spacy_model, aliases_path=settings.aliases_path)
    return [
        documents.to_document(
            item, run_id, model_name=settings.spacy_model, aliases_path=settings.aliases_path
        )
        for item in enriched
    ], failures


def reenrich_stale(
    settings: Settings, run_id: str, counts: StageCounts, limit: int | None
) -> dict[str, int]:
    """Re-enrich stale articles, from the archive where possible; counts go into ``counts``."""
    client = make_client(settings)
    stale = stale_documents(
        client,
        settings.index,
        versions.enrichment_version(settings.spacy_model, settings.aliases_path),
        limit,
    )
    archive = Archive(settings.effective_archive_url) if settings.archive_enabled else None
    records, from_index = [], []
    for doc in stale:
        try:
            record = archive.get(doc["url"]) if archive is not None else None
        except ArchiveError as exc:
            get_run_logger().warning("%s: archive unreadable, using the index: %s", doc["url"], exc)
            record = None
        (records.append(record) if record is not None else from_index.append(doc))
    counts.discovered += len(stale)
    process_records(records, settings, run_id, counts, force=True)
    for i in range(0, len(from_index), settings.batch_size):
        documents, failures = enrich_from_index_task(
            from_index[i : i + settings.batch_size], settings, run_id
        )
        counts.failures += failures
        counts.enriched += len(documents)
        loaded = rewrite_task(documents, settings, run_id)
        counts.indexed += loaded.indexed
        counts.failures += loaded.failures
    return {"stale": len(stale), "from_archive": len(records), "from_index": len(from_index)}


@flow(name="maintenance", log_prints=False)
def maintenance(
    retry_dead_letters: bool = True,
    reenrich: bool = False,
    reenrich_limit: int | None = 10_000,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Retry dead letters, optionally re-enrich stale articles, and report index stats."""
    settings = settings or Settings()
    run_id = uuid.uuid4().hex
    started = time.monotonic()
    counts = StageCounts()
    client = make_client(settings)
    check_cluster(client, settings.effective_es_url)
    concrete_index = indices.ensure_index(client, settings.index)
    dead_letters: dict[str, int] = {}
    if retry_dead_letters:
        before = load.count_dead_letters(client, settings.index)
        retried = retry_dead_letters_task(settings, run_id)
        counts.indexed += retried.indexed
        counts.failures += retried.failures
        dead_letters = {
            "before": before,
            "indexed": retried.indexed,
            "rejected": len(retried.rejected),
            "left": load.count_dead_letters(client, settings.index),
        }
        # The re-enrichment below searches: it must see the documents the retry just loaded.
        load.refresh(client, settings.index)
    reenriched = reenrich_stale(settings, run_id, counts, reenrich_limit) if reenrich else {}
    load.refresh(client, settings.index)
    stats = indices.stats(client, settings.index)
    get_run_logger().info(
        "index %s: %d documents, %d dead letters, mapping version %s",
        settings.index,
        stats["documents"],
        stats["dead_letters"],
        stats["mapping_version"],
    )
    return finish_summary(
        "maintenance",
        counts,
        settings,
        run_id,
        started,
        concrete_index=concrete_index,
        dead_letters=dead_letters,
        reenriched=reenriched,
        stats=stats,
    )
