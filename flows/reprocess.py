"""The ``reprocess`` flow: clean, enrich and load again from the page archive, never the web.

After a better extractor or model (a bump in ``transforms/versions.py``), ``newsflow reprocess``
reads the archived pages (``transforms/archive.py``), runs the current clean and enrich steps and
rewrites the documents with the current ``pipeline_version``. Pages whose document already has
that version are skipped unless ``force``, so an interrupted or ``--limit``-ed re-process simply
continues where it stopped. Wiring only; the backfill and maintenance flows reuse
``process_records`` for WARC captures and stale enrichments.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Executor
from contextlib import nullcontext
from datetime import UTC, date, datetime
from typing import Any

from elasticsearch import Elasticsearch
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from newsflow.flows.process_pool import cpu_pool, run_transform
from newsflow.settings import Settings
from newsflow.store import indices, load, runs
from newsflow.store.archive import Archive, ArchiveRecord
from newsflow.store.client import check_cluster, make_client
from newsflow.transforms import versions
from newsflow.transforms.batch.transform import TransformResult
from newsflow.transforms.models import Failure, Page, StageCounts


def parse_since(value: str | date | None) -> datetime | None:
    """``YYYY-MM-DD`` or an ISO date-time (UTC when naive); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"not a date or date-time: {value!r} (use YYYY-MM-DD)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def current_urls(client: Elasticsearch, alias: str, urls: Sequence[str], version: str) -> set[str]:
    """Which of ``urls`` are indexed with pipeline ``version`` already."""
    found: set[str] = set()
    for i in range(0, len(urls), 1000):
        chunk = list(urls[i : i + 1000])
        resp = client.search(
            index=alias,
            size=len(chunk),
            source=["url"],
            query={
                "bool": {
                    "filter": [
                        {"terms": {"url": chunk}},
                        {"term": {"pipeline_version": version}},
                    ]
                }
            },
        )
        found.update(hit["_source"]["url"] for hit in resp["hits"]["hits"])
    return found


