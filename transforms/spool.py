"""Fetched pages parked in a file between the fetch and transform stages.

The flow process fetches; worker processes clean and enrich. Handing the workers the pages
themselves would keep every batch in flight (HTML averages ~175 KB a page) alive in the flow
process and pickled once more on its way to a worker; with a file per batch the flow process
holds a path and a digest, and only the batch being fetched is ever in its memory.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from transforms.models import Page


@dataclass(frozen=True)
class SpooledPages:
    """A batch of pages in a spool file: where, how many, and a digest of their URLs and HTML."""

    path: str
    count: int
    digest: str


def pages_digest(pages: Sequence[Page]) -> str:
    """SHA-256 over each page's URL, final URL and HTML: equal for the same pages, in order."""
    digest = hashlib.sha256()
    for page in pages:
        digest.update(page.url.encode() + b"\0" + page.final_url.encode() + b"\0")
        digest.update(hashlib.sha256(page.html.encode("utf-8", "surrogatepass")).digest())
    return digest.hexdigest()


def spool(pages: Sequence[Page], directory: str | Path) -> SpooledPages:
    """Write ``pages`` to a new file in ``directory``; ``OSError`` when it cannot be written."""
    fd, path = tempfile.mkstemp(prefix="batch-", suffix=".pages", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            # Pickle: the file is written and read by this same run's code, never shared.
            pickle.dump(list(pages), out, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise
    return SpooledPages(path, len(pages), pages_digest(pages))


def read(batch: SpooledPages | Sequence[Page]) -> list[Page]:
    """The pages of a batch, from its spool file or as given."""
    if not isinstance(batch, SpooledPages):
        return list(batch)
    with open(batch.path, "rb") as source:
        return pickle.load(source)


def discard(batch: SpooledPages | Sequence[Page]) -> None:
    """Remove a batch's spool file (nothing to do for pages held in memory)."""
    if isinstance(batch, SpooledPages):
        Path(batch.path).unlink(missing_ok=True)


def count(batch: SpooledPages | Sequence[Page]) -> int:
    return batch.count if isinstance(batch, SpooledPages) else len(batch)


def digest(batch: SpooledPages | Sequence[Page]) -> str:
    return batch.digest if isinstance(batch, SpooledPages) else pages_digest(batch)


def remove_stale(parent: str | Path, older_than: float) -> list[Path]:
    """Remove the spool directories under ``parent`` unchanged for ``older_than`` seconds (a
    killed run cannot remove its own); returns those removed."""
    cutoff = time.time() - older_than
    removed = []
    for entry in Path(parent).iterdir():
        if entry.is_dir() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
