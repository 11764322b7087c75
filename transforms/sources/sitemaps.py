"""XML sitemaps: urlsets, sitemap indexes, gzipped sitemaps and Google News sitemaps.

Parsed from downloaded bytes with lxml (BSD) with entity expansion, DTD loading and network
access off and ``huge_tree`` off, so a "billion laughs" document cannot expand. Gzip is
inflated with a size limit. ``parse_sitemap`` is pure; ``crawl_sitemaps`` follows indexes
through an injected fetcher, level by level, with depth and count bounds and loop detection.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from newsflow.transforms.models import Failure

GZIP_MAGIC = b"\x1f\x8b"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


class SitemapError(ValueError):
    """Bytes that are no sitemap, or one that may not be read (too big, hostile)."""


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: datetime | None = None
    news_title: str | None = None  # Google News hints, kept for the pipeline
    news_published: datetime | None = None

    @property
    def changed_at(self) -> datetime | None:
        return self.lastmod or self.news_published


@dataclass
class ParsedSitemap:
    kind: str  # "urlset" or "sitemapindex"
    entries: list[SitemapEntry] = field(default_factory=list)


def gunzip_limited(body: bytes, max_bytes: int) -> bytes:
    """Inflate gzip bytes, refusing output beyond ``max_bytes`` (a gzip bomb stops early)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise SitemapError(f"broken gzip data: {exc}") from exc
    if len(out) > max_bytes:
        raise SitemapError(f"gzipped sitemap inflates beyond {max_bytes} bytes")
    return out


def maybe_gunzip(body: bytes, max_bytes: int) -> bytes:
    return gunzip_limited(body, max_bytes) if body[:2] == GZIP_MAGIC else body


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _text(value: str | None) -> str | None:
    value = value.strip() if value else None
    return value or None


def parse_sitemap(
    body: bytes, max_bytes: int = 50_000_000, max_urls: int | None = None
) -> ParsedSitemap:
    """Entries of a urlset or sitemap index (gzip inflated first). Raises ``SitemapError``."""
    body = maybe_gunzip(body, max_bytes)
    try:
        root = etree.parse(io.BytesIO(body), _parser()).getroot()
    except etree.XMLSyntaxError as exc:
        raise SitemapError(f"malformed XML: {exc}") from exc
    if root.getroottree().docinfo.internalDTD is not None:
        # Sitemaps never need a DTD; declarations in one are how entity attacks start.
        raise SitemapError("sitemap declares a DTD (entity declarations are refused)")
    name = etree.QName(root)
    kind = name.localname
    if kind not in ("urlset", "sitemapindex"):
        raise SitemapError(f"not a sitemap: root element <{kind}>")
    # Children share the root's namespace (the sitemaps one, or none on sloppy sites).
    ns = f"{{{name.namespace}}}" if name.namespace else ""
    news_ns = f"{{{NEWS_NS}}}"
    result = ParsedSitemap(kind=kind)
    for item in root.iterchildren(ns + ("url" if kind == "urlset" else "sitemap")):
        # findtext: an element's own text; entity references (never expanded) are not text.
        loc = _text(item.findtext(ns + "loc"))
        if not loc:
            continue
        news = item.find(news_ns + "news")
        result.entries.append(
            SitemapEntry(
                loc=loc,
                lastmod=_date(item.findtext(ns + "lastmod")),
                news_title=_text(news.findtext(news_ns + "title")) if news is not None else None,
                news_published=(
                    _date(news.findtext(news_ns + "publication_date")) if news is not None else None
                ),
            )
        )
        if max_urls is not None and len(result.entries) >= max_urls:
            break
    return result


def looks_gzipped(body: bytes) -> bool:
    return body[:2] == GZIP_MAGIC


def peek_gzip(body: bytes, size: int = 4096) -> bytes:
    """The first inflated bytes of gzip data (for sniffing), or b'' when it is broken."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
            return stream.read(size)
    except (OSError, EOFError, zlib.error):
        return b""


@dataclass
class SitemapCrawl:
    """What following one sitemap (and the indexes below it) gave."""

    entries: list[SitemapEntry] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)  # sitemap URLs downloaded
    not_modified: list[str] = field(default_factory=list)  # sitemap URLs that answered 304
    truncated: bool = False  # a bound cut the crawl short


# fetch(list of sitemap URLs) -> {url: body bytes | None for 304 | Failure}
SitemapFetch = Callable[[list[str]], Mapping[str, "bytes | Failure | None"]]


def crawl_sitemaps(
    root_url: str,
    fetch: SitemapFetch,
    *,
    max_depth: int = 3,
    max_sitemaps: int = 50,
    max_urls: int = 50_000,
    max_bytes: int = 50_000_000,
    root_body: bytes | None = None,
) -> SitemapCrawl:
    """Follow a sitemap and its indexes breadth first.

    ``max_depth`` bounds how many index levels are followed below the root, ``max_sitemaps``
    how many sitemaps are downloaded, ``max_urls`` how many article URLs are returned. A
    sitemap listing itself or one of its ancestors is a loop: reported, not followed. A
    sitemap seen twice through different parents is read once. ``root_body`` is the root's
    bytes when the caller already has them (local file, or bytes sniffed for the kind).
    """
    crawl = SitemapCrawl()
    seen: set[str] = {root_url}
    # Each pending sitemap carries its ancestor chain, for loop detection.
    level: list[tuple[str, tuple[str, ...]]] = [(root_url, ())]
    bodies: Mapping[str, bytes | Failure | None] = {}
    if root_body is not None:
        bodies = {root_url: root_body}
    depth = 0
    while level:
        to_fetch = [url for url, _ in level if url not in bodies]
        if to_fetch:
            bodies = {**bodies, **fetch(to_fetch)}
        crawl.fetched += to_fetch
        next_level: list[tuple[str, tuple[str, ...]]] = []
        for url, ancestors in level:
            got = bodies.get(url)
            if isinstance(got, Failure):
                crawl.failures.append(got)
                continue
            if got is None:
                crawl.not_modified.append(url)
                continue
            try:
                parsed = parse_sitemap(got, max_bytes=max_bytes)
            except SitemapError as exc:
                crawl.failures.append(Failure(url, "discover", f"sitemap: {exc}"))
                continue
            if parsed.kind == "urlset":
                room = max_urls - len(crawl.entries)
                if len(parsed.entries) > room:
                    crawl.truncated = True
                    crawl.failures.append(
                        Failure(url, "discover", f"max_urls {max_urls} reached; rest not read")
                    )
                crawl.entries += parsed.entries[: max(room, 0)]
                continue
            chain = (*ancestors, url)
            for entry in parsed.entries:
                child = entry.loc
                if child in chain:
                    crawl.failures.append(
                        Failure(url, "discover", f"sitemap loop: lists its ancestor {child}")
                    )
                    continue
                if child in seen:
                    continue
                if depth + 1 > max_depth:
                    crawl.truncated = True
                    crawl.failures.append(
                        Failure(child, "discover", f"sitemap depth bound {max_depth} reached")
                    )
                    continue
                if len(seen) >= max_sitemaps:
                    crawl.truncated = True
                    crawl.failures.append(
                        Failure(child, "discover", f"sitemap count bound {max_sitemaps} reached")
                    )
                    continue
                seen.add(child)
                next_level.append((child, chain))
        level = next_level
        depth += 1
    return crawl
