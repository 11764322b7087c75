"""Fetched pages parked in a file between the fetch and transform stages.

The flow process fetches; worker processes clean and enrich. Handing the workers the pages
themselves would keep every batch in flight (HTML averages ~175 KB a page) alive in the flow
process and pickled once more on its way to a worker; with a file per batch the flow process
holds a path and a digest. A ``SpoolWriter`` takes each page as its download ends, so the flow
process holds only the pages still downloading, never a whole batch.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

from newsflow.transforms.models import Article, Page

if TYPE_CHECKING:
    from typing_extensions import TypeIs


@dataclass(frozen=True)
class SpooledPages:
    """A batch of pages in a spool file: where, how many, and a digest of their URLs and HTML;
    ``positions``: only the pages at those positions in reading order (a part, ``split``)."""

    path: str
    count: int
    digest: str
    positions: range | None = None


def _page_part(page: Page) -> bytes:
    return (
        page.url.encode()
        + b"\0"
        + page.final_url.encode()
        + b"\0"
        + hashlib.sha256(page.html.encode("utf-8", "surrogatepass")).digest()
    )


def _combine(parts: Sequence[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def pages_digest(pages: Sequence[Page]) -> str:
    """SHA-256 over each page's URL, final URL and HTML: equal for the same pages, in order."""
    return _combine([_page_part(page) for page in pages])


class SpoolWriter:
    """A new spool file in ``directory``, written one page at a time in any order.

    Each page comes with its index in the batch; the file reads back in index order and its
    digest is that of the pages in that order, so neither depends on which download ended
    first. Used as a context manager, the file is removed if the block raises."""

    def __init__(self, directory: str | Path) -> None:
        fd, self.path = tempfile.mkstemp(prefix="batch-", suffix=".pages", dir=directory)
        self._file = os.fdopen(fd, "wb")
        self._parts: dict[int, bytes] = {}

    @property
    def count(self) -> int:
        return len(self._parts)

    def add(self, index: int, page: Page) -> None:
        """Append ``page``; ``OSError`` when it cannot be written."""
        # Pickle: the file is written and read by this same run's code, never shared.
        pickle.dump((index, page), self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._parts[index] = _page_part(page)

    def close(self) -> SpooledPages:
        """Finish the file; the batch it now holds."""
        self._file.close()
        parts = [self._parts[i] for i in sorted(self._parts)]
        return SpooledPages(self.path, len(parts), _combine(parts))

    def abort(self) -> None:
        """Close and remove the file."""
        self._file.close()
        Path(self.path).unlink(missing_ok=True)

    def __enter__(self) -> SpoolWriter:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is not None:
            self.abort()


def spool(pages: Sequence[Page], directory: str | Path) -> SpooledPages:
    """Write ``pages`` to a new file in ``directory``; ``OSError`` when it cannot be written."""
    with SpoolWriter(directory) as writer:
        for index, page in enumerate(pages):
            writer.add(index, page)
        return writer.close()


def read(batch: SpooledPages | Sequence[Page]) -> list[Page]:
    """The pages of a batch, from its spool file (in index order) or as given."""
    if not isinstance(batch, SpooledPages):
        return list(batch)
    records: list[tuple[int, Page]] = []
    with open(batch.path, "rb") as source:
        while True:
            try:
                records.append(pickle.load(source))
            except EOFError:
                break
    records.sort(key=itemgetter(0))
    part = range(len(records)) if batch.positions is None else batch.positions
    return [page for _, page in records[part.start : part.stop]]


def split(
    batch: SpooledPages | Sequence[Page] | Sequence[Article], parts: int
) -> list[SpooledPages | Sequence[Page] | Sequence[Article]]:
    """A batch cut into at most ``parts`` contiguous parts of near-equal size, in order, so
    that several workers can share it (a spool file's parts name the pages each one reads)."""
    total = count(batch)
    parts = max(1, min(parts, total))
    bounds = [total * i // parts for i in range(parts + 1)]
    ranges = [range(start, stop) for start, stop in itertools.pairwise(bounds)]
    if isinstance(batch, SpooledPages):
        return [replace(batch, count=len(r), positions=r) for r in ranges]
    return [batch[r.start : r.stop] for r in ranges]


def discard(batch: SpooledPages | Sequence[Page]) -> None:
    """Remove a batch's spool file (nothing to do for pages held in memory)."""
    if isinstance(batch, SpooledPages):
        Path(batch.path).unlink(missing_ok=True)


def count(batch: SpooledPages | Sequence[Page] | Sequence[Article]) -> int:
    return batch.count if isinstance(batch, SpooledPages) else len(batch)


def holds_articles(
    batch: SpooledPages | Sequence[Page] | Sequence[Article],
) -> TypeIs[Sequence[Article]]:
    """Whether a batch is articles to re-enrich rather than pages (an empty one is pages)."""
    return not isinstance(batch, SpooledPages) and bool(batch) and isinstance(batch[0], Article)


def digest(batch: SpooledPages | Sequence[Page] | Sequence[Article]) -> str:
    """What a batch holds, for the transform cache key: the pages' URLs and HTML, or the
    articles' fields."""
    if isinstance(batch, SpooledPages):
        return batch.digest
    if holds_articles(batch):
        return _combine([repr(sorted(asdict(a).items())).encode() + b"\0" for a in batch])
    return pages_digest(batch)


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
