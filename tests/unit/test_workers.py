"""The worker pool of the CPU stage: started at once, transform code only."""

from __future__ import annotations

import sys

from newsflow.flows.process_pool import cpu_pool
from newsflow.settings import Settings


def _loaded(names: tuple[str, ...]) -> dict[str, bool]:
    return {name: name in sys.modules for name in names}


def test_every_worker_starts_loading_before_the_first_batch_and_imports_no_client():
    import multiprocessing

    with cpu_pool(2, Settings().spacy_model) as pool:
        # Before anything is submitted: both workers already exist (loading the model).
        assert len(multiprocessing.active_children()) >= 2
        loaded = pool.submit(_loaded, ("spacy", "prefect", "elasticsearch")).result()
    # The worker has the model's library, and neither the orchestrator nor the cluster client:
    # each costs seconds of CPU at every worker's start.
    assert loaded == {"spacy": True, "prefect": False, "elasticsearch": False}
