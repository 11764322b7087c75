"""The one batch pipeline every flow runs: read -> transform -> stories -> load -> record.

A run's work is a list of ``Batch``es. Each is read according to where its pages come from
(``web``: fetched, ``warc``: captures in hand, ``archive``: the page archive, ``index``: the
indexed text of articles with no archived page), transformed in the configured runner
(``flows/runners.py``: clean + NER, or NER only for ``index``), placed in stories against this
run and the index, and loaded (documents identical to the indexed ones are left alone). The
stages overlap: the next batch is read while earlier ones are transformed and loaded, with a
bounded number of batches in flight, so memory does not grow with the run. ``ingest``,
``backfill``, ``reprocess`` and ``maintenance`` differ only in the batches they hand it.
Wiring only: every step is a function of ``transforms`` or ``newsflow.store``.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict

from elasticsearch import Elasticsearch
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE as NO_CACHE
from prefect.utilities.annotations import quote

from newsflow.flows import engine, runners
from newsflow.flows.process_pool import run_transform
from newsflow.options import fetch_options
from newsflow.settings import Settings
from newsflow.store import archive, indices, load, runs, stories
from newsflow.store.client import check_cluster, make_client
from newsflow.transforms import versions
from newsflow.transforms.batch import spool
from newsflow.transforms.batch.report import summary_markdown
from newsflow.transforms.batch.results import StageTime, Timer, TransformResult
from newsflow.transforms.batch.spool import SpooledPages
from newsflow.transforms.clean.siterules import load_rules
from newsflow.transforms.enrich.stories import StoryClusters
from newsflow.transforms.fetch import download
from newsflow.transforms.models import Article, Failure, Page, StageCounts

engine.end_runs_without_waiting_for_heartbeats()  # before any flow of newsflow runs

# The CLI listens here to draw progress on a terminal; nothing else depends on it.
progress_log = logging.getLogger("newsflow.progress")

Origin = Literal["web", "warc", "archive", "index"]
STAGES = ("fetch", "clean", "enrich", "load")
# A live run writes a spool file per batch, so its directory is never this old.
SPOOL_STALE_AFTER = 6 * 3600


@dataclass(frozen=True)
class Batch:
    """Up to ``batch_size`` items of one origin: URLs (``web``), pages (``warc``), archive
    records (``archive``) or articles rebuilt from indexed documents (``index``)."""

    origin: Origin
    items: list[Any]


def batches(origin: Origin, items: Sequence[Any], size: int) -> list[Batch]:
    """``items`` cut into batches of at most ``size``."""
    return [Batch(origin, list(items[i : i + size])) for i in range(0, len(items), size)]


# --------------------------------------------------------------------------- tasks


@task(name="prepare-index", retries=3, retry_delay_seconds=[2, 5, 10], cache_policy=NO_CACHE)
def prepare_index_task(settings: Settings) -> str:
    client = make_client(settings)
    check_cluster(client, settings.effective_es_url)
    return indices.ensure_index(
        client, settings.index, shards=settings.index_shards, replicas=settings.index_replicas
    )


@task(
    name="fetch",
    retries=2,
    retry_delay_seconds=[5, 20],
    retry_jitter_factor=0.5,
    cache_policy=NO_CACHE,
)
def fetch_task(
    urls: list[str], opts: download.FetchOptions, archive_url: str | None, spool_dir: str
) -> tuple[SpooledPages | list[Page], list[Failure], StageTime]:
    """Fetch a batch; each page goes to the archive and to the batch's spool file as its
    download ends, so the flow process never holds the batch's HTML (the workers read it)."""
    timer = Timer()
    kept = archive.Archive(archive_url) if archive_url else None
    failures: list[Failure] = []
    with spool.SpoolWriter(spool_dir) as writer:

        def take(index: int, page: Page) -> None:
            failures.extend(_archive(kept, [page]))
            writer.add(index, page)

        _, fetch_failures = download.fetch_pages(urls, opts, on_page=take)
        failures[:0] = fetch_failures
        if not writer.count:
            writer.abort()
            return [], failures, timer.lap()
        return writer.close(), failures, timer.lap()


@task(name="archive-pages", cache_policy=NO_CACHE)
def archive_pages_task(
    pages: list[Page], archive_url: str | None
) -> tuple[list[Page], list[Failure], StageTime]:
    """Pages in hand (WARC captures) kept in the archive, so ``reprocess`` can redo them."""
    timer = Timer()
    kept = archive.Archive(archive_url) if archive_url else None
    return pages, _archive(kept, pages), timer.lap()


