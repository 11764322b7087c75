"""Worker processes for the CPU-bound stages (clean and NER), one spaCy model per process.

Threads cannot run trafilatura and spaCy in parallel (the GIL), so the ingest flow sends each
batch to a pool of processes sized to the machine. Workers are started with ``spawn`` (the flow
process runs Prefect's threads, which must not be forked) and load the model once, before the
first batch arrives.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from newsflow.settings import Settings
from transforms import spool
from transforms.batch import TransformResult, transform_pages
from transforms.enrich import gazetteer, load_model
from transforms.models import Page
from transforms.quotes import ParserUnavailable, load_parser
from transforms.spool import SpooledPages


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _warm_up(model_name: str) -> None:
    load_model(model_name)
    gazetteer()
    # The parser for quote attribution; a model without one still serves NER (the batch
    # says so when it runs).
    with contextlib.suppress(ParserUnavailable, OSError):
        load_parser(model_name)
    # The models' ~200,000 Python objects live as long as the worker: out of the collector's
    # generations, they are not walked again by every full collection (GC time per article
    # 1.3 -> 0.8 ms on the benchmark's pages).
    gc.collect()
    gc.freeze()


@contextmanager
def cpu_pool(workers: int, model_name: str) -> Iterator[Executor]:
    """A process pool whose workers have the model loaded."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_warm_up,
        initargs=(model_name,),
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _transform_batch(batch: list[Page] | SpooledPages, **options) -> TransformResult:
    # Module-level, so that a spawned worker can unpickle it; reads a spooled batch there.
    return transform_pages(spool.read(batch), **options)


def run_transform(
    pages: list[Page] | SpooledPages, settings: Settings, run_id: str, pool: Executor | None
) -> TransformResult:
    """Clean and enrich a batch (pages, or a spool file of them), in a worker process when
    there is a pool."""
    work = functools.partial(
        _transform_batch,
        pages,
        model_name=settings.spacy_model,
        min_body_chars=settings.min_body_chars,
        run_id=run_id,
    )
    return pool.submit(work).result() if pool is not None else work()
