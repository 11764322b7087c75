"""How a run's items are cut into batches for the CPU stage."""

from __future__ import annotations

import pytest

from newsflow.flows.pipeline import batches


def sizes(n: int, size: int, parallel: int = 1) -> list[int]:
    return [len(b.items) for b in batches("web", list(range(n)), size, parallel)]


@pytest.mark.parametrize(
    ("n", "size", "parallel", "expected"),
    [
        (0, 100, 2, []),
        (1, 100, 2, [1]),
        (100, 100, 2, [100]),  # one batch stays one
        (250, 100, 1, [84, 83, 83]),  # evenly, by size alone
        (500, 100, 2, [84, 84, 83, 83, 83, 83]),  # five rounded up to six, even
        (2000, 100, 2, [100] * 20),  # a multiple of the workers already
        (101, 100, 2, [51, 50]),
        (3, 1, 2, [1, 1, 1]),  # never an empty batch
        (7, 2, 4, [2, 2, 2, 1]),
    ],
)
def test_batch_sizes(n: int, size: int, parallel: int, expected: list[int]) -> None:
    assert sizes(n, size, parallel) == expected


def test_batches_keep_every_item_once_in_order() -> None:
    items = [f"u{i}" for i in range(537)]
    cut = batches("warc", items, 100, 2)
    assert [x for b in cut for x in b.items] == items
    assert {b.origin for b in cut} == {"warc"}
    assert max(len(b.items) for b in cut) <= 100
