"""Worker processes for the CPU-bound stages (clean and NER), one spaCy model per process.

Threads cannot run trafilatura and spaCy in parallel (the GIL), so the ingest flow sends each
batch to a pool of processes sized to the machine. Workers are started with ``spawn`` (the flow
process runs Prefect's threads, which must not be forked) and load the model once, before the
first batch arrives. What they run lives in
``transforms/batch/transform.py``, so a worker imports the transform code only (not Prefect,
not the Elasticsearch client).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from newsflow.settings import Settings
from newsflow.transforms.batch import spool
from newsflow.transforms.batch.results import TransformResult, merge_results
from newsflow.transforms.batch.spool import SpooledPages
from newsflow.transforms.models import Article, Page


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# The transform code (trafilatura, spaCy's callers, the gazetteer's) is imported by the
# functions below where they run: in the workers, or in the flow's process only when it
# transforms a batch itself. The flow's process of a `newsflow run` hands its batches over.


def _warm_up(model_name: str, cache_dir: str | Path | None) -> None:
    """``transform.warm_up``, in the worker that runs it."""
    from newsflow.transforms.batch.transform import warm_up

    warm_up(model_name, cache_dir)


def _transform_batch(
    batch: list[Page] | SpooledPages | list[Article], **options: Any
) -> TransformResult:
    """``transform.transform_batch``, in the process that runs it."""
    from newsflow.transforms.batch.transform import transform_batch

    return transform_batch(batch, **options)


def _new_pool(workers: int, model_name: str, cache_dir: str | Path | None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_warm_up,
        initargs=(model_name, cache_dir),
    )


@dataclass
class _Early:
    """A pool ``start_workers`` started ahead of a flow: what its workers load, how many it may
    run (as we asked for them: the executor has no public way to say it), the task that
    started its first worker, and that worker's process."""

    key: tuple[str, str | None]
    pool: ProcessPoolExecutor
    workers: int
    started: Future
    processes: list[BaseProcess] = field(default_factory=list)


_early: _Early | None = None


class _Bounded(Executor):
    """A process pool handed at most ``limit`` tasks at once (``running``: tasks it already
    has). The pool starts a worker for each task submitted while none is idle, up to the size
    it was made with; kept to ``limit`` tasks, it starts no more than ``limit`` workers. A task
    beyond waits here for one to finish. (The pool counts a worker idle a moment after its
    task's future is done: a task submitted in that moment may still start one more worker.)"""

    def __init__(self, pool: Executor, limit: int, running: Iterable[Future] = ()) -> None:
        self._pool = pool
        self._slots = threading.BoundedSemaphore(limit)
        for future in running:
            self._slots.acquire()
            future.add_done_callback(self._release)

    def _release(self, _: Future) -> None:
        self._slots.release()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        self._slots.acquire()
        try:
            future = self._pool.submit(fn, *args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(self._release)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def _key(model_name: str, cache_dir: str | Path | None) -> tuple[str, str | None]:
    return model_name, None if cache_dir is None else str(cache_dir)


@contextmanager
def start_workers(settings: Settings) -> Iterator[None]:
    """Start one worker process now, loading the model, for the flow this block will run.

    A one-page ``newsflow run`` spends seconds importing Prefect and starting its flow run
    before the first batch, and seconds more loading spaCy, its models and the gazetteer
    after it. Started first, a worker loads them on another core meanwhile, and the flow's
    CPU stage (``cpu_pool``) takes it over, even for one batch. Only for the ``workers``
    task runner. Leaving the block ends the workers the flow did not take (no batch to
    transform, or a failure before the first) without waiting for their model."""
    global _early
    if settings.task_runner != "workers" or _early is not None:
        yield
        return
    pool = _new_pool(settings.cpu_workers, settings.spacy_model, settings.cache_dir)
    before = set(multiprocessing.active_children())
    # spawn starts a worker per submit that finds none idle, in the submit itself.
    started = pool.submit(os.getpid)
    processes = [p for p in multiprocessing.active_children() if p not in before]
    early = _Early(
        _key(settings.spacy_model, settings.cache_dir),
        pool,
        settings.cpu_workers,
        started,
        processes,
    )
    _early = early
    try:
        yield
    finally:
        if _early is early:  # never taken
            _early = None
            _stop_now(early)


def _stop_now(early: _Early) -> None:
    """Shut the pool down without waiting for its worker to finish loading the model: the
    worker is terminated first, then the pool's own thread, which reaps it, is waited for.
    (Joining the process here as well raced that thread's wait: the worker could still look
    alive after this returned.)"""
    for process in early.processes:
        process.terminate()
    early.pool.shutdown(wait=True, cancel_futures=True)


def started_pool(model_name: str, cache_dir: str | Path | None) -> bool:
    """True when ``start_workers`` has a pool for this model waiting to be taken."""
    return _early is not None and _early.key == _key(model_name, cache_dir)


@contextmanager
def cpu_pool(
    workers: int, model_name: str, cache_dir: str | Path | None = None
) -> Iterator[Executor]:
    """A process pool whose workers have the model loaded (and the gazetteer, read from the
    pickle in ``cache_dir`` when given): the one ``start_workers`` started, when it loads
    the same model and may run ``workers`` processes, else a new one."""
    global _early
    pool: Executor | None = None
    early = _early
    if early is not None and started_pool(model_name, cache_dir) and early.workers >= workers:
        _early = None
        pool = early.pool
        if early.workers > workers:
            # No more processes than this run uses: a pool started for every core spawns
            # another worker for a batch submitted while the first still loads its model,
            # which then loads one too, on the core the run needs.
            pool = _Bounded(pool, workers, running=[early.started])
        workers -= 1  # one is started already
    if pool is None:
        pool = _new_pool(workers, model_name, cache_dir)
    try:
        # Every worker starts loading now: with spawn, the pool starts one worker per submit
        # that finds none idle, so the second would wait for the second fetched batch.
        for _ in range(workers):
            pool.submit(os.getpid)
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_transform(
    pages: list[Page] | SpooledPages | list[Article],
    settings: Settings,
    run_id: str,
    pool: Executor | None,
    parts: int = 1,
) -> TransformResult:
    """Clean and enrich a batch (pages, or a spool file of them), in a worker process when
    there is a pool; cut into ``parts`` that the pool's workers share, so that a run's last
    batch, or a run of one batch, keeps every worker busy."""
    work = functools.partial(
        _transform_batch,
        model_name=settings.spacy_model,
        min_body_chars=settings.min_body_chars,
        run_id=run_id,
        aliases_path=settings.aliases_path,
        site_rules_path=settings.site_rules,
    )
    if pool is not None:
        futures = [pool.submit(work, part) for part in spool.split(pages, parts)]
        return merge_results([future.result() for future in futures])
    # In this process (one batch, or Prefect's and Dask's workers): the gazetteer and the
    # language model from the cache, not parsed again (a no-op once this process has them).
    from newsflow.transforms.batch.transform import use_caches

    use_caches(settings.cache_dir)
    return work(pages)
