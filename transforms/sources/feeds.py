"""RSS 0.9x/1.0/2.0 and Atom feeds: the article links a feed lists, parsed from downloaded bytes.

``feedparser.parse`` is only ever given bytes: handed a URL or a path it would open it itself,
bypassing the fetch step's limits and guards. A feed with broken XML ("bozo") keeps the entries
feedparser recovered, and the problem is reported.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser


@dataclass(frozen=True)
class FeedEntry:
    url: str
    title: str | None = None
    published: datetime | None = None
    updated: datetime | None = None  # when the feed says the article last changed


@dataclass
class ParsedFeed:
    version: str  # feedparser's name for the format ("rss20", "atom10", ...), "" when unknown
    entries: list[FeedEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # broken XML, entries without links
    truncated: int = 0  # entries beyond max_urls, not returned


class NotAFeed(ValueError):
    """Bytes that hold no feed at all (not even a broken one with entries)."""


def _when(entry: feedparser.FeedParserDict, key: str) -> datetime | None:
    # dict.get: feedparser's own get() maps a missing updated to published (deprecated).
    parsed = dict.get(entry, f"{key}_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)


def _link(entry: feedparser.FeedParserDict) -> str | None:
    link = entry.get("link")
    if link:
        return link
    for candidate in entry.get("links", []):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return candidate["href"]
    # RSS items may only carry a permalink guid.
    guid = entry.get("id")
    if guid and entry.get("guidislink") and guid.startswith(("http://", "https://")):
        return guid
    return None


def parse_feed(body: bytes, base_url: str, max_urls: int | None = None) -> ParsedFeed:
    """Article links of a feed, in feed order, at most ``max_urls``.

    Relative links resolve against ``base_url`` (the feed's final URL). Raises ``NotAFeed``
    when the bytes are no feed and no entry could be recovered.
    """
    if not isinstance(body, bytes):  # a str would be taken for a URL or a path
        raise TypeError("parse_feed takes the downloaded bytes")
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    result = ParsedFeed(version=parsed.get("version") or "")
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        problem = f"{type(exc).__name__}: {exc}" if exc else "malformed feed"
        if not parsed.entries and not result.version:
            raise NotAFeed(f"not a feed ({problem})")
        result.problems.append(f"broken feed, kept {len(parsed.entries)} entries ({problem})")
    elif not result.version and not parsed.entries:
        raise NotAFeed("not an RSS or Atom feed")
    missing = 0
    for entry in parsed.entries:
        link = _link(entry)
        if not link:
            missing += 1
            continue
        if max_urls is not None and len(result.entries) >= max_urls:
            result.truncated += 1
            continue
        try:
            url = urljoin(base_url, link.strip())
        except ValueError:  # urllib raises on a bracket left open: "http://[::1/x"
            result.problems.append(f"entry with a malformed link: {link.strip()[:200]!r}")
            continue
        result.entries.append(
            FeedEntry(
                url=url,
                title=entry.get("title"),
                published=_when(entry, "published"),
                updated=_when(entry, "updated"),
            )
        )
    if missing:
        result.problems.append(f"entries without a link: {missing}")
    return result
