"""Worker processes for the CPU-bound stages (clean and NER), one spaCy model per process.

Threads cannot run trafilatura and spaCy in parallel (the GIL), so the ingest flow sends each
batch to a pool of processes sized to the machine. Workers are started with ``spawn`` (the flow
process runs Prefect's threads, which must not be forked) and load the model once, before the
first batch arrives.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from transforms.enrich import gazetteer, load_model
from transforms.quotes import ParserUnavailable, load_parser


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _warm_up(model_name: str) -> None:
    load_model(model_name)
    gazetteer()
    # The parser for quote attribution; a model without one still serves NER (the batch
    # says so when it runs).
    with contextlib.suppress(ParserUnavailable, OSError):
        load_parser(model_name)


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
