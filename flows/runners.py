"""Where the CPU stage (clean + NER) runs, chosen by ``settings.task_runner``; its cache key; the
structured log context of a run.

Fetch and load are I/O: they always run in the flow's thread pool, bounded by the pipeline (one
batch fetched ahead, at most ``workers`` batches transformed and a few loaded at once). Only the
transform batches go to the configured runner:

- ``workers`` (default): a thread task hands the batch to newsflow's own worker processes
  (flows/process_pool.py, spawn, model warmed in each process before the first batch);
- ``processes``: Prefect's ``ProcessPoolTaskRunner``, one process per worker; the model is loaded
  by the first batch a process gets and kept (``load_model`` is cached per process);
- ``dask``: prefect-dask's ``DaskTaskRunner`` on a ``LocalCluster`` of ``dask_workers`` processes
  (one thread each) or on the cluster at ``dask_address``; the same per-process model cache
  means one model per Dask worker, not per task. A cluster at an address may run on other
  machines, so its workers are sent the pages, never the path of this machine's spool file.
  When a Dask worker leaves the cluster (killed, machine lost), the scheduler hands the batches
  it was running or holding to another worker; the run reports them (``WorkerLosses``).
"""

from __future__ import annotations

import ctypes
import functools
import gc
import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from prefect import Task
from prefect.futures import PrefectFuture
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner

from newsflow.flows import process_pool
from newsflow.flows.process_pool import cpu_pool
from newsflow.settings import Settings
from newsflow.transforms import versions
from newsflow.transforms.batch import spool
from newsflow.transforms.batch.spool import SpooledPages
from newsflow.transforms.clean.siterules import load_rules
from newsflow.transforms.models import Failure, Page

# A crashed run is re-run within hours; a day keeps hourly runs over unchanged pages cheap too.
TRANSFORM_CACHE_EXPIRATION = timedelta(days=1)


def transform_cache_key(context: Any, parameters: Mapping[str, Any]) -> str:
    """Key of a transform batch: what the pages hold and what turns them into documents.

    The same URLs with the same HTML, cleaned and enriched by the same code, model and limits,
    give the same documents; the run id is restamped on a cache hit, so it is not part of it."""
    settings: Settings = parameters["settings"]
    # A batch may hold pages of any host (and spooled pages are not read here): every site
    # rule is part of its key, not only those of its pages' hosts.
    rules = load_rules(settings.site_rules)
    digest = hashlib.sha256()
    for part in (
        versions.pipeline_version(settings.spacy_model, settings.aliases_path, settings.site_rules),
        "\n".join(f"{host} {rule.spec}" for host, rule in sorted(rules.items())),
        versions.enrichment_version(settings.spacy_model, settings.aliases_path),
        settings.spacy_model,
        str(settings.min_body_chars),
        spool.digest(parameters["pages"]),
    ):
        digest.update(part.encode() + b"\0")
    return f"transform-{digest.hexdigest()}"


def was_cached(future: PrefectFuture) -> bool:
    """True when a finished task's result came from the cache rather than from running it."""
    state = future.state
    return state.is_completed() and state.name == "Cached"


@dataclass(frozen=True)
class WorkerLosses:
    """Dask workers that left the cluster holding this run's transform batches (running, or
    waiting on them), and how many of those batches the scheduler sent to other workers."""

    workers: tuple[str, ...] = ()
    rescheduled: int = 0


def worker_losses(
    events: Iterable[tuple[float, Mapping[str, Any]]], keys: set[str]
) -> WorkerLosses:
    """What the Dask scheduler's ``remove-worker`` events (topic ``all``) say about the tasks
    ``keys``: each event names the worker and the tasks it was processing, which the scheduler
    reschedules (or fails with ``KilledWorker`` once a task has outlived
    ``distributed.scheduler.allowed-failures`` workers)."""
    workers: list[str] = []
    lost: set[str] = set()
    for _, event in events:
        if event.get("action") != "remove-worker":
            continue
        hit = {str(key) for key in event.get("processing-tasks", ())} & keys
        if hit:
            lost |= hit
            if event["worker"] not in workers:
                workers.append(event["worker"])
    return WorkerLosses(tuple(workers), len(lost))


# Parts per worker of a run's last batch (``CpuStage.parts``).
LAST_BATCH_PARTS = 4


@dataclass
class CpuStage:
    """How transform batches are submitted, and how many run at once."""

    kind: str
    workers: int
    pool: Any = None  # concurrent.futures.Executor for "workers"
    runner: TaskRunner | None = None  # the entered Prefect/Dask runner otherwise
    # Workers that may be on other machines read no spool file of this one: send them the pages.
    pages_in_hand: bool = False
    dask_keys: set[str] = field(default_factory=set)  # this run's transform tasks on Dask

    def submit(
        self,
        task: Task,
        pages: list[Page] | SpooledPages,
        settings: Settings,
        run_id: str,
        *,
        last: bool = False,
    ):
        """Submit a batch's transform; ``last``: the run's last batch, which the pool's
        workers share in smaller parts (``parts``)."""
        if self.pages_in_hand and isinstance(pages, SpooledPages):
            pages = spool.read(pages)  # the same cache key: the digest is of the pages
        parameters = {
            "pages": pages,
            "settings": settings,
            "run_id": run_id,
            "pool": self.pool,
            "parts": self.parts(last),
        }
        if self.runner is None:
            return task.submit(**parameters)  # the flow's thread pool; the work goes to the pool
        future = self.runner.submit(task, parameters=parameters)
        if self.kind == "dask":
            from distributed import Future as DaskFuture

            wrapped = future.wrapped_future  # a DaskTaskRunner's future wraps Dask's
            assert isinstance(wrapped, DaskFuture)
            self.dask_keys.add(str(wrapped.key))
        return future

    def parts(self, last: bool = False) -> int:
        """How many parts a batch is cut into for the pool's workers to share: one each, and
        ``LAST_BATCH_PARTS`` each for the run's last batch. The workers take parts as they
        come free, so they finish their last ones at different times, up to one part apart;
        the run ends when the later one does, the other core idle meanwhile. Smaller parts at
        the end bound that wait; smaller parts throughout would cost each part's fixed work
        (its spool read, its result's pickle) for no gain."""
        if self.pool is None:
            return 1
        return self.workers * (LAST_BATCH_PARTS if last else 1)

    def worker_losses(self) -> WorkerLosses:
        """The Dask workers lost while they held this run's batches (none for other runners);
        asked of the scheduler, so call it before the runner is left."""
        if self.kind != "dask" or not self.dask_keys:
            return WorkerLosses()
        client = self.runner.client  # type: ignore[union-attr]  # a DaskTaskRunner's
        return worker_losses(client.get_events("all"), self.dask_keys)


