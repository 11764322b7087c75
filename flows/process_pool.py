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
from newsflow.transforms.batch.transform import TransformResult, transform_batch, warm_up
from newsflow.transforms.enrich.entities import gazetteer
from newsflow.transforms.models import Article, Page


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def cpu_pool(
    workers: int, model_name: str, cache_dir: str | Path | None = None
) -> Iterator[Executor]:
    """A process pool whose workers have the model loaded (and the gazetteer, read from the
    pickle in ``cache_dir`` when given)."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=warm_up,
        initargs=(model_name, cache_dir),
    )
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
    )
    if pool is not None:
        return pool.submit(work).result()
    # In this process (one batch, or Prefect's and Dask's workers): the gazetteer from the
    # cache, not parsed again from GeoNames' JSON (a no-op once this process has it).
    gazetteer(settings.cache_dir)
    return work()
