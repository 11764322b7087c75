"""Discover step: expand configured sources into the URLs to fetch (and pages already in hand).

A source is a feed (RSS/Atom), a sitemap (or sitemap index), a text file with one URL per line,
a directory of saved HTML files, a WARC file, or a single page URL. Sources come as strings
(``--source``; the kind is guessed from the extension, then by sniffing the first bytes) or from
a YAML sources file (a list of ``{name, url|path, kind?, ...settings}``, validated).

Feeds and sitemaps are downloaded through an injected fetcher (the fetch step's
``fetch_resources``: conditional requests, limits, guards) and parsed from bytes. Every URL is
canonicalised (``transforms/urls.py``) and deduplicated; URLs from feeds, sitemaps and WARC files
that are already indexed are skipped unless the source says they changed since. One broken
source never stops the others: its problems are ``Failure``s.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from newsflow.transforms.models import Failure, Page, SourceState, Validators
from newsflow.transforms.sources import feeds, sitemaps, warc
from newsflow.transforms.urls import InvalidURL, canonicalize

log = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm")
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
SOURCES_FILE_SUFFIXES = (".yaml", ".yml")
FEED_NAMES = ("feed", "rss", "atom", "feed.xml", "rss.xml", "atom.xml", "index.rss")
SNIFF_BYTES = 4096

Kind = Literal["feed", "sitemap", "urls", "directory", "warc", "page"]
# Kinds whose URLs are skipped when already indexed (unless the source says they changed):
# discovery sources list the same articles run after run. URL lists, directories and single
# pages are explicit requests and are fetched again (unchanged articles are not rewritten).
INCREMENTAL_KINDS = ("feed", "sitemap", "warc")


class Fetcher(Protocol):
    """The fetch step's resource API: ``newsflow.transforms.fetch.download.fetch_resources``."""

    def __call__(
        self, requests: list[tuple[str, Validators | None]], opts: Any
    ) -> tuple[list[Any], list[Failure]]: ...


class CrawlState(Protocol):
    """What discovery asks about earlier runs (``newsflow.store.state.EsCrawlState``)."""

    def validators(self, urls: list[str]) -> dict[str, Validators]: ...

    def indexed(self, urls: list[str]) -> dict[str, datetime]: ...


# --- The sources file -------------------------------------------------------------------


class SourceSpec(BaseModel):
    """One configured source and its own settings."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    url: str | None = None
    path: Path | None = None
    kind: Kind | None = Field(None, description="Guessed from the location when left out.")
    max_urls: int = Field(5000, ge=1, description="Most article URLs taken from this source.")
    sitemap_depth: int = Field(3, ge=0, description="Sitemap index levels followed.")
    max_sitemaps: int = Field(50, ge=1, description="Most sitemaps downloaded for this source.")
    skip_indexed: bool | None = Field(
        None, description="Skip URLs already indexed (default: yes for feeds, sitemaps, WARC)."
    )

    @model_validator(mode="after")
    def _one_location(self) -> SourceSpec:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of 'url' or 'path'")
        if self.url is not None and urlsplit(self.url).scheme not in ("http", "https"):
            raise ValueError(f"url must be http(s): {self.url!r} (use 'path' for local files)")
        if self.kind == "directory" and self.url is not None:
            raise ValueError("a directory source needs a 'path'")
        return self

    @property
    def location(self) -> str:
        return self.url if self.url is not None else str(self.path)

    @property
    def local_path(self) -> Path:
        """The path of a local source, ``~`` expanded; only for sources given by ``path``."""
        if self.path is None:
            raise ValueError(f"source {self.name!r} is a URL, not a local path")
        return self.path.expanduser()

    @property
    def incremental(self) -> bool:
        if self.skip_indexed is not None:
            return self.skip_indexed
        return self.kind in INCREMENTAL_KINDS


class _SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[SourceSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> _SourcesFile:
        names = [s.name for s in self.sources]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"source names must be unique; repeated: {', '.join(repeated)}")
        return self


class SourcesFileError(ValueError):
    """A sources file that cannot be read or does not validate; the message says where."""


def load_sources_file(path: Path, defaults: Mapping[str, Any] | None = None) -> list[SourceSpec]:
    """Read and validate a YAML sources file: a list of sources or ``{sources: [...]}``.

    Relative ``path`` entries are relative to the file; ``defaults`` fill per-source settings
    the file leaves out."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourcesFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise SourcesFileError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(data, list):
        data = {"sources": data}
    if not isinstance(data, dict):
        raise SourcesFileError(f"{path}: expected a list of sources or a 'sources:' list")
    if defaults and isinstance(data.get("sources"), list):
        data["sources"] = [
            {**defaults, **entry} if isinstance(entry, dict) else entry for entry in data["sources"]
        ]
    try:
        parsed = _SourcesFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SourcesFileError(f"{path}: invalid sources file: {problems}") from exc
    specs = []
    for spec in parsed.sources:
        if spec.path is not None and not spec.local_path.is_absolute():
            spec = spec.model_copy(update={"path": path.parent / spec.path})
        specs.append(spec if spec.kind else spec.model_copy(update={"kind": guess_kind(spec)}))
    return specs


