"""The worker pool of the CPU stage: started at once, transform code only."""

from __future__ import annotations

import multiprocessing
import os
import sys

from newsflow.flows.process_pool import cpu_pool
from newsflow.settings import Settings


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
