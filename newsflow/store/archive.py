"""Raw page archive: every fetched page kept, compressed and content-addressed, on any fsspec URL.

Layout under the root (a local directory, ``memory://`` in tests, ``s3://bucket/prefix``...)::

    <root>/blobs/<ab>/<cd>/<sha256>.html.gz   the page, gzip
    <root>/index/<xy>/<sha1(url)>.json        fetch metadata of the URL: latest fetch + history

What is stored is the page *as the clean step sees it*: the HTML text after decoding, encoded
as UTF-8, with the charset it was decoded from in the metadata. Re-processing therefore gives
exactly what the pipeline saw, without repeating charset detection. The SHA-256 of those bytes
names the blob, so identical pages (re-fetches, mirrors) are stored once. The index record of a
URL points at the blob of its latest fetch and keeps a short history of earlier contents.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import fsspec
from fsspec.implementations.local import LocalFileSystem

from newsflow.transforms.models import Failure, Page

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
HISTORY_LIMIT = 20
# Response headers worth keeping for a later re-process or audit; cookies and the like are not.
KEPT_HEADERS = (
    "content-type",
    "content-language",
    "last-modified",
    "etag",
    "date",
    "link",
    "x-robots-tag",
)
# Level 6 costs ~2x the CPU of level 1 for ~15% smaller HTML; archive writes sit in the fetch
# threads, so a middle level keeps them cheap.
GZIP_LEVEL = 5


class ArchiveError(Exception):
    """The archive could not be read or written; the message names the URL or path."""


@dataclass(frozen=True)
class ArchiveRecord:
    """Fetch metadata of one archived page and the hash of its stored bytes."""

    url: str
    final_url: str
    status: int
    fetched_at: datetime
    encoding: str
    sha256: str
    size: int  # bytes of the stored UTF-8 text before compression
    headers: dict[str, str] = field(default_factory=dict)
    archived_at: datetime | None = None

    @property
    def host(self) -> str:
        return (urlsplit(self.final_url or self.url).hostname or "").lower()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fetched_at"] = self.fetched_at.isoformat()
        data["archived_at"] = self.archived_at.isoformat() if self.archived_at else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArchiveRecord:
        archived = data.get("archived_at")
        return cls(
            url=data["url"],
            final_url=data.get("final_url") or data["url"],
            status=int(data.get("status", 200)),
            fetched_at=_aware(datetime.fromisoformat(data["fetched_at"])),
            encoding=data.get("encoding") or "utf-8",
            sha256=data["sha256"],
            size=int(data.get("size", 0)),
            headers=dict(data.get("headers") or {}),
            archived_at=_aware(datetime.fromisoformat(archived)) if archived else None,
        )


@dataclass
class ArchiveResult:
    """What ``archive_pages`` did: pages written, pages whose bytes were already stored, and
    the pages that could not be archived (they are still processed, but cannot be re-run)."""

    written: int = 0
    deduplicated: int = 0
    failures: list[Failure] = field(default_factory=list)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _kept_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    if not headers:
        return {}
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    return {k: lowered[k][:2048] for k in KEPT_HEADERS if k in lowered}


class Archive:
    """A page archive rooted at an fsspec URL or local path."""

    def __init__(self, root: str | Path, **storage_options: Any) -> None:
        self.url = str(root)
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **storage_options)
        self.root = self.root.rstrip("/")
        # Local files get written to a temporary name and renamed, so a crash never leaves a
        # truncated blob that later looks complete; object stores write whole objects anyway.
        self._local = isinstance(self.fs, LocalFileSystem)

    # --- paths ---------------------------------------------------------------------------
    def blob_path(self, sha256: str) -> str:
        return f"{self.root}/blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}.html.gz"

    def index_path(self, url: str) -> str:
        key = hashlib.sha1(url.encode("utf-8")).hexdigest()
        return f"{self.root}/index/{key[:2]}/{key}.json"

    def _write(self, path: str, data: bytes) -> None:
        if not self._local:
            self.fs.pipe_file(path, data)
            return
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
        self.fs.pipe_file(tmp, data)
        self.fs.mv(tmp, path)

    # --- writing -------------------------------------------------------------------------
    def put(
        self, page: Page, headers: Mapping[str, str] | None = None
    ) -> tuple[ArchiveRecord, bool]:
        """Store a page and its fetch metadata; returns the record and whether the bytes were
        new (False: an identical page was already stored, only the metadata is updated)."""
        data = page.html.encode("utf-8")
        sha = hashlib.sha256(data).hexdigest()
        blob = self.blob_path(sha)
        try:
            new = not self.fs.exists(blob)
            if new:
                # mtime=0: the same page always compresses to the same bytes.
                self._write(blob, gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))
            record = ArchiveRecord(
                url=page.url,
                final_url=page.final_url,
                status=page.status,
                fetched_at=_aware(page.fetched_at),
                encoding=page.encoding,
                sha256=sha,
                size=len(data),
                headers=_kept_headers(headers if headers is not None else _page_headers(page)),
                archived_at=datetime.now(UTC),
            )
            self._update_index(record)
        except OSError as exc:
            raise ArchiveError(f"cannot archive {page.url} under {self.url}: {exc}") from exc
        return record, new

    def _update_index(self, record: ArchiveRecord) -> None:
        path = self.index_path(record.url)
        entry = self._read_index(path) or {"format": FORMAT_VERSION, "url": record.url}
        previous = entry.get("latest")
        history: list[dict[str, Any]] = entry.get("history", [])
        # History holds earlier *contents*; a re-fetch of the same bytes only moves "latest".
        if previous and previous["sha256"] != record.sha256:
            history = [previous, *history][:HISTORY_LIMIT]
        entry.update(latest=record.as_dict(), history=history)
        self._write(path, json.dumps(entry, ensure_ascii=False).encode("utf-8"))

    def _read_index(self, path: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.fs.cat_file(path))
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise ArchiveError(f"archive index {path} is not valid JSON: {exc}") from exc

    def archive_pages(self, pages: Iterable[Page]) -> ArchiveResult:
        """Archive each page; one page that cannot be stored never stops the others."""
        result = ArchiveResult()
        for page in pages:
            try:
                _, new = self.put(page)
            except ArchiveError as exc:
                result.failures.append(Failure(page.url, "archive", f"archive write failed: {exc}"))
                continue
            if new:
                result.written += 1
            else:
                result.deduplicated += 1
        return result

    # --- reading -------------------------------------------------------------------------
    def get(self, url: str) -> ArchiveRecord | None:
        """The latest fetch of a URL, or None when it was never archived."""
        entry = self._read_index(self.index_path(url))
        return ArchiveRecord.from_dict(entry["latest"]) if entry else None

    def history(self, url: str) -> list[ArchiveRecord]:
        """Every archived content of a URL, latest first."""
        entry = self._read_index(self.index_path(url))
        if not entry:
            return []
        return [ArchiveRecord.from_dict(d) for d in [entry["latest"], *entry.get("history", [])]]

    def read_html(self, record: ArchiveRecord) -> str:
        path = self.blob_path(record.sha256)
        try:
            data = gzip.decompress(self.fs.cat_file(path))
        except FileNotFoundError as exc:
            raise ArchiveError(f"blob {record.sha256} of {record.url} is missing") from exc
        except (OSError, EOFError) as exc:
            raise ArchiveError(f"blob {record.sha256} of {record.url} is corrupt: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != record.sha256:
            raise ArchiveError(f"blob {record.sha256} of {record.url} fails its hash check")
        return data.decode("utf-8")

    def load_page(self, record: ArchiveRecord) -> Page:
        """The page as the fetch step produced it."""
        return Page(
            url=record.url,
            final_url=record.final_url,
            html=self.read_html(record),
            encoding=record.encoding,
            fetched_at=record.fetched_at,
            status=record.status,
        )

    def records(
        self,
        *,
        since: datetime | date | None = None,
        source: str | None = None,
        limit: int | None = None,
    ) -> list[ArchiveRecord]:
        """Latest fetch of every archived URL, newest first, optionally fetched on or after
        ``since`` and from host ``source`` (``www.`` ignored on both sides)."""
        paths = [p for p in self.fs.find(f"{self.root}/index") if p.endswith(".json")]
        if not paths:
            return []
        found: list[ArchiveRecord] = []
        want_host = _bare_host(source) if source else None
        threshold = _as_datetime(since) if since else None
        # cat() reads many small objects concurrently on object stores.
        for path, raw in self.fs.cat(sorted(paths)).items():
            try:
                record = ArchiveRecord.from_dict(json.loads(raw)["latest"])
            except (json.JSONDecodeError, KeyError, ValueError) as exc:
                raise ArchiveError(f"archive index {path} is unreadable: {exc}") from exc
            if threshold and record.fetched_at < threshold:
                continue
            if want_host and _bare_host(record.host) != want_host:
                continue
            found.append(record)
        found.sort(key=lambda r: (r.fetched_at, r.url), reverse=True)
        return found[:limit] if limit is not None else found

    def iter_pages(self, records: Iterable[ArchiveRecord]) -> Iterator[Page | Failure]:
        """Pages of records; a missing or corrupt blob becomes a failure of that URL."""
        for record in records:
            try:
                yield self.load_page(record)
            except ArchiveError as exc:
                yield Failure(record.url, "fetch", f"archive read failed: {exc}")


def _page_headers(page: Page) -> Mapping[str, str] | None:
    # The fetch step may hand over response headers on the page; older pages have none.
    return getattr(page, "headers", None)


def _bare_host(host: str) -> str:
    host = host.lower().strip()
    if "://" in host:
        host = urlsplit(host).hostname or ""
    return host.removeprefix("www.")


def _as_datetime(moment: datetime | date) -> datetime:
    if isinstance(moment, datetime):
        return _aware(moment)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
