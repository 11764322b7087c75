"""Fetched batches parked in spool files between the fetch and transform stages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from newsflow.flows.runners import transform_cache_key
from newsflow.settings import Settings
from newsflow.transforms.batch import spool
from newsflow.transforms.models import Page


def _pages(n: int = 3) -> list[Page]:
    return [
        Page(
            url=f"http://example.test/{i}",
            final_url=f"http://example.test/{i}?x",
            html=f"<html><body><p>Page {i} caf\u00e9 \ud800</p></body></html>",
            encoding="utf-8",
            fetched_at=datetime(2026, 11, 26, tzinfo=UTC),
        )
        for i in range(n)
    ]


def test_a_spooled_batch_reads_back_the_same_pages(tmp_path):
    pages = _pages()
    batch = spool.spool(pages, tmp_path)
    assert batch.count == 3
    assert spool.read(batch) == pages
    spool.discard(batch)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError):
        spool.read(batch)


def test_spooled_and_in_memory_batches_share_one_cache_key(tmp_path):
    pages = _pages()
    settings = Settings()
    key = transform_cache_key(None, {"pages": pages, "settings": settings})
    spooled = transform_cache_key(
        None, {"pages": spool.spool(pages, tmp_path), "settings": settings}
    )
    assert key == spooled
    changed = [replace(pages[0], html=pages[0].html + " "), *pages[1:]]
    assert transform_cache_key(None, {"pages": changed, "settings": settings}) != key


def test_an_unwritable_spool_leaves_no_file_behind(tmp_path):
    class Unpicklable:
        def __reduce__(self):
            raise TypeError("not picklable")

    with pytest.raises(TypeError):
        spool.spool([Unpicklable()], tmp_path)  # type: ignore[list-item]
    assert list(tmp_path.iterdir()) == []


def test_only_spools_left_long_ago_are_removed(tmp_path):
    import os
    import time

    old, live = tmp_path / "ingest-old", tmp_path / "ingest-live"
    for d in (old, live):
        d.mkdir()
        spool.spool(_pages(1), d)
    hours_ago = time.time() - 7 * 3600
    os.utime(old, (hours_ago, hours_ago))
    assert spool.remove_stale(tmp_path, 6 * 3600) == [old]
    assert not old.exists() and len(list(live.iterdir())) == 1


def test_pages_written_in_any_order_read_back_in_index_order(tmp_path):
    pages = _pages(4)
    with spool.SpoolWriter(tmp_path) as writer:
        for index in (2, 0, 3, 1):  # the order in which downloads ended
            writer.add(index, pages[index])
        batch = writer.close()
    assert spool.read(batch) == pages
    assert batch.count == 4
    # The transform cache key does not depend on the arrival order either.
    assert batch.digest == spool.pages_digest(pages) == spool.spool(pages, tmp_path).digest
    assert batch.digest != spool.pages_digest(pages[::-1])


def test_a_writer_interrupted_by_an_error_removes_its_file(tmp_path):
    with pytest.raises(RuntimeError), spool.SpoolWriter(tmp_path) as writer:
        writer.add(0, _pages(1)[0])
        raise RuntimeError("fetch task cancelled")
    assert list(tmp_path.iterdir()) == []


def test_a_batch_split_into_parts_reads_back_whole_and_in_order(tmp_path):
    pages = _pages(7)
    # Written as downloads end, with their places in the batch of URLs (failed ones missing).
    with spool.SpoolWriter(tmp_path) as writer:
        for index, page in sorted(zip((1, 3, 4, 8, 9, 11, 12), pages, strict=True), reverse=True):
            writer.add(index, page)
        batch = writer.close()
    parts = spool.split(batch, 3)
    assert [p.count for p in parts] == [2, 2, 3]
    assert [page for part in parts for page in spool.read(part)] == pages
    # Pages held in memory are cut the same way; never more parts than pages.
    assert spool.split(pages, 3) == [pages[:2], pages[2:4], pages[4:]]
    assert [spool.read(p) for p in spool.split(batch, 9)] == [[page] for page in pages]
    assert spool.split(batch, 1) == [replace(batch, positions=range(7))]
