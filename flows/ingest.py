"""The ``ingest`` flow: sources -> fetch -> clean -> enrich -> load, in batches.

Wiring only: every step is a plain function in ``transforms``. Retries sit on the tasks that do
I/O (fetch, load). The stages overlap: while worker processes clean and enrich some batches
(CPU), the next batch is fetched and finished ones are loaded (I/O, threads), with a bounded
number of batches in flight. Runs in Prefect's ephemeral mode or under a Prefect server.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import time
import uuid
from collections import deque
from concurrent.futures import Executor
from contextlib import nullcontext
from typing import Any

from elasticsearch import ApiError, TransportError
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE as NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from newsflow.flows import runners
from newsflow.flows.process_pool import run_transform
from newsflow.settings import Settings
from newsflow.store import archive, indices, load, runs, state
from newsflow.store.client import check_cluster, make_client
from newsflow.transforms import versions
from newsflow.transforms.batch import spool
from newsflow.transforms.batch.report import parse_run_aggs, run_aggs, run_query, summary_markdown
from newsflow.transforms.batch.spool import SpooledPages
from newsflow.transforms.batch.transform import StageTime, Timer, TransformResult
from newsflow.transforms.enrich import stories
from newsflow.transforms.fetch import download as fetch
from newsflow.transforms.models import Failure, Page, StageCounts
from newsflow.transforms.sources.discover import Discovered, discover

# The CLI listens here to draw progress on a terminal; nothing else depends on it.
progress_log = logging.getLogger("newsflow.progress")


def fetch_options(settings: Settings) -> fetch.FetchOptions:
    """The fetch step's limits and politeness rules, from the settings."""
    return fetch.FetchOptions(
        timeout=settings.fetch_timeout,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        retries=settings.fetch_retries,
        concurrency=settings.fetch_concurrency,
        user_agent=settings.user_agent,
        per_host=settings.fetch_per_host,
        host_delay=settings.fetch_host_delay,
        deadline=settings.fetch_deadline,
        max_retry_after=settings.fetch_max_retry_after,
        allowed_networks=tuple(settings.allowed_private_networks),
    )


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(source_list: list[str], settings: Settings) -> Discovered:
    """Expand the sources; feeds and sitemaps are downloaded conditionally and the URLs
    already indexed are left out (state read from the cluster)."""
    return discover(
        source_list,
        fetcher=fetch.fetch_resources,
        opts=fetch_options(settings),
        state=state.EsCrawlState(make_client(settings), settings.index),
        warc_max_bytes=settings.warc_max_bytes,
        defaults={
            "max_urls": settings.source_max_urls,
            "sitemap_depth": settings.sitemap_max_depth,
            "max_sitemaps": settings.sitemap_max_count,
        },
    )


class _InHand:
    """A batch of pages that needs no fetching (WARC records), shaped like a fetch result."""

    def __init__(self, pages: list[Page]) -> None:
        self.pages = pages

    def result(self) -> tuple[list[Page], list[Failure], StageTime]:
        return self.pages, [], StageTime()


def _submit_batch(fetch_submit, batch: list[str] | list[Page]):
    return _InHand(batch) if batch and isinstance(batch[0], Page) else fetch_submit(batch)


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
def fetch_task(
    urls: list[str],
    opts: fetch.FetchOptions,
    archive_url: str | None = None,
    spool_dir: str | None = None,
) -> tuple[list[Page] | SpooledPages, list[Failure], StageTime]:
    """Fetch a batch; with ``spool_dir`` each page goes to the batch's spool file as its
    download ends, so the flow process never holds the batch's HTML (the workers read it)."""
    timer = Timer()
    kept = archive.Archive(archive_url) if archive_url else None
    if not spool_dir:
        pages, failures = fetch.fetch_pages(urls, opts)
        for page in pages:
            _archive(kept, page)
        return pages, failures, timer.lap()
    with spool.SpoolWriter(spool_dir) as writer:

        def take(index: int, page: Page) -> None:
            _archive(kept, page)
            writer.add(index, page)

        _, failures = fetch.fetch_pages(urls, opts, on_page=take)
        if not writer.count:
            writer.abort()
            return [], failures, timer.lap()
        return writer.close(), failures, timer.lap()


def _archive(kept: archive.Archive | None, page: Page) -> None:
    """Keep the raw page for `newsflow reprocess`; a failed write is only logged."""
    if kept is not None:
        for failed in kept.archive_pages([page]).failures:
            get_run_logger().warning("%s: %s", failed.url, failed.reason)


