"""The CPU stage's side of a Dask cluster on other machines: the workers are sent the pages of
a batch (they cannot read this machine's spool files), and the workers lost during a run are
read from the scheduler's ``remove-worker`` events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from newsflow.flows.runners import LAST_BATCH_PARTS, CpuStage, WorkerLosses, worker_losses
from newsflow.settings import Settings
from newsflow.transforms.batch import spool
from newsflow.transforms.models import Page


def _pages(n: int = 3) -> list[Page]:
    t = datetime(2026, 11, 26, tzinfo=UTC)
    return [
        Page(f"http://example.test/{i}", f"http://example.test/{i}", f"<p>{i}</p>", "utf-8", t)
        for i in range(n)
    ]


class _RecordingTask:
    """Stands in for the transform task: keeps what it was submitted with."""

    def __init__(self) -> None:
        self.parameters: dict[str, Any] = {}

    def submit(self, **parameters: Any) -> None:
        self.parameters = parameters


def _submitted(stage: CpuStage, batch: Any) -> Any:
    task = _RecordingTask()
    stage.submit(task, batch, Settings(), "run-1")  # type: ignore[arg-type]
    return task.parameters["pages"]


def test_workers_on_other_machines_get_the_pages_not_this_machines_spool_file(tmp_path):
    pages = _pages()
    batch = spool.spool(pages, tmp_path)
    assert _submitted(CpuStage("dask", 2, pages_in_hand=True), batch) == pages
    # Workers on this machine read the file themselves; pages in memory are sent as they are.
    assert _submitted(CpuStage("workers", 1), batch) == batch
    assert _submitted(CpuStage("dask", 2, pages_in_hand=True), pages) == pages


def _removed(worker: str, processing: set[str], expected: bool = False) -> tuple[float, dict]:
    """A ``remove-worker`` event as distributed's scheduler logs it on topic ``all``."""
    return (
        1.0,
        {
            "action": "remove-worker",
            "processing-tasks": processing,
            "lost-computed-tasks": set(),
            "lost-scattered-tasks": set(),
            "stimulus_id": "handle-worker-cleanup-1",
            "expected": expected,
            "worker": worker,
        },
    )


def test_worker_losses_count_this_runs_batches_held_by_workers_that_left():
    ours = {"transform_task-a", "transform_task-b", "transform_task-c"}
    events = [
        (0.5, {"action": "add-worker", "worker": "tcp://10.0.0.1:4001"}),
        _removed("tcp://10.0.0.1:4001", {"transform_task-a", "transform_task-b"}),
        _removed("tcp://10.0.0.2:4002", {"other-run-task"}),  # another client's work
        _removed("tcp://10.0.0.3:4003", set()),  # idle when it left
        # The rescheduled batch lost a second worker: one more worker, not one more batch.
        _removed("tcp://10.0.0.4:4004", {"transform_task-b"}),
    ]
    assert worker_losses(events, ours) == WorkerLosses(
        ("tcp://10.0.0.1:4001", "tcp://10.0.0.4:4004"), 2
    )
    assert worker_losses(events[2:4], ours) == WorkerLosses()


def test_no_dask_no_losses():
    assert CpuStage("workers", 2).worker_losses() == WorkerLosses()
    assert CpuStage("dask", 2).worker_losses() == WorkerLosses()  # nothing submitted yet


def test_the_runs_last_batch_is_shared_in_smaller_parts():
    # The workers finish their last parts up to a part apart: smaller ones at the end bound
    # the time one core idles while the other ends the run.
    pool = object()  # any executor: only its presence matters here
    stage = CpuStage("workers", 2, pool=pool)
    task = _RecordingTask()
    stage.submit(task, _pages(), Settings(), "run-1")  # type: ignore[arg-type]
    assert task.parameters["parts"] == 2
    stage.submit(task, _pages(), Settings(), "run-1", last=True)  # type: ignore[arg-type]
    assert task.parameters["parts"] == 2 * LAST_BATCH_PARTS > 2
    # Without a pool the batch is transformed whole where the task runs.
    assert CpuStage("workers", 1).parts(last=True) == 1
