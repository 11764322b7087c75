"""WARC files (e.g. Common Crawl's CC-NEWS) read as a stream: HTML responses become pages.

No network access: a ``response`` record with an HTML content type and a 2xx status is a
``Page`` with the record's target URI as its URL and ``WARC-Date`` as ``fetched_at``. Other
responses (PDF, images, redirects) are skipped with a reason; a malformed or truncated record
ends the file with a recorded failure, and the pages read before it are kept.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from newsflow.transforms.fetch.download import HTML_CONTENT_TYPES, decode_html
from newsflow.transforms.models import Failure, Page

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

WARC_MAGIC = b"WARC/1."
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class WarcRead:
    pages: list[Page] = field(default_factory=list)
    skipped: list[Failure] = field(default_factory=list)  # records that are not HTML pages
    failures: list[Failure] = field(default_factory=list)  # malformed records, a cut-off file
    records: int = 0  # records read, of any type
    truncated: int = 0  # HTML pages beyond max_pages, not kept


def _warc_date(value: str | None) -> datetime:
    if value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


class _Stream(io.RawIOBase):
    """Replays the sniffed first bytes, then the stream; counts what warcio consumed."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest, self.consumed = head, rest, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer)
        if self.head:
            data, self.head = self.head[: len(view)], self.head[len(view) :]
        else:
            data = self.rest.read(len(view))
        view[: len(data)] = data
        self.consumed += len(data)
        return len(data)


def _looks_like_archive(head: bytes) -> bool:
    # warcio reads almost any text as an ARC file; only accept what starts like one.
    return head.startswith((WARC_MAGIC, GZIP_MAGIC, b"filedesc://"))


def _check_tail(archive: ArchiveIterator, stream: _Stream, source: str, out: WarcRead) -> None:
    """warcio ends quietly on a record cut off in its headers: bytes after the last complete
    record mean the file was truncated."""
    if stream.consumed > archive.offset:
        out.failures.append(
            Failure(
                source,
                "discover",
                f"WARC truncated after {out.records} records "
                f"({stream.consumed - archive.offset} bytes of an incomplete record)",
            )
        )


def read_warc(
    stream: BinaryIO, source: str, max_pages: int | None = None, max_bytes: int = 5_000_000
) -> WarcRead:
    """HTML pages of a WARC/ARC stream (gzipped or not), in file order."""
    out = WarcRead()
    head = stream.read(16)
    if not _looks_like_archive(head):
        out.failures.append(Failure(source, "discover", "not a WARC or ARC file"))
        return out
    replay = _Stream(head, stream)
    archive = ArchiveIterator(replay, arc2warc=True)  # old ARC files read the same way
    records = iter(archive)
    while True:
        try:
            record = next(records)
        except StopIteration:
            _check_tail(archive, replay, source, out)
            break
        # AttributeError: warcio trips over a header block cut off mid-line.
        except (
            ArchiveLoadFailed,
            EOFError,
            OSError,
            zlib.error,
            ValueError,
            AttributeError,
        ) as exc:
            out.failures.append(
                Failure(
                    source,
                    "discover",
                    f"WARC malformed or truncated after {out.records} records: {exc}",
                )
            )
            break
        out.records += 1
        if record.rec_type is None or record.rec_headers.get_header("Content-Length") is None:
            # warcio yields a record whose header block was cut off, with what it could read.
            out.failures.append(
                Failure(source, "discover", f"WARC truncated: record {out.records} incomplete")
            )
            break
        if record.rec_type != "response":
            continue  # warcinfo, request, metadata: nothing to index
        uri = record.rec_headers.get_header("WARC-Target-URI") or ""
        where = uri or f"{source}#record{out.records}"
        if record.http_headers is None:
            out.skipped.append(Failure(where, "discover", "WARC response without HTTP headers"))
            continue
        content_type = record.http_headers.get_header("Content-Type")
        mime = (content_type or "").split(";")[0].strip().lower()
        if mime not in HTML_CONTENT_TYPES:
            out.skipped.append(Failure(where, "discover", f"WARC record not HTML: {mime or '?'}"))
            continue
        status = int(record.http_headers.get_statuscode() or 0)
        if not 200 <= status < 300:
            out.skipped.append(Failure(where, "discover", f"WARC response status {status}"))
            continue
        if not uri.startswith(("http://", "https://")):
            out.failures.append(Failure(where, "discover", "WARC record without a target URI"))
            continue
        if max_pages is not None and len(out.pages) >= max_pages:
            out.truncated += 1
            continue
        try:
            body = record.content_stream().read(max_bytes + 1)
        except (EOFError, OSError, zlib.error, ValueError) as exc:
            out.failures.append(Failure(uri, "discover", f"WARC record unreadable: {exc}"))
            break
        if len(body) > max_bytes:
            out.skipped.append(Failure(uri, "discover", f"WARC record larger than {max_bytes}"))
            continue
        if record.raw_stream.limit > 0:  # the file ended before the record's Content-Length
            out.failures.append(Failure(uri, "discover", "WARC record truncated"))
            continue
        html, encoding = decode_html(body, content_type)
        out.pages.append(
            Page(
                url=uri,
                final_url=uri,
                html=html,
                encoding=encoding,
                fetched_at=_warc_date(record.rec_headers.get_header("WARC-Date")),
                status=status,
            )
        )
    return out
