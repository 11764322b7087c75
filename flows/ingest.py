"""The ``ingest`` flow: sources -> fetch -> clean -> enrich -> load, in batches.

Wiring only: every step is a plain function in ``transforms``. Retries sit on the tasks that do
I/O (fetch, load); the next batch is fetched while the current one is cleaned, enriched and
loaded. Runs in Prefect's ephemeral mode or under a Prefect server unchanged.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import nullcontext
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE

from newsflow.es import check_cluster, make_client
from newsflow.settings import Settings
from transforms import clean, enrich, fetch, indices, load
from transforms.models import Article, EnrichedArticle, Failure, Page, StageCounts
from transforms.sources import Discovered, discover

# The CLI listens here to draw progress on a terminal; nothing else depends on it.
progress_log = logging.getLogger("newsflow.progress")


def _fetch_options(settings: Settings) -> fetch.FetchOptions:
    return fetch.FetchOptions(
        timeout=settings.fetch_timeout,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        retries=settings.fetch_retries,
        concurrency=settings.fetch_concurrency,
        user_agent=settings.user_agent,
    )


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(source_list: list[str]) -> Discovered:
    return discover(source_list)


@task(name="prepare-index", retries=3, retry_delay_seconds=[2, 5, 10], cache_policy=NO_CACHE)
def prepare_index_task(settings: Settings) -> str:
    client = make_client(settings)
    check_cluster(client, settings.effective_es_url)
    return indices.ensure_index(client, settings.index)


@task(
    name="fetch",
    retries=2,
    retry_delay_seconds=[5, 20],
    retry_jitter_factor=0.5,
    cache_policy=NO_CACHE,
)
def fetch_task(urls: list[str], opts: fetch.FetchOptions) -> tuple[list[Page], list[Failure]]:
    return fetch.fetch_pages(urls, opts)


@task(name="clean", cache_policy=NO_CACHE)
def clean_task(pages: list[Page], min_body_chars: int) -> tuple[list[Article], list[Failure]]:
    return clean.clean_pages(pages, min_body_chars=min_body_chars)


@task(name="enrich", cache_policy=NO_CACHE)
def enrich_task(articles: list[Article], model_name: str) -> list[EnrichedArticle]:
    return enrich.enrich_articles(articles, model_name)


@task(
    name="load",
    retries=2,
    retry_delay_seconds=[5, 20],
    retry_jitter_factor=0.5,
    cache_policy=NO_CACHE,
)
def load_task(documents: list[dict[str, Any]], settings: Settings, run_id: str) -> load.LoadResult:
    return load.load_documents(
        make_client(settings),
        settings.index,
        documents,
        run_id,
        chunk_size=settings.bulk_chunk_size,
        max_chunk_bytes=settings.bulk_max_bytes,
        concurrency=settings.bulk_concurrency,
        unavailable_timeout=settings.load_unavailable_timeout,
    )


def _drop_repeats(
    articles: list[Article], seen: dict[str, str]
) -> tuple[list[Article], list[Failure]]:
    """Keep the first page of each canonical URL in this run; later ones are skips."""
    kept: list[Article] = []
    skips: list[Failure] = []
    for article in articles:
        first = seen.setdefault(article.canonical_url, article.url)
        if first != article.url:
            skips.append(Failure(article.url, "clean", f"same canonical URL as {first}"))
        else:
            kept.append(article)
    return kept, skips


def _process_batches(
    batches: list[list[str]], settings: Settings, run_id: str, counts: StageCounts, started: float
) -> None:
    """Fetch the next batch while the current one is cleaned, enriched and loaded."""
    opts = _fetch_options(settings)
    seen: dict[str, str] = {}
    upcoming = fetch_task.submit(batches[0], opts) if batches else None
    for i in range(len(batches)):
        pages, fetch_failures = upcoming.result()
        upcoming = fetch_task.submit(batches[i + 1], opts) if i + 1 < len(batches) else None
        articles, clean_failures = clean_task(pages, settings.min_body_chars)
        articles, repeats = _drop_repeats(articles, seen)
        enriched = enrich_task(articles, settings.spacy_model)
        loaded = load_task([load.to_document(e, run_id) for e in enriched], settings, run_id)

        counts.fetched += len(pages)
        counts.cleaned += len(articles)
        counts.enriched += len(enriched)
        counts.indexed += loaded.indexed
        counts.unchanged += loaded.unchanged
        counts.failures += fetch_failures + clean_failures + loaded.failures
        counts.skips += repeats
        counts.failed, counts.skipped = len(counts.failures), len(counts.skips)
        progress_log.info(
            "batch %d/%d",
            i + 1,
            len(batches),
            extra={"counts": counts.as_dict(), "elapsed": time.monotonic() - started},
        )


@flow(name="ingest", log_prints=False)
def ingest(
    sources: list[str] | None = None, settings: Settings | None = None, backfill: bool = False
) -> dict[str, Any]:
    """Ingest sources (URL lists, HTML directories, URLs) into the index; return the summary.

    ``backfill`` turns refreshes off for the run (restored afterwards, even on failure)."""
    settings = settings or Settings()
    logger = get_run_logger()
    run_id = uuid.uuid4().hex
    started = time.monotonic()
    counts = StageCounts()

    found = discover_task(sources or settings.sources)
    counts.discovered = len(found.urls)
    counts.failures += found.failures
    counts.skips += found.duplicates
    concrete_index = prepare_index_task(settings)
    logger.info(
        "run %s: %d URLs into %s (%s)", run_id, counts.discovered, settings.index, concrete_index
    )

    batches = [
        found.urls[i : i + settings.batch_size]
        for i in range(0, len(found.urls), settings.batch_size)
    ]
    client = make_client(settings)
    with indices.backfill_mode(client, settings.index) if backfill else nullcontext():
        _process_batches(batches, settings, run_id, counts, started)
    load.refresh(client, settings.index)
    counts.failed, counts.skipped = len(counts.failures), len(counts.skips)
    for failure in counts.failures:
        logger.warning("failed at %s: %s (%s)", failure.stage, failure.url, failure.reason)
    summary = counts.as_dict() | {
        "run_id": run_id,
        "index": settings.index,
        "concrete_index": concrete_index,
        "seconds": round(time.monotonic() - started, 2),
    }
    logger.info(
        "run %s done: %d discovered, %d indexed, %d failed, %d skipped in %.1fs",
        run_id,
        counts.discovered,
        counts.indexed,
        counts.failed,
        counts.skipped,
        summary["seconds"],
    )
    return summary
