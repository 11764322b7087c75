"""The worker pool of the CPU stage: started at once, transform code only."""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import Executor
from datetime import UTC, datetime

from newsflow.cli import DEMO_CORPUS
from newsflow.flows.process_pool import cpu_pool, run_transform
from newsflow.settings import Settings
from newsflow.transforms.batch import spool
from newsflow.transforms.models import Page


def _loaded(names: tuple[str, ...]) -> dict[str, bool]:
    return {name: name in sys.modules for name in names}


def test_every_worker_starts_loading_before_the_first_batch_and_imports_no_client():
    with cpu_pool(2, Settings().spacy_model) as pool:
        # Before anything is submitted: both workers already exist (loading the model).
        assert len(multiprocessing.active_children()) >= 2
        loaded = pool.submit(_loaded, ("spacy", "prefect", "elasticsearch")).result()
    # The worker has the model's library, and neither the orchestrator nor the cluster client:
    # each costs seconds of CPU at every worker's start.
    assert loaded == {"spacy": True, "prefect": False, "elasticsearch": False}


def _worker_pids() -> set[int]:
    return {p.pid for p in multiprocessing.active_children() if "SpawnProcess" in p.name}


def test_a_worker_started_ahead_serves_a_one_batch_run_and_is_ended_when_not_taken(tmp_path):
    """`newsflow run` starts a worker before it imports Prefect; the flow's CPU stage takes it
    over even for one batch; a command that ends before its flow does ends it, unwaited."""
    from newsflow.flows import process_pool
    from newsflow.flows.runners import cpu_stage

    settings = Settings(cache_dir=tmp_path, cpu_workers=2)
    with process_pool.start_workers(settings):
        assert process_pool.started_pool(settings.spacy_model, settings.cache_dir)
        with cpu_stage(settings, batches=1) as stage:
            assert stage.pool is not None and stage.workers == 1
            early = _worker_pids()
            assert len(early) == 1
            # The batch waits for the worker loading the model, rather than starting another
            # (the pool may run 2: started for every core, taken by a run of one batch).
            assert stage.pool.submit(os.getpid).result() in early
            assert _worker_pids() == early
        assert not process_pool.started_pool(settings.spacy_model, settings.cache_dir)
    # Not taken: the worker is ended at once, while it still loads the model.
    before = set(multiprocessing.active_children())
    with process_pool.start_workers(settings):
        ahead = [p for p in multiprocessing.active_children() if p not in before]
        assert len(ahead) == 1 and ahead[0].is_alive()
    assert not process_pool.started_pool(settings.spacy_model, settings.cache_dir)
    # That worker, not any process another test left behind, is gone.
    assert not ahead[0].is_alive() and ahead[0].exitcode is not None
    # Without a worker started ahead, one batch stays in the flow's process.
    with cpu_stage(settings, batches=1) as stage:
        assert stage.pool is None


class _Counting(Executor):
    """A pool that counts the tasks it is handed."""

    def __init__(self, pool: Executor) -> None:
        self.pool, self.submitted = pool, 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.submitted += 1
        return self.pool.submit(fn, *args, **kwargs)


def test_the_workers_share_a_batch_and_make_the_documents_one_process_makes(tmp_path):
    """A run's last batch (or its only one) is cut into a part per worker, so no core idles
    while one worker finishes it; the parts give the documents the whole batch gives."""
    settings = Settings()
    fetched = datetime(2026, 11, 26, tzinfo=UTC)
    pages = [
        Page(
            f"https://ledger.example/{p.name}",
            f"https://ledger.example/{p.name}",
            p.read_text(encoding="utf-8"),
            "utf-8",
            fetched,
        )
        for p in sorted((DEMO_CORPUS / "daily-ledger").glob("*.html"))
    ]
    batch = spool.spool(pages, tmp_path)
    alone = run_transform(batch, settings, "run-1", None)
    with cpu_pool(2, settings.spacy_model) as pool:
        counting = _Counting(pool)
        shared = run_transform(batch, settings, "run-1", counting, parts=2)
    assert counting.submitted == 2

    def without_time(result):
        return [{k: v for k, v in d.items() if k != "indexed_at"} for d in result.documents]

    assert len(alone.documents) == len(pages)
    assert without_time(shared) == without_time(alone)
    assert shared.cleaned == alone.cleaned and set(shared.times) == set(alone.times)
