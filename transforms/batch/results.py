"""What a transform batch gives back, and the stage times in it: plain data, kept apart from the
clean and enrich code so that the flow process, which only collects results (the workers
transform), imports none of that code."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from newsflow.transforms.models import Failure


@dataclass
class StageTime:
    """Seconds a stage spent, on the CPU (of its thread or process) and on the wall clock."""

    cpu: float = 0.0
    wall: float = 0.0

    def add(self, other: StageTime) -> None:
        self.cpu += other.cpu
        self.wall += other.wall


class Timer:
    """Laps of thread CPU time and wall time."""

    def __init__(self) -> None:
        self.cpu, self.wall = time.thread_time(), time.perf_counter()

    def lap(self) -> StageTime:
        cpu, wall = time.thread_time(), time.perf_counter()
        spent = StageTime(cpu - self.cpu, wall - self.wall)
        self.cpu, self.wall = cpu, wall
        return spent


@dataclass
class TransformResult:
    documents: list[dict] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    cleaned: int = 0
    times: dict[str, StageTime] = field(default_factory=dict)
    # Pages that are not articles (index pages, live blogs...): counted as skipped, not failed.
    skips: list[Failure] = field(default_factory=list)


def merge_results(parts: Sequence[TransformResult]) -> TransformResult:
    """One batch's result from the results of its parts (``spool.split``), in their order."""
    merged = TransformResult()
    for part in parts:
        merged.documents += part.documents
        merged.failures += part.failures
        merged.skips += part.skips
        merged.cleaned += part.cleaned
        for stage, spent in part.times.items():
            merged.times.setdefault(stage, StageTime()).add(spent)
    return merged