@task(name="read-archive", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def read_archive_task(
    records: list[archive.ArchiveRecord], archive_url: str
) -> tuple[list[Page], list[Failure], StageTime]:
    timer = Timer()
    pages: list[Page] = []
    failures: list[Failure] = []
    for item in archive.Archive(archive_url).iter_pages(records):
        if isinstance(item, Page):
            pages.append(item)
        else:
            failures.append(item)
    return pages, failures, timer.lap()


def _archive(kept: archive.Archive | None, pages: list[Page]) -> list[Failure]:
    """Keep raw pages for ``reprocess``. A page that cannot be archived is still indexed; the
    write failure is reported in the run summary (stage ``archive``)."""
    if kept is None:
        return []
    failed = kept.archive_pages(pages).failures
    for failure in failed:
        get_run_logger().warning("archive: %s: %s", failure.url, failure.reason)
    return failed


# Keyed by the batch's URLs + HTML hashes + pipeline versions and kept under PREFECT_HOME, so a
# re-run after a crash (or over unchanged pages) skips the batches already cleaned and enriched.
# Kept on disk only: Prefect's in-memory result cache (1,000 entries) would hold every batch's
# documents, and their pickled copy, until the run ends.
@task(
    name="transform",
    cache_key_fn=runners.transform_cache_key,
    cache_expiration=runners.TRANSFORM_CACHE_EXPIRATION,
    persist_result=True,
    cache_result_in_memory=False,
)
def transform_task(
    pages: list[Page] | SpooledPages | list[Article],
    settings: Settings,
    run_id: str,
    pool: Executor | None,
    parts: int = 1,
) -> TransformResult:
    """Clean and enrich a batch (enrich only for articles), in worker processes when there is
    a pool (``parts`` of it at once)."""
    return run_transform(pages, settings, run_id, pool, parts)


class _BulkOptions(TypedDict):
    """The bulk request settings that both load functions take."""

    chunk_size: int
    max_chunk_bytes: int
    concurrency: int
    unavailable_timeout: float


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
    """Bulk-index the documents that differ from the indexed ones (the whole document, its
    content hash: a new version or facet is a change); rejections go to the dead-letter
    index."""
    timer = Timer()
    options: _BulkOptions = {
        "chunk_size": settings.bulk_chunk_size,
        "max_chunk_bytes": settings.bulk_max_bytes,
        "concurrency": settings.bulk_concurrency,
        "unavailable_timeout": settings.load_unavailable_timeout,
    }
    # Closed after each batch: a run of 200 batches must not keep 200 connection pools open.
    with make_client(settings) as client:
        result = load.load_documents(client, settings.index, documents, run_id, **options)
    return result, timer.lap()


# --------------------------------------------------------------------------- the run


@dataclass
class Run:
    """One flow run's identity, counts and stage times, shared by its batches."""

    flow: str
    settings: Settings
    client: Elasticsearch
    concrete_index: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.monotonic)
    counts: StageCounts = field(default_factory=StageCounts)
    times: dict[str, StageTime] = field(default_factory=lambda: {s: StageTime() for s in STAGES})
    archive_failures: list[Failure] = field(default_factory=list)
    cpu_workers: int = 0
    transform_batches: int = 0
    cache_hits: int = 0
    worker_losses: list[runners.WorkerLosses] = field(default_factory=list)

    @property
    def logger(self) -> runners.RunLogger:
        return runners.run_logger(get_run_logger(), self.run_id)


def open_run(flow: str, settings: Settings) -> Run:
    """Check the site rules, the cluster and make sure the index exists (a task, retried):
    the run's start. A bad site rules file stops the run here, its error naming the file and
    the entry, before any page is fetched."""
    load_rules(settings.site_rules)
    concrete_index = prepare_index_task(settings)
    return Run(flow, settings, make_client(settings), concrete_index)