# --- Kind guessing ------------------------------------------------------------------------


def sniff_kind(head: bytes) -> Kind | None:
    """The kind of a document from its first bytes (already inflated), or None."""
    if head.startswith(warc.WARC_MAGIC):
        return "warc"
    text = head[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<urlset" in text or b"<sitemapindex" in text:
        return "sitemap"
    if b"<rss" in text or b"<rdf:rdf" in text or b"<feed" in text:
        return "feed"
    if b"<html" in text or b"<!doctype html" in text:
        return "page"
    return None


def _sniff_bytes(body: bytes) -> Kind | None:
    if sitemaps.looks_gzipped(body):
        return sniff_kind(sitemaps.peek_gzip(body, SNIFF_BYTES))
    return sniff_kind(body[:SNIFF_BYTES])


def _url_kind(url: str) -> Kind | None:
    """Kind of an http(s) URL from its path; None when only its bytes can tell (.xml, .gz)."""
    path = urlsplit(url).path.lower()
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if path.endswith(WARC_SUFFIXES):
        return "warc"
    if path.endswith((".rss", ".atom", ".rdf")) or last in FEED_NAMES:
        return "feed"
    if "sitemap" in last and path.endswith((".xml", ".xml.gz")):
        return "sitemap"
    if path.endswith((".xml", ".gz")):
        return None
    return "page"


def _file_kind(path: Path) -> Kind | None:
    if path.is_dir():
        return "directory"
    name = path.name.lower()
    if name.endswith(WARC_SUFFIXES):
        return "warc"
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return None
    if sitemaps.looks_gzipped(head):
        with path.open("rb") as handle:
            head = sitemaps.peek_gzip(handle.read(1 << 20), SNIFF_BYTES)
    return sniff_kind(head) or "urls"


def guess_kind(spec: SourceSpec) -> Kind | None:
    """Kind of a source without a declared one: extension, then first bytes (local files)."""
    if spec.url is not None:
        return _url_kind(spec.url)
    return _file_kind(spec.local_path)


def specs_from_args(
    sources: Iterable[str], defaults: Mapping[str, Any] | None = None
) -> list[SourceSpec]:
    """Sources as given on the command line: YAML sources files are read (raising
    ``SourcesFileError``), anything else becomes one source named after its location."""
    defaults = dict(defaults or {})
    specs: list[SourceSpec] = []
    for raw in sources:
        text = raw.strip()
        try:
            scheme = urlsplit(text).scheme
        except ValueError:  # "http://[::1/x": no URL; looked up as a path, it is not found
            scheme = ""
        if scheme in ("http", "https"):
            spec = SourceSpec(name=text, url=text, **defaults)
        else:
            path = Path(unquote(urlsplit(text).path) if scheme == "file" else text).expanduser()
            if path.suffix.lower() in SOURCES_FILE_SUFFIXES and path.is_file():
                specs.extend(load_sources_file(path, defaults))
                continue
            spec = SourceSpec(name=text, path=path, **defaults)
        specs.append(spec.model_copy(update={"kind": guess_kind(spec)}))
    return specs


# --- Discovery ----------------------------------------------------------------------------


@dataclass
class SourceReport:
    """Per-source counts for the run summary."""

    name: str
    kind: str
    found: int = 0  # URLs (or WARC pages) the source listed, within its bounds
    new: int = 0  # left to fetch (or to transform, for WARC pages)
    already_indexed: int = 0
    duplicates: int = 0
    failed: int = 0
    not_modified: bool = False  # the feed/sitemap answered 304

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Discovered:
    urls: list[str] = field(default_factory=list)  # canonical, unique, to fetch
    pages: list[Page] = field(default_factory=list)  # in hand already (WARC records)
    failures: list[Failure] = field(default_factory=list)
    duplicates: list[Failure] = field(default_factory=list)
    already_indexed: list[Failure] = field(default_factory=list)
    sources: list[SourceReport] = field(default_factory=list)
    # Validators of the feeds and sitemaps read, to remember once the run is over.
    states: list[SourceState] = field(default_factory=list)
    # Which source (by name) listed each article URL of a feed or sitemap, so that the
    # validators of a source whose articles could not be fetched are not saved.
    origin: dict[str, str] = field(default_factory=dict)
    # What feeds and news sitemaps say about an article (title, published), kept as hints.
    hints: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def not_modified(self) -> list[str]:
        return [s.name for s in self.sources if s.not_modified]

    def states_to_save(self, failed_urls: Iterable[str]) -> list[SourceState]:
        """States of the sources whose articles were all fetched: a feed or sitemap (with every
        sitemap below it) whose article failed to download is read in full again next time,
        so that article is listed and retried."""
        blocked = {self.origin[u] for u in failed_urls if u in self.origin}
        return [s for s in self.states if s.source not in blocked]


@dataclass
class _Candidate:
    url: str
    changed_at: datetime | None = None
    origin: str | None = None
    hint: dict[str, Any] | None = None


@dataclass
class _Found:
    candidates: list[_Candidate] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skips: list[Failure] = field(default_factory=list)
    states: list[SourceState] = field(default_factory=list)
    not_modified: bool = False


class _Context:
    """Fetching for the sources of one discovery: the fetcher, its options, known validators."""

    def __init__(
        self, fetcher: Fetcher | None, opts: Any, state: CrawlState | None, warc_max_bytes: int
    ) -> None:
        self.fetcher, self.opts, self.state = fetcher, opts, state
        self.warc_max_bytes = warc_max_bytes
        self.resources: dict[str, Any] = {}  # prefetched roots, by requested URL
        self.errors: dict[str, Failure] = {}

    def fetch(self, urls: list[str], opts: Any = None) -> None:
        """Download ``urls`` (conditionally when validators are stored) into the cache."""
        urls = [u for u in dict.fromkeys(urls) if u not in self.resources and u not in self.errors]
        if not urls:
            return
        if self.fetcher is None:
            for url in urls:
                self.errors[url] = Failure(url, "discover", "no fetcher to download this source")
            return
        known = self.state.validators(urls) if self.state is not None else {}
        resources, failures = self.fetcher([(u, known.get(u)) for u in urls], opts or self.opts)
        for resource in resources:
            self.resources[resource.url] = resource
        for failure in failures:
            self.errors[failure.url] = Failure(failure.url, "discover", failure.reason)
        for url in urls:
            if url not in self.resources and url not in self.errors:
                self.errors[url] = Failure(url, "discover", "fetcher returned nothing")

    def get(self, url: str) -> Any:
        """The resource of ``url``, or a ``Failure``."""
        if url not in self.resources and url not in self.errors:
            self.fetch([url])
        if url in self.errors:
            return self.errors[url]
        resource = self.resources[url]
        if not resource.not_modified and not 200 <= resource.status < 300:
            return Failure(url, "discover", f"HTTP {resource.status}")
        return resource


def _state(spec: SourceSpec, resource: Any) -> SourceState:
    return SourceState(
        url=resource.url,
        kind=spec.kind or "",
        source=spec.name,
        validators=resource.validators,
        status=304 if resource.not_modified else resource.status,
        changed=not resource.not_modified,
    )


def _local_bytes(spec: SourceSpec, limit: int) -> bytes:
    path = spec.local_path
    size = path.stat().st_size
    if size > limit:
        raise OSError(f"file larger than {limit} bytes ({size})")
    return path.read_bytes()


def _feed(spec: SourceSpec, ctx: _Context, body: bytes | None = None) -> _Found:
    found = _Found()
    base = spec.location
    if body is None:
        if spec.url is None:
            body = _local_bytes(spec, ctx.opts.max_bytes if ctx.opts else 50_000_000)
            base = spec.local_path.resolve().as_uri()
        else:
            got = ctx.get(spec.url)
            if isinstance(got, Failure):
                found.failures.append(got)
                return found
            found.states.append(_state(spec, got))
            if got.not_modified:
                found.not_modified = True
                return found
            body, base = got.body, got.final_url
    try:
        parsed = feeds.parse_feed(body, base, max_urls=spec.max_urls)
    except feeds.NotAFeed as exc:
        found.failures.append(Failure(spec.location, "discover", f"feed: {exc}"))
        found.states.clear()  # read it in full next time
        return found
    for problem in parsed.problems:
        found.failures.append(Failure(spec.location, "discover", f"feed: {problem}"))
    if parsed.truncated:
        found.skips.append(
            Failure(
                spec.location,
                "discover",
                f"max_urls {spec.max_urls}: {parsed.truncated} more entries not taken",
            )
        )
    for entry in parsed.entries:
        hint = {"title": entry.title, "published": entry.published}
        found.candidates.append(
            _Candidate(entry.url, entry.updated or entry.published, spec.location, hint)
        )
    return found


def _sitemap(spec: SourceSpec, ctx: _Context, body: bytes | None = None) -> _Found:
    found = _Found()
    if body is None and spec.url is None:
        body = _local_bytes(spec, 50_000_000)
    root = spec.url or spec.local_path.resolve().as_uri()

    def fetch(urls: list[str]) -> dict[str, bytes | Failure | None]:
        ctx.fetch(urls)
        out: dict[str, bytes | Failure | None] = {}
        for url in urls:
            got = ctx.get(url)
            if isinstance(got, Failure):
                out[url] = got
                continue
            found.states.append(_state(spec, got))
            out[url] = None if got.not_modified else got.body
        return out

    crawl = sitemaps.crawl_sitemaps(
        root,
        fetch,
        max_depth=spec.sitemap_depth,
        max_sitemaps=spec.max_sitemaps,
        max_urls=spec.max_urls,
        root_body=body,
    )
    found.failures += crawl.failures
    found.not_modified = root in crawl.not_modified
    for entry in crawl.entries:
        hint = {"title": entry.news_title, "published": entry.news_published}
        found.candidates.append(_Candidate(entry.loc, entry.changed_at, root, hint))
    return found


def _warc(spec: SourceSpec, ctx: _Context) -> _Found:
    found = _Found()
    if spec.url is not None:
        opts = ctx.opts
        if dataclasses.is_dataclass(opts) and not isinstance(opts, type):
            opts = dataclasses.replace(opts, max_bytes=ctx.warc_max_bytes)
        ctx.fetch([spec.url], opts)
        got = ctx.get(spec.url)
        if isinstance(got, Failure):
            found.failures.append(got)
            return found
        read = warc.read_warc(io.BytesIO(got.body), spec.url, max_pages=spec.max_urls)
    else:
        with spec.local_path.open("rb") as stream:
            read = warc.read_warc(stream, spec.location, max_pages=spec.max_urls)
    found.pages, found.skips, found.failures = read.pages, read.skipped, read.failures
    if read.truncated:
        found.skips.append(
            Failure(
                spec.location,
                "discover",
                f"max_urls {spec.max_urls}: {read.truncated} more HTML records not taken",
            )
        )
    return found


def _directory(spec: SourceSpec) -> _Found:
    found = _Found()
    path = spec.local_path
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in HTML_SUFFIXES and p.is_file())
    if not files:
        found.failures.append(Failure(spec.location, "discover", "directory holds no .html files"))
    found.candidates = [_Candidate(p.resolve().as_uri()) for p in files]
    return found