# Keyed by the batch's URLs + HTML hashes + pipeline versions and kept under PREFECT_HOME, so a
# re-run after a crash (or over unchanged pages) skips the batches already cleaned and enriched.
# Kept on disk only: Prefect's in-memory result cache (1,000 entries) would hold every batch's
# documents, and their pickled copy, until the run ends (about 25 KB an article).
@task(
    name="transform",
    cache_key_fn=runners.transform_cache_key,
    cache_expiration=runners.TRANSFORM_CACHE_EXPIRATION,
    persist_result=True,
    cache_result_in_memory=False,
)
def transform_task(
    pages: list[Page] | SpooledPages, settings: Settings, run_id: str, pool: Executor | None
) -> TransformResult:
    """Clean and enrich a batch, in a worker process when there is a pool."""
    return run_transform(pages, settings, run_id, pool)


@task(
    name="load",
    retries=2,
    retry_delay_seconds=[5, 20],
    retry_jitter_factor=0.5,
    cache_policy=NO_CACHE,
)
def load_task(
    documents: list[dict[str, Any]], settings: Settings, run_id: str
) -> tuple[load.LoadResult, StageTime]:
    timer = Timer()
    # Closed after each batch: a run of 200 batches must not keep 200 connection pools open.
    with make_client(settings) as client:
        result = load.load_documents(
            client,
            settings.index,
            documents,
            run_id,
            chunk_size=settings.bulk_chunk_size,
            max_chunk_bytes=settings.bulk_max_bytes,
            concurrency=settings.bulk_concurrency,
            unavailable_timeout=settings.load_unavailable_timeout,
        )
    return result, timer.lap()


class _Pipeline:
    """Batches in flight: fetched -> transformed in worker processes -> loaded. Bounded, so
    memory does not grow with the number of articles."""

    def __init__(
        self,
        settings: Settings,
        run_id: str,
        counts: StageCounts,
        workers: int,
        started: float,
        spool_dir: str,
    ) -> None:
        self.settings, self.run_id, self.counts = settings, run_id, counts
        self.spool_dir = spool_dir
        self.workers, self.started = workers, started
        self.times = {stage: StageTime() for stage in ("fetch", "clean", "enrich", "load")}
        self.seen: dict[str, str] = {}
        self.client = make_client(settings)
        self.stories = stories.StoryClusters(max_members=settings.story_window)
        self.transforming: deque = deque()
        self.loading: deque = deque()
        self.batches_done = 0
        self.transform_batches = self.cache_hits = 0

    def run(self, batches: list[list[str]], cpu: runners.CpuStage) -> None:
        opts = fetch_options(self.settings)
        kept = self.settings.effective_archive_url if self.settings.archive_enabled else None
        submit = functools.partial(
            _submit_batch,
            functools.partial(
                fetch_task.submit, opts=opts, archive_url=kept, spool_dir=self.spool_dir
            ),
        )
        upcoming = submit(batches[0]) if batches else None
        for i in range(len(batches)):
            in_hand = isinstance(upcoming, _InHand)  # WARC pages: read, not fetched
            pages, failures, spent = upcoming.result()
            # Fetch the next batch while this one is transformed and loaded.
            upcoming = submit(batches[i + 1]) if i + 1 < len(batches) else None
            self.counts.fetched += 0 if in_hand else spool.count(pages)
            self.counts.failures += failures
            self.times["fetch"].add(spent)
            self.transforming.append(
                (pages, cpu.submit(transform_task, pages, self.settings, self.run_id))
            )
            del pages  # only the spool file (or the WARC batch) holds them now
            while len(self.transforming) > self.workers:
                self._finish_transform()
            while self.loading and (len(self.loading) > 2 or self.loading[0].state.is_final()):
                self._finish_load(len(batches))
        while self.transforming:
            self._finish_transform()
        while self.loading:
            self._finish_load(len(batches))

    def _finish_transform(self) -> None:
        batch, future = self.transforming.popleft()
        result: TransformResult = future.result()
        spool.discard(batch)
        self.transform_batches += 1
        if runners.was_cached(future):
            # Made by an earlier run (a crashed one, say): no time spent here, this run's id.
            self.cache_hits += 1
            result.times = {}
            for document in result.documents:
                document["run_id"] = self.run_id
        documents, repeats = load.drop_repeats(result.documents, self.seen)
        self.counts.cleaned += result.cleaned - len(repeats)
        self.counts.enriched += len(documents)
        self.counts.failures += result.failures
        self.counts.skips += repeats
        self.counts.skips += getattr(result, "skips", [])  # not articles (cached: none)
        for stage, spent in result.times.items():
            self.times[stage].add(spent)
        # Stories are assigned here, not in the workers: the batches of a run must see each other.
        stories.assign_stories(self.client, self.settings.index, documents, self.stories)
        # quote: Prefect would otherwise walk every field of every document looking for
        # futures to resolve, twice per batch.
        self.loading.append(load_task.submit(quote(documents), self.settings, self.run_id))

    def _finish_load(self, total_batches: int) -> None:
        loaded, spent = self.loading.popleft().result()
        self.counts.indexed += loaded.indexed
        self.counts.unchanged += loaded.unchanged
        self.counts.failures += loaded.failures
        self.times["load"].add(spent)
        runners.release_batch_memory()
        self.counts.failed, self.counts.skipped = len(self.counts.failures), len(self.counts.skips)
        self.batches_done += 1
        progress_log.info(
            "batch %d/%d",
            self.batches_done,
            total_batches,
            extra={"counts": self.counts.as_dict(), "elapsed": time.monotonic() - self.started},
        )