class BatchPipeline:
    """Batches in flight: read -> transformed in the CPU stage -> stories -> loaded."""

    def __init__(self, run: Run, cpu: runners.CpuStage, spool_dir: str) -> None:
        self.flow_run, self.cpu, self.spool_dir = run, cpu, spool_dir
        self.settings = run.settings
        self.seen: dict[str, str] = {}  # canonical id -> first URL, across the run's batches
        self.clusters = StoryClusters(max_members=self.settings.story_window)
        self.transforming: deque = deque()
        self.loading: deque = deque()
        self.total = self.done = 0

    def _read(self, batch: Batch) -> _Reading:
        """Submit the read of a batch; its future gives (pages, failures, time)."""
        s = self.settings
        archive_url = s.effective_archive_url if s.archive_enabled else None
        if batch.origin == "web":
            return fetch_task.submit(batch.items, fetch_options(s), archive_url, self.spool_dir)
        if batch.origin == "warc":
            # Prefect unwraps quote() before the call; its submit() types do not say so.
            return archive_pages_task.submit(quote(batch.items), archive_url)  # type: ignore[call-overload]
        if batch.origin == "archive":
            return read_archive_task.submit(batch.items, s.effective_archive_url)
        return _InHand(batch.items)  # index: articles, nothing to read

    def run(self, work: Sequence[Batch]) -> None:
        counts, run_id = self.flow_run.counts, self.flow_run.run_id
        self.total = len(work)
        upcoming = self._read(work[0]) if work else None
        for i, batch in enumerate(work):
            assert upcoming is not None  # each batch was submitted one step ahead
            pages, failures, spent = upcoming.result()
            # Read the next batch while this one is transformed and loaded.
            upcoming = self._read(work[i + 1]) if i + 1 < len(work) else None
            if batch.origin in ("web", "archive"):
                counts.fetched += spool.count(pages) if pages else 0
            # A page that could not be archived is still indexed: not a failure of the run,
            # but the summary must say that reprocess will not find it.
            counts.failures += [f for f in failures if f.stage != "archive"]
            self.flow_run.archive_failures += [f for f in failures if f.stage == "archive"]
            self.flow_run.times["fetch"].add(spent)
            if pages:
                # No local name for the future: it would keep the last batch's result alive.
                last = i + 1 == len(work)
                self.transforming.append(
                    (
                        pages,
                        self.cpu.submit(transform_task, pages, self.settings, run_id, last=last),
                    )
                )
            del pages  # only the spool file (or the batch in hand) holds them now
            while len(self.transforming) > self.cpu.workers:
                self._finish_transform()
            while self.loading and (len(self.loading) > 2 or self.loading[0].state.is_final()):
                self._finish_load()
        while self.transforming:
            self._finish_transform()
        while self.loading:
            self._finish_load()
        # A lead demoted while its own document was still loading is demoted now that it is in.
        left = stories.apply_demotions(self.flow_run.client, self.settings.index, self.clusters)
        if left:
            self.flow_run.logger.warning(
                "%d story leads of run %s not demoted (not indexed or changed meanwhile); "
                "the next run over them sets them",
                left,
                run_id,
            )

    def _finish_transform(self) -> None:
        batch, future = self.transforming.popleft()
        result: TransformResult = future.result()
        if isinstance(batch, SpooledPages):
            spool.discard(batch)
        run, counts = self.flow_run, self.flow_run.counts
        run.transform_batches += 1
        if runners.was_cached(future):
            # Made by an earlier run (a crashed one, say): no time spent here, this run's id.
            run.cache_hits += 1
            result.times = {}
            for document in result.documents:
                document["run_id"] = run.run_id
        documents, repeats = load.drop_repeats(result.documents, self.seen)
        counts.cleaned += result.cleaned - len(repeats)
        counts.enriched += len(documents)
        counts.failures += result.failures
        counts.skips += repeats + result.skips  # repeats, and pages that are not articles
        for stage, spent in result.times.items():
            run.times[stage].add(spent)
        # Assigned here, not in the workers: the batches of a run must see each other.
        stories.assign_stories(run.client, self.settings.index, documents, self.clusters)
        # quote: Prefect would otherwise walk every field of every document looking for
        # futures to resolve, twice per batch.
        self.loading.append(
            load_task.submit(  # type: ignore[call-overload]  # quote(): as in _read
                quote(documents), self.settings, run.run_id
            )
        )

    def _finish_load(self) -> None:
        loaded, spent = self.loading.popleft().result()
        counts = self.flow_run.counts
        counts.indexed += loaded.indexed
        counts.unchanged += loaded.unchanged
        counts.failures += loaded.failures
        self.flow_run.times["load"].add(spent)
        runners.release_batch_memory()
        counts.failed, counts.skipped = len(counts.failures), len(counts.skips)
        self.done += 1
        progress_log.info(
            "batch %d/%d",
            self.done,
            self.total,
            extra={
                "counts": counts.as_dict(),
                "elapsed": time.monotonic() - self.flow_run.started,
            },
        )