@task(name="read-archive", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def read_archive_task(
    archive_url: str, records: list[ArchiveRecord]
) -> tuple[list[Page], list[Failure]]:
    pages: list[Page] = []
    failures: list[Failure] = []
    for item in Archive(archive_url).iter_pages(records):
        (pages if isinstance(item, Page) else failures).append(item)
    return pages, failures


@task(name="transform", cache_policy=NO_CACHE)
def transform_task(
    pages: list[Page], settings: Settings, run_id: str, pool: Executor | None
) -> TransformResult:
    return run_transform(pages, settings, run_id, pool)


@task(
    name="load",
    retries=2,
    retry_delay_seconds=[5, 20],
    retry_jitter_factor=0.5,
    cache_policy=NO_CACHE,
)
def rewrite_task(
    documents: list[dict[str, Any]], settings: Settings, run_id: str
) -> load.LoadResult:
    """Bulk-index documents whatever the index holds (their version changed even when their
    text did not); rejections go to the dead-letter index."""
    with make_client(settings) as client:  # closed: one pool per batch would pile up
        result = load.bulk_load(
            client,
            settings.index,
            documents,
            chunk_size=settings.bulk_chunk_size,
            max_chunk_bytes=settings.bulk_max_bytes,
            concurrency=settings.bulk_concurrency,
            unavailable_timeout=settings.load_unavailable_timeout,
        )
        load.record_dead_letters(client, settings.index, result.rejected, run_id)
    return result


def process_records(
    records: list[ArchiveRecord],
    settings: Settings,
    run_id: str,
    counts: StageCounts,
    *,
    force: bool = False,
) -> None:
    """Archived pages -> clean -> enrich -> index, in batches, adding to ``counts``. Records
    whose URL is indexed with the current pipeline version count as ``unchanged`` unless
    ``force``. Call from inside a flow."""
    client = make_client(settings)
    if not force and records:
        done = current_urls(
            client,
            settings.index,
            [r.url for r in records],
            versions.pipeline_version(settings.spacy_model, settings.aliases_path),
        )
        counts.unchanged += sum(1 for r in records if r.url in done)
        records = [r for r in records if r.url not in done]
    batches = [
        records[i : i + settings.batch_size] for i in range(0, len(records), settings.batch_size)
    ]
    workers = max(1, min(settings.cpu_workers, len(batches)))
    seen: dict[str, str] = {}
    transforming: deque = deque()

    def finish() -> None:
        result: TransformResult = transforming.popleft().result()
        documents, repeats = load.drop_repeats(result.documents, seen)
        counts.cleaned += result.cleaned - len(repeats)
        counts.enriched += len(documents)
        counts.failures += result.failures
        counts.skips += repeats + result.skips  # repeats, and pages that are not articles
        loaded = rewrite_task(documents, settings, run_id)
        counts.indexed += loaded.indexed
        counts.failures += loaded.failures

    # One batch gains nothing from worker processes and would pay their start-up.
    with cpu_pool(workers, settings.spacy_model) if workers > 1 else nullcontext() as pool:
        reading = (
            read_archive_task.submit(settings.effective_archive_url, batches[0])
            if batches
            else None
        )
        for i in range(len(batches)):
            pages, failures = reading.result()
            if i + 1 < len(batches):
                reading = read_archive_task.submit(settings.effective_archive_url, batches[i + 1])
            counts.fetched += len(pages)
            counts.failures += failures
            # quote: the pages are data, not futures for Prefect to look for inside.
            transforming.append(transform_task.submit(quote(pages), settings, run_id, pool))
            while len(transforming) > workers:
                finish()
        while transforming:
            finish()
    counts.failed, counts.skipped = len(counts.failures), len(counts.skips)


def finish_summary(
    flow_name: str,
    counts: StageCounts,
    settings: Settings,
    run_id: str,
    started: float,
    **extra: Any,
) -> dict[str, Any]:
    """The run summary (same keys as ingest's), logged and recorded in the runs index."""
    from prefect.runtime import flow_run

    counts.failed, counts.skipped = len(counts.failures), len(counts.skips)
    summary = counts.as_dict() | {
        "run_id": run_id,
        "flow": flow_name,
        "index": settings.index,
        "pipeline_version": versions.pipeline_version(settings.spacy_model, settings.aliases_path),
        "seconds": round(time.monotonic() - started, 2),
        **extra,
    }
    logger = get_run_logger()
    for failure in counts.failures:
        logger.warning("failed at %s: %s (%s)", failure.stage, failure.url, failure.reason)
    logger.info(
        "%s run %s done: %d indexed, %d unchanged, %d failed in %.1fs",
        flow_name,
        run_id,
        counts.indexed,
        counts.unchanged,
        counts.failed,
        summary["seconds"],
    )
    runs.record_run(make_client(settings), settings.index, flow_name, summary, flow_run.get_id())
    return summary


@flow(name="reprocess", log_prints=False, task_runner=ThreadPoolTaskRunner(max_workers=4))
def reprocess(
    since: str | None = None,
    source: str | None = None,
    limit: int | None = None,
    force: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Re-run clean and enrich on archived pages (fetched on or after ``since``, from host
    ``source``, at most ``limit`` of them, newest first) and load the documents; no web access.
    """
    settings = settings or Settings()
    run_id = uuid.uuid4().hex
    started = time.monotonic()
    counts = StageCounts()
    client = make_client(settings)
    check_cluster(client, settings.effective_es_url)
    concrete_index = indices.ensure_index(client, settings.index)
    archive = Archive(settings.effective_archive_url)
    records = archive.records(since=parse_since(since), source=source, limit=limit)
    counts.discovered = len(records)
    get_run_logger().info(
        "reprocess %s: %d archived pages from %s into %s (%s), pipeline %s",
        run_id,
        len(records),
        archive.url,
        settings.index,
        concrete_index,
        versions.pipeline_version(settings.spacy_model, settings.aliases_path),
    )
    process_records(records, settings, run_id, counts, force=force)
    load.refresh(client, settings.index)
    return finish_summary(
        "reprocess", counts, settings, run_id, started, concrete_index=concrete_index
    )