def _url_list(spec: SourceSpec) -> _Found:
    found = _Found()
    text = spec.local_path.read_text(encoding="utf-8")
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            parts = urlsplit(line)
        except ValueError:  # urllib raises on a bracket left open: "http://[::1/x"
            parts = None
        if parts and parts.scheme in ("http", "https", "file") and (parts.netloc or parts.path):
            found.candidates.append(_Candidate(line))
        else:
            found.failures.append(
                Failure(
                    f"{spec.location}:{lineno}",
                    "discover",
                    f"not an http(s) or file URL: {line[:200]!r}",
                )
            )
    return found


def _expand(spec: SourceSpec, ctx: _Context) -> tuple[SourceSpec, _Found]:
    """The URLs (or pages) of one source; the spec comes back with its final kind."""
    kind = spec.kind
    if spec.path is not None and not spec.local_path.exists():
        return spec, _Found(
            failures=[
                Failure(
                    spec.location, "discover", "source not found (not a URL, directory or file)"
                )
            ]
        )
    if kind is None and spec.url is not None:
        # Only the bytes can tell (.xml, .gz): download once, sniff, parse the same bytes.
        got = ctx.get(spec.url)
        if isinstance(got, Failure):
            return spec, _Found(failures=[got])
        if got.not_modified:  # validators are only stored for feeds and sitemaps
            return spec, _Found(states=[_state(spec, got)], not_modified=True)
        kind = _sniff_bytes(got.body) or "page"
        spec = spec.model_copy(update={"kind": kind})
    if kind == "feed":
        return spec, _feed(spec, ctx)
    if kind == "sitemap":
        return spec, _sitemap(spec, ctx)
    if kind == "warc":
        return spec, _warc(spec, ctx)
    if kind == "directory":
        return spec, _directory(spec)
    if kind == "urls":
        return spec, _url_list(spec)
    if kind == "page":
        url = spec.url or spec.local_path.resolve().as_uri()
        return spec, _Found(candidates=[_Candidate(url)])
    return spec, _Found(failures=[Failure(spec.location, "discover", "unknown kind of source")])


