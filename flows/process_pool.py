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
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from newsflow.settings import Settings
from newsflow.transforms.batch.spool import SpooledPages
from newsflow.transforms.batch.transform import (
    TransformResult,
    transform_batch,
    use_caches,
    warm_up,
)
from newsflow.transforms.models import Article, Page


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _new_pool(workers: int, model_name: str, cache_dir: str | Path | None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=warm_up,
        initargs=(model_name, cache_dir),
    )


# The pool ``start_workers`` started ahead of a flow, and what its workers load.
_early: tuple[tuple[str, str | None], ProcessPoolExecutor] | None = None


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
    pool.submit(os.getpid)  # spawn starts a worker per submit that finds none idle
    _early = (_key(settings.spacy_model, settings.cache_dir), pool)
    try:
        yield
    finally:
        if _early is not None and _early[1] is pool:  # never taken
            _early = None
            _stop_now(pool)


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down without waiting for its workers to finish loading the model."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)


def started_pool(model_name: str, cache_dir: str | Path | None) -> bool:
    """True when ``start_workers`` has a pool for this model waiting to be taken."""
    return _early is not None and _early[0] == _key(model_name, cache_dir)


@contextmanager
def cpu_pool(
    workers: int, model_name: str, cache_dir: str | Path | None = None
) -> Iterator[Executor]:
    """A process pool whose workers have the model loaded (and the gazetteer, read from the
    pickle in ``cache_dir`` when given): the one ``start_workers`` started, when it loads
    the same model and may run ``workers`` processes, else a new one."""
    global _early
    pool: ProcessPoolExecutor | None = None
    if _early is not None and started_pool(model_name, cache_dir):
        early = _early[1]
        if getattr(early, "_max_workers", 0) >= workers:
            pool, _early = early, None
            # No more processes than this run uses: a pool started for every core spawns
            # another worker for a batch submitted while the first still loads its model,
            # which then loads one too, on the core the run needs (a private attribute: 3.11's
            # executor has no public way to say it).
            early._max_workers = workers  # type: ignore[attr-defined]
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
) -> TransformResult:
    """Clean and enrich a batch (pages, or a spool file of them), in a worker process when
    there is a pool."""
    work = functools.partial(
        transform_batch,
        pages,
        model_name=settings.spacy_model,
        min_body_chars=settings.min_body_chars,
        run_id=run_id,
        aliases_path=settings.aliases_path,
        site_rules_path=settings.site_rules,
    )
    if pool is not None:
        return pool.submit(work).result()
    # In this process (one batch, or Prefect's and Dask's workers): the gazetteer and the
    # language model from the cache, not parsed again (a no-op once this process has them).
    use_caches(settings.cache_dir)
    return work()