# A live run writes a spool file per batch, so its directory is never this old.
SPOOL_STALE_AFTER = 6 * 3600


def _spool_dir(settings: Settings) -> tempfile.TemporaryDirectory:
    """This run's spool of fetched batches, removed when the run ends (even on failure)."""
    parent = settings.state_dir / "spool"
    parent.mkdir(parents=True, exist_ok=True)
    spool.remove_stale(parent, SPOOL_STALE_AFTER)  # left by killed runs
    return tempfile.TemporaryDirectory(prefix="ingest-", dir=parent)


def _publish_report(client, settings: Settings, summary: dict[str, Any], log) -> None:
    """The run as a Markdown artifact (``ingest-summary``): counts, failures, stories, entities."""
    try:
        response = client.search(
            index=settings.index, size=0, query=run_query(summary["run_id"]), aggs=run_aggs()
        )
        indexed = parse_run_aggs(response)
    except (ApiError, TransportError) as exc:
        # The run is done; the report then lacks only what the index would have told.
        log.warning("run report: cannot read this run's stories and entities: %s", exc)
        indexed = None
    create_markdown_artifact(
        key="ingest-summary",
        markdown=summary_markdown(summary, indexed),
        description=f"ingest run {summary['run_id']} into {settings.index}",
    )


@flow(name="ingest", log_prints=False, task_runner=ThreadPoolTaskRunner(max_workers=16))
def ingest(
    sources: list[str] | None = None, settings: Settings | None = None, backfill: bool = False
) -> dict[str, Any]:
    """Ingest sources (URL lists, HTML directories, URLs) into the index; return the summary.

    ``backfill`` turns refreshes off for the run (restored afterwards, even on failure)."""
    settings = settings or Settings()
    runners.steady_heap()
    run_id = uuid.uuid4().hex
    logger = runners.run_logger(get_run_logger(), run_id)
    started = time.monotonic()
    counts = StageCounts()

    concrete_index = prepare_index_task(settings)
    found = discover_task(sources or settings.sources, settings)
    counts.discovered = len(found.urls) + len(found.pages)
    counts.failures += found.failures
    counts.skips += found.duplicates
    logger.info(
        "run %s: %d URLs into %s (%s)", run_id, counts.discovered, settings.index, concrete_index
    )

    batches = [
        found.urls[i : i + settings.batch_size]
        for i in range(0, len(found.urls), settings.batch_size)
    ]
    # WARC pages go straight to the transform stage.
    batches += [
        found.pages[i : i + settings.batch_size]
        for i in range(0, len(found.pages), settings.batch_size)
    ]
    client = make_client(settings)
    with (
        indices.backfill_mode(client, settings.index) if backfill else nullcontext(),
        _spool_dir(settings) as spool_dir,  # removed after the workers have stopped
        runners.cpu_stage(settings, len(batches)) as cpu,
        runners.young_heap_only(),
    ):
        workers = cpu.workers
        pipeline = _Pipeline(settings, run_id, counts, workers, started, spool_dir)
        pipeline.run(batches, cpu)
    load.refresh(client, settings.index)
    # Validators are kept only now: a crashed run reads its feeds and sitemaps in full again.
    state.EsCrawlState(client, settings.index).save(
        found.states_to_save(f.url for f in counts.failures if f.stage == "fetch")
    )
    counts.failed, counts.skipped = len(counts.failures), len(counts.skips)
    for failure in counts.failures:
        logger.warning(
            "failed at %s: %s (%s)",
            failure.stage,
            failure.url,
            failure.reason,
            extra=runners.failure_context(failure),
        )
    summary = counts.as_dict() | {
        "run_id": run_id,
        "index": settings.index,
        "concrete_index": concrete_index,
        "article_fetches": len(found.urls),
        "from_warc": len(found.pages),
        "already_indexed": len(found.already_indexed),
        "not_modified": len(found.not_modified),
        "sources": [report.as_dict() for report in found.sources],
        "seconds": round(time.monotonic() - started, 2),
        "cpu_workers": workers,
        "task_runner": settings.task_runner,
        "transform_batches": pipeline.transform_batches,
        "transform_cache_hits": pipeline.cache_hits,
        "stage_seconds": {
            stage: {"cpu": round(t.cpu, 2), "wall": round(t.wall, 2)}
            for stage, t in pipeline.times.items()
        },
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
    runs.record_run(  # history for `newsflow runs`
        client,
        settings.index,
        "ingest",
        summary,
        pipeline_version=versions.pipeline_version(settings.spacy_model, settings.aliases_path),
    )
    _publish_report(client, settings, summary, logger)
    return summary