def dask_runner(settings: Settings) -> TaskRunner:
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": settings.dask_workers,
            "threads_per_worker": 1,  # NER holds the GIL: one batch per process
            "processes": True,
            "dashboard_address": ":0",  # any free port: several runs may share a machine
        },
    )


@contextmanager
def cpu_stage(settings: Settings, batches: int) -> Iterator[CpuStage]:
    """The configured place for clean + NER, started for a run of ``batches`` batches."""
    if settings.task_runner == "dask":
        with dask_runner(settings) as runner:
            remote = settings.dask_address is not None
            yield CpuStage("dask", settings.dask_workers, runner=runner, pages_in_hand=remote)
        return
    workers = max(1, min(settings.cpu_workers, batches))
    if settings.task_runner == "processes":
        with ProcessPoolTaskRunner(max_workers=workers) as runner:
            yield CpuStage("processes", workers, runner=runner)
        return
    if workers == 1 and not process_pool.started_pool(settings.spacy_model, settings.cache_dir):
        # One batch gains nothing from worker processes and would pay their start-up (unless
        # the command started one ahead, loading the model while Prefect started).
        yield CpuStage("workers", 1)
        return
    with cpu_pool(workers, settings.spacy_model, settings.cache_dir) as pool:
        yield CpuStage("workers", workers, pool=pool)


class RunLogger(logging.LoggerAdapter):
    """Adds the run id, and the URL, its source (host) and the stage when given, to records."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


# glibc's mallopt parameters (malloc.h).
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8
MMAP_THRESHOLD_BYTES = 32 * 1024


@functools.cache
def steady_heap() -> bool:
    """Keep the flow process's heap from creeping up over a long run (glibc only; True when
    applied).

    The flow process moves large short-lived buffers (a fetched page, a bulk request of several
    MB) through many threads. By default glibc gives each thread its own arena and raises its
    mmap threshold after the first large free, so such buffers end up scattered over the arenas
    and the resident size ratchets up with the number of batches. A fixed threshold sends them
    to mmap (returned to the system when freed) and two arenas bound the rest. 32 KiB catches
    the network reads (64 KiB), pages (~130 KB) and pickle frames: at 256 KiB they stayed in
    the arenas, which held ~100 MB free (fragmented) for ~110 MB live; at 32 KiB ~10 MB.
    Not applied in the worker processes: NER allocates large arrays on every batch, and mapping
    them afresh each time costs CPU."""
    mallopt = _glibc("mallopt")
    if mallopt is None:  # not glibc (musl, macOS): nothing to tune
        return False
    return bool(mallopt(_M_ARENA_MAX, 2)) and bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


@functools.cache
def _glibc(name: str):
    """A glibc function from the C library already loaded (no library search), or None."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Give the heap's free pages back to the system (glibc; a few ms).

    Called by the flow process after each batch: its live heap stays flat over a run, but glibc
    keeps what a batch freed inside its arenas, and the resident size crept up by ~60 MB every
    five batches until trimmed."""
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim(0)


@contextmanager
def young_heap_only() -> Iterator[None]:
    """Let full garbage collections during a run walk only the objects made during it.

    The flow process holds ~400,000 long-lived objects (Prefect, pydantic, the client) before
    its first batch; frozen, a full collection costs 3-7 ms instead of ~270 ms, so one can run
    after every batch (``release_batch_memory``). Unfrozen when the run ends. Frozen as they
    are, without a full collection first: that collection would cost every run, a one-page run
    too, what freezing saves, and the few cycles already garbage only wait for the run's end."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def release_batch_memory() -> None:
    """After a batch is loaded: collect the reference cycles it left, then trim the heap.

    Prefect's record of each persisted transform result sits in a reference cycle, so a batch's
    documents outlived their load until the next full collection, which the collector runs
    rarely: the flow's resident size climbed ~20 KB an article between them (306 -> 414 MB over
    6,000 articles) and its peak grew with the length of the run. Collected here it stays at
    ~325 MB."""
    gc.collect()
    release_free_memory()


def run_logger(logger: logging.Logger | logging.LoggerAdapter, run_id: str) -> RunLogger:
    return RunLogger(logger, {"run_id": run_id})


def failure_context(failure: Failure) -> dict[str, str]:
    """Log-record fields of a failure: URL, source (its host, or the path) and stage."""
    host = urlsplit(failure.url).hostname
    return {"url": failure.url, "source": host or failure.url, "stage": failure.stage}
