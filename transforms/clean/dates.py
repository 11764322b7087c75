"""Publication and modification dates of a page, each with where it came from.

Sources, most trusted first, and the name recorded with the date (``published_source`` /
``modified_source``):

* ``json-ld``: ``datePublished`` / ``dateModified`` of the page's JSON-LD article;
* ``meta``: ``article:published_time``, ``og:updated_time``, Dublin Core and similar tags;
* ``microdata``: ``itemprop="datePublished"`` elements with a machine-readable value;
* ``url``: a full date in the URL path (``/2019/11/18/``, ``/20191118/``);
* ``markup``: htmldate's fast search of date elements and attributes;
* ``visible-text``: htmldate's extensive search of the page text, the last resort.

htmldate runs only when the cheaper sources gave nothing, and its extensive search only
after its fast one (it costs a few milliseconds a page). A date that cannot be read, lies in
the future or before ``MIN_YEAR`` is passed over, so a broken tag does not hide a good one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from htmldate import find_date
from lxml.etree import XPath
from lxml.html import HtmlElement

log = logging.getLogger(__name__)

MIN_YEAR = 1995  # no news site published earlier; older values are placeholders ("1970-01-01")

# Meta tag names (property, name or itemprop, lowercased) for each kind of date.
PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "article:published",
    "datepublished",
    "publishdate",
    "publish-date",
    "publish_date",
    "pubdate",
    "publication_date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "dc.date.created",
    "dcterms.created",
    "date",
    "citation_publication_date",
    "article.published",
    "cxenseparse:recs:publishtime",
)
MODIFIED_META = (
    "article:modified_time",
    "og:article:modified_time",
    "og:updated_time",
    "article:modified",
    "datemodified",
    "last-modified",
    "lastmod",
    "dc.date.modified",
    "dcterms.modified",
    "article.updated",
)
_META = XPath("//meta[@content][@property or @name or @itemprop]")
_MICRODATA = XPath(
    "//*[@itemprop='datePublished' or @itemprop='dateModified'][@content or @datetime]"
)
_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})[/_-]?(0[1-9]|1[0-2])[/_-]?(0[1-9]|[12]\d|3[01])(?:/|[_-]|\.html?|$)",
    re.ASCII,
)
# "2019-11-18T10:00:00.000+0000": fractions and a colon-less offset, which fromisoformat of
# Python 3.11 reads only partly. ASCII digits only: a page's "+০১:০০" is no offset Elasticsearch
# or fromisoformat can read.
_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?\s*(Z|[+-]\d{2}:?\d{2}|[+-]\d{2})?)?",
    re.ASCII,
)

_RFC2822 = re.compile(r"^\s*(\w{3},\s*)?\d{1,2}\s+\w{3}\s+\d{4}\s+\d{1,2}:\d{2}", re.ASCII)


@dataclass(frozen=True)
class PageDates:
    published: str | None = None  # ISO 8601 date or date-time (with the page's own offset)
    published_source: str | None = None
    modified: str | None = None
    modified_source: str | None = None


def parse_date(value: Any, now: datetime | None = None) -> str | None:
    """An ISO 8601 date or date-time string from a structured value, or None if it is not
    a plausible publication date. The page's UTC offset is kept, so the date part stays the
    one the site printed."""
    if not isinstance(value, str):
        return None
    m = _ISO.match(value)
    if not m:
        return _parse_rfc2822(value, now)
    year, month, day, hour, minute, second, offset = m.groups()
    try:
        date = datetime(int(year), int(month), int(day))
        if hour is not None:
            date = date.replace(hour=int(hour), minute=int(minute), second=int(second or 0))
    except ValueError:
        return None
    now = now or datetime.now(UTC)
    if date.year < MIN_YEAR or date.replace(tzinfo=UTC) > now + timedelta(days=2):
        return None
    if hour is None:
        return date.date().isoformat()
    text = date.isoformat()
    if offset == "Z":
        return text + "Z"
    if offset:
        digits = offset.replace(":", "")
        digits = digits if len(digits) == 5 else digits + "00"
        if int(digits[1:3]) > 14 or int(digits[3:]) > 59:
            return text
        return f"{text}{digits[:3]}:{digits[3:]}"
    return text


def _parse_rfc2822(value: str, now: datetime | None) -> str | None:
    """Dates like "Mon, 18 Nov 2019 10:00:00 GMT", the other format meta tags use."""
    if not _RFC2822.match(value):
        return None
    try:
        date = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parse_date(date.isoformat(), now)


def _from_meta(tree: HtmlElement) -> tuple[str | None, str | None]:
    found: dict[str, str] = {}
    for el in _META(tree):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").lower()
        if key in found:
            continue
        value = parse_date(el.get("content"))
        if value:
            found[key] = value
    published = next((found[k] for k in PUBLISHED_META if k in found), None)
    modified = next((found[k] for k in MODIFIED_META if k in found), None)
    return published, modified


def _from_microdata(tree: HtmlElement) -> tuple[str | None, str | None]:
    published = modified = None
    for el in _MICRODATA(tree):
        value = parse_date(el.get("content") or el.get("datetime"))
        if el.get("itemprop") == "datePublished":
            published = published or value
        else:
            modified = modified or value
    return published, modified


def date_from_url(url: str | None) -> str | None:
    """The date in a URL path such as ``/2019/11/18/story``, or None."""
    m = _URL_DATE.search(url or "")
    return parse_date(f"{m[1]}-{m[2]}-{m[3]}") if m else None


def _htmldate(tree: HtmlElement, url: str | None, *, extensive: bool) -> str | None:
    try:
        found = find_date(
            tree, url=url, extensive_search=extensive, original_date=True, verbose=False
        )
    except (ValueError, TypeError, AttributeError) as exc:  # odd markup inside htmldate
        log.debug("htmldate failed on %s: %s", url, exc)
        return None
    return parse_date(found) if found else None


def _from_json_ld(article: dict[str, Any]) -> tuple[str | None, str | None]:
    published = parse_date(article.get("datePublished")) or parse_date(article.get("dateCreated"))
    return published, parse_date(article.get("dateModified"))


def find_dates(
    tree: HtmlElement, url: str | None, article: dict[str, Any] | None = None
) -> PageDates:
    """Publication and modification dates of a parsed page and their sources.

    ``article`` is the page's JSON-LD article object, if any. ``tree`` is only read.
    """
    readers: list[tuple[str, Callable[[], tuple[str | None, str | None]]]] = [
        ("meta", lambda: _from_meta(tree)),
        ("microdata", lambda: _from_microdata(tree)),
    ]
    if article:
        readers.insert(0, ("json-ld", lambda: _from_json_ld(article)))
    published = published_source = modified = modified_source = None
    for source, read in readers:  # a later reader runs only for a date still missing
        if published and modified:
            break
        pub, mod = read()
        if pub and not published:
            published, published_source = pub, source
        if mod and not modified:
            modified, modified_source = mod, source
    if not published:
        published = date_from_url(url)
        published_source = "url" if published else None
    if not published:
        for extensive, source in ((False, "markup"), (True, "visible-text")):
            published = _htmldate(tree, url, extensive=extensive)
            if published:
                published_source = source
                break
    # A modification before the publication is a template's stale tag, not an update.
    if modified and published and modified[:10] < published[:10]:
        modified = modified_source = None
    return PageDates(published, published_source, modified, modified_source)