def discover(
    sources: Iterable[str | SourceSpec],
    *,
    fetcher: Fetcher | None = None,
    opts: Any = None,
    state: CrawlState | None = None,
    warc_max_bytes: int = 500_000_000,
    defaults: Mapping[str, Any] | None = None,
) -> Discovered:
    """Expand sources into unique canonical URLs (and WARC pages), in source order.

    ``fetcher(requests, opts)`` downloads feeds, sitemaps and remote WARC files; ``state``
    supplies stored validators and the URLs already indexed. Without them, nothing remote is
    downloaded (feeds and sitemaps fail with a reason) and nothing is skipped as indexed.
    ``defaults`` are per-source settings (max_urls, sitemap_depth, ...) for sources that do
    not set them.
    """
    specs: list[SourceSpec] = []
    for source in sources:
        specs += [source] if isinstance(source, SourceSpec) else specs_from_args([source], defaults)
    ctx = _Context(fetcher, opts, state, warc_max_bytes)
    # Download every remote feed/sitemap root (and unknown .xml) in one concurrent batch.
    ctx.fetch([s.url for s in specs if s.url and s.kind in ("feed", "sitemap", None)])

    result = Discovered()
    seen: set[str] = set()
    pending: list[tuple[SourceReport, bool, _Candidate | Page]] = []
    for spec in specs:
        try:
            spec, found = _expand(spec, ctx)
        except (OSError, UnicodeDecodeError) as exc:
            found = _Found(failures=[Failure(spec.location, "discover", f"cannot read: {exc}")])
        report = SourceReport(name=spec.name, kind=spec.kind or "unknown")
        report.found = len(found.candidates) + len(found.pages)
        report.failed = len(found.failures)
        report.not_modified = found.not_modified
        result.sources.append(report)
        result.failures += found.failures
        result.duplicates += found.skips
        result.states += found.states
        items: list[_Candidate | Page] = [*found.candidates, *found.pages]
        for item in items:
            raw = item.url
            try:
                url = canonicalize(raw)
            except InvalidURL as exc:
                result.failures.append(Failure(raw, "discover", str(exc)))
                report.failed += 1
                continue
            if url in seen:
                result.duplicates.append(Failure(url, "discover", "duplicate URL in sources"))
                report.duplicates += 1
                continue
            seen.add(url)
            if isinstance(item, Page):
                item = dataclasses.replace(item, url=url)
            else:
                item.url = url
                if item.origin:
                    result.origin[url] = spec.name
                if item.hint and any(item.hint.values()):
                    result.hints[url] = item.hint
            pending.append((report, spec.incremental, item))

    indexed = _indexed(state, [item.url for _, inc, item in pending if inc])
    for report, incremental, item in pending:
        fetched_at = indexed.get(item.url) if incremental else None
        changed_at = item.changed_at if isinstance(item, _Candidate) else None
        if fetched_at is not None and (changed_at is None or changed_at <= fetched_at):
            result.already_indexed.append(Failure(item.url, "discover", "already indexed"))
            report.already_indexed += 1
            continue
        report.new += 1
        if isinstance(item, Page):
            result.pages.append(item)
        else:
            result.urls.append(item.url)
    for report in result.sources:
        log.info("source %s (%s): %s", report.name, report.kind, report.as_dict())
    return result


def _indexed(state: CrawlState | None, urls: list[str]) -> dict[str, datetime]:
    if state is None or not urls:
        return {}
    return state.indexed(urls)
