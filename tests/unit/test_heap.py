"""The flow process frees what a batch leaves (reference cycles, freed heap) between batches."""

from __future__ import annotations

import gc
import os
import platform
import weakref

import pytest

from newsflow.flows.runners import release_batch_memory, release_free_memory, young_heap_only

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@glibc_only
def test_freed_heap_inside_the_arena_is_returned_to_the_system():
    # 80 MB of malloc'd blocks (above pymalloc's 512 bytes, below the mmap threshold), freed
    # while a later block keeps the heap's top in use: glibc keeps those pages until trimmed.
    blocks = [bytes(4000) for _ in range(20_000)]
    pinned = bytes(4000)
    del blocks
    before = _resident_bytes()
    release_free_memory()
    assert before - _resident_bytes() > 40 * 2**20
    assert len(pinned) == 4000


class _Node:
    def __init__(self) -> None:
        self.payload = bytearray(1 << 20)
        self.me = self  # a reference cycle: only the collector frees it


def test_a_batch_in_a_reference_cycle_is_freed_after_its_load_during_a_run():
    gc.disable()  # no automatic collection may do the work in this test's stead
    try:
        with young_heap_only():
            assert gc.get_freeze_count() > 0  # what existed before the run is not walked again
            node = _Node()
            alive = weakref.ref(node)
            del node
            assert alive() is not None
            release_batch_memory()
            assert alive() is None
        assert gc.get_freeze_count() == 0
    finally:
        gc.enable()
