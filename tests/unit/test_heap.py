"""The flow process hands freed heap back to the system between batches (glibc)."""

from __future__ import annotations

import os
import platform

import pytest

from flows.runners import release_free_memory

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


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