class _Reading(Protocol):
    """A batch being read: a read task's future, or the items in hand."""

    def result(self) -> tuple[Any, list[Failure], StageTime]: ...


class _InHand:
    """Items that need no reading, shaped like a read task's future."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def result(self) -> tuple[list[Any], list[Failure], StageTime]:
        return self.items, [], StageTime()


def _spool_dir(settings: Settings) -> tempfile.TemporaryDirectory:
    """This run's spool of fetched batches, removed when the run ends (even on failure)."""
    parent = settings.state_dir / "spool"
    parent.mkdir(parents=True, exist_ok=True)
    spool.remove_stale(parent, SPOOL_STALE_AFTER)  # left by killed runs
    return tempfile.TemporaryDirectory(prefix="run-", dir=parent)


@contextmanager
def _stage(run: Run, n_batches: int, backfill: bool) -> Iterator[BatchPipeline]:
    with ExitStack() as stack:
        if backfill:
            stack.enter_context(indices.backfill_mode(run.client, run.settings.index))
        spool_dir = stack.enter_context(_spool_dir(run.settings))  # after the workers stop
        cpu = stack.enter_context(runners.cpu_stage(run.settings, n_batches))
        stack.enter_context(runners.young_heap_only())
        run.cpu_workers = cpu.workers
        yield BatchPipeline(run, cpu, spool_dir)


def process(run: Run, work: Sequence[Batch], *, backfill: bool = False) -> None:
    """Run ``work`` through the pipeline, adding to the run's counts and times; refreshes the
    index afterwards so that the next step (and the user) sees what was loaded.
    ``backfill`` turns refreshes off meanwhile (restored afterwards, even on failure)."""
    if work:
        with _stage(run, len(work), backfill) as pipeline:
            pipeline.run(work)
            run.worker_losses.append(pipeline.cpu.worker_losses())
    load.refresh(run.client, run.settings.index)


def finish_run(run: Run, **extra: Any) -> dict[str, Any]:
    """The run summary (the same keys for every flow, plus ``extra``): logged, recorded in the
    runs index and published as the Markdown artifact ``<flow>-summary``."""
    from prefect.runtime import flow_run

    counts, settings, logger = run.counts, run.settings, run.logger
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
        "run_id": run.run_id,
        "flow": run.flow,
        "index": settings.index,
        "concrete_index": run.concrete_index,
        "pipeline_version": versions.pipeline_version(
            settings.spacy_model, settings.aliases_path, settings.site_rules
        ),
        "seconds": round(time.monotonic() - run.started, 2),
        "cpu_workers": run.cpu_workers,
        "task_runner": settings.task_runner,
        "transform_batches": run.transform_batches,
        "transform_cache_hits": run.cache_hits,
        # Pages indexed but not archived (so `reprocess` cannot redo them), and the first reason.
        "archive_failed": len(run.archive_failures),
        "archive_error": run.archive_failures[0].reason if run.archive_failures else None,
        # Dask workers lost while they held this run's transform batches (their addresses), and
        # the batches the scheduler sent to other workers: the run went on without them.
        "dask_workers_lost": [w for losses in run.worker_losses for w in losses.workers],
        "transform_rescheduled": sum(losses.rescheduled for losses in run.worker_losses),
        "stage_seconds": {
            stage: {"cpu": round(t.cpu, 2), "wall": round(t.wall, 2)}
            for stage, t in run.times.items()
        },
        **extra,
    }
    logger.info(
        "%s run %s done: %d discovered, %d indexed, %d unchanged, %d failed, %d skipped in %.1fs",
        run.flow,
        run.run_id,
        counts.discovered,
        counts.indexed,
        counts.unchanged,
        counts.failed,
        counts.skipped,
        summary["seconds"],
    )
    runs.record_run(run.client, settings.index, run.flow, summary, flow_run.get_id())
    _publish_report(run, summary)
    return summary


def _publish_report(run: Run, summary: dict[str, Any]) -> None:
    """The run as a Markdown artifact: counts, failures, and the stories and entities the
    index holds for it (left out, with a warning, when the index cannot be asked)."""
    indexed = runs.run_report(run.client, run.settings.index, run.run_id)
    if indexed is None:
        run.logger.warning("run report: cannot read this run's stories and entities")
    create_markdown_artifact(
        key=f"{run.flow}-summary",
        markdown=summary_markdown(summary, indexed),
        description=f"{run.flow} run {run.run_id} into {run.settings.index}",
    )
