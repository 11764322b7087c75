"""Publication and modification dates of a page, each with where it came from.

Sources, most trusted first, and the name recorded with the date (``published_source`` /
``modified_source``):

* ``json-ld``: ``datePublished`` / ``dateModified`` of the page's JSON-LD article;
* ``meta``: ``article:published_time``, ``og:updated_time`` and similar tags, then a generic
  ``date`` / ``dc.date`` tag, which the dateline overrules;
* ``microdata``: ``itemprop="datePublished"`` elements with a machine-readable value;
* ``url``: a full date in the URL path (``/2019/11/18/``, ``/20191118/``);
* ``dateline``: the date printed under the headline, as the reader sees it;
* ``markup``: htmldate's fast search of date elements and attributes;
* ``visible-text``: htmldate's extensive search of the page text, the last resort.

A site rule's date selector (``transforms/clean/siterules.py``) overrules them all, recorded as
``site-rule``. ``published_day`` gives the publisher's calendar day of a stored date, the one
date filters and histograms count.

The stored day is the publisher's own: a date-time keeps the offset the page states and is
never moved to another day through UTC. A time the page gives only in UTC is written with the
publisher's offset when the page states the same instant with it; otherwise the URL's or the
dateline's day wins when a real offset puts the UTC time on that day.

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
from functools import cache
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
    "dc.date.created",
    "dcterms.created",
    "citation_publication_date",
    "article.published",
    "cxenseparse:recs:publishtime",
)
# Dublin Core's plain "date" is any event in the life of the page (CMSs often write its last
# change or the time it was generated): read after every tag that names the publication, and
# overruled by a different day in the dateline the reader sees.
GENERIC_META = ("dc.date", "dcterms.date", "date")
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


def published_day(published: str | None) -> str | None:
    """The publisher's calendar day (``YYYY-MM-DD``) of a ``parse_date`` value, or None.

    A stored date-time keeps the offset the page gave it, so its date part is the day on the
    publisher's clock: "2024-03-10T23:30:00-05:00" is 10 March, although it is 11 March in UTC.
    Date filters and histograms use this day, never the UTC one.
    """
    if not published:
        return None
    try:
        return datetime.strptime(published[:10], "%Y-%m-%d").date().isoformat()
    except ValueError:
        return None


def _parse_rfc2822(value: str, now: datetime | None) -> str | None:
    """Dates like "Mon, 18 Nov 2019 10:00:00 GMT", the other format meta tags use."""
    if not _RFC2822.match(value):
        return None
    try:
        date = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parse_date(date.isoformat(), now)


def _meta_dates(tree: HtmlElement) -> dict[str, str]:
    """The readable date of each meta tag name (lowercased), the first tag of a name only."""
    found: dict[str, str] = {}
    for el in _META(tree):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").lower()
        if key in found:
            continue
        value = parse_date(el.get("content"))
        if value:
            found[key] = value
    return found


def _first(found: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((found[k] for k in keys if k in found), None)


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


# Month names of the languages newsflow reads, to their numbers.
_MONTH_NAMES = (
    ("jan", "januar", "jänner", "january", "janvier", "enero", "gennaio", "janeiro", "januari"),
    ("feb", "februar", "february", "février", "fevrier", "febrero", "febbraio", "fevereiro",
     "februari"),
    ("mär", "märz", "mar", "march", "mars", "marzo", "março", "maart"),
    ("apr", "april", "avril", "abril", "aprile"),
    ("mai", "may", "mayo", "maggio", "maio", "mei"),
    ("jun", "juni", "june", "juin", "junio", "giugno", "junho"),
    ("jul", "juli", "july", "juillet", "julio", "luglio", "julho"),
    ("aug", "august", "août", "aout", "agosto", "augustus"),
    ("sep", "sept", "september", "septembre", "septiembre", "settembre", "setembro"),
    ("okt", "oct", "oktober", "october", "octobre", "octubre", "ottobre", "outubro"),
    ("nov", "november", "novembre", "noviembre", "novembro"),
    ("dez", "dec", "dezember", "december", "décembre", "decembre", "diciembre", "dicembre",
     "dezembro"),
)  # fmt: skip
_MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, 1) for name in names}
_MONTH = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_YEAR = r"(?:19|20)\d\d"
# Full dates as pages print them: "29.04.2020" and "4. 2. 2022" (a date written with dots is
# day first wherever it is used), "2020-04-29", "29. April 2020", "29 de abril de 2020",
# "April 29, 2020". Slashed dates are left out: "04/02/2022" is read both ways.
_PRINTED_DATE = re.compile(
    rf"(?<![\d.])(?P<d>[0-3]?\d)\.\s?(?P<m>[01]?\d)\.\s?(?P<y>{_YEAR})(?!\d)"
    rf"|(?<!\d)(?P<y2>{_YEAR})-(?P<m2>[01]\d)-(?P<d2>[0-3]\d)(?!\d)"
    rf"|(?<!\d)(?P<d3>[0-3]?\d)\.?\s(?:de\s)?(?P<m3>{_MONTH})\.?\s(?:de\s)?(?P<y3>{_YEAR})(?!\d)"
    rf"|(?<!\w)(?P<m4>{_MONTH})\.?\s(?P<d4>[0-3]?\d)(?:st|nd|rd|th)?,?\s(?P<y4>{_YEAR})(?!\d)",
    re.IGNORECASE,
)
# A dateline sits within a few lines after the headline (kicker, standfirst, byline); further
# on, dates belong to the story, related links or comments.
DATELINE_CHARS = 400
# The text nodes are counted before they are filtered, so that libxml2 stops early; there are
# enough of them to hold DATELINE_CHARS of text.
_AFTER_HEADLINE = XPath(
    "(//h1)[1]/following::text()[position() <= 150]"
    "[not(ancestor::script or ancestor::style or ancestor::noscript)][normalize-space()]",
    smart_strings=False,
)


def _printed_date(match: re.Match[str]) -> str | None:
    for d, m, y in (("d", "m", "y"), ("d2", "m2", "y2"), ("d3", "m3", "y3"), ("d4", "m4", "y4")):
        if match[y]:
            month = match[m]
            number = int(month) if month.isdigit() else _MONTHS.get(month.lower(), 0)
            return parse_date(f"{match[y]}-{number:02d}-{int(match[d]):02d}")
    return None


def dateline(tree: HtmlElement) -> str | None:
    """The first full date printed within ``DATELINE_CHARS`` after the page's headline (its
    first ``h1``), or None.

    General fact: news pages print the publication date under the headline, in the byline or
    the kicker, on the publisher's own clock; it is the day readers see.
    """
    text = " ".join(" ".join(t.split()) for t in _AFTER_HEADLINE(tree))[:DATELINE_CHARS]
    return printed_date(text)


def printed_date(text: str) -> str | None:
    """The first full date printed in ``text`` ("29. April 2020", "April 29, 2020",
    "2020-04-29", "29.04.2020"), as ``YYYY-MM-DD``, or None."""
    for match in _PRINTED_DATE.finditer(text):
        found = _printed_date(match)
        if found:
            return found
    return None


def _htmldate(tree: HtmlElement, url: str | None, *, extensive: bool) -> str | None:
    try:
        found = find_date(
            tree, url=url, extensive_search=extensive, original_date=True, verbose=False
        )
    except (ValueError, TypeError, AttributeError) as exc:  # odd markup inside htmldate
        log.debug("htmldate failed on %s: %s", url, exc)
        return None
    return parse_date(found) if found else None


# The machine-readable dates a page states outside JSON-LD: meta tags, microdata, <time>.
_STATED = XPath(
    "//meta[@content][@property or @name or @itemprop]/@content"
    " | //*[not(self::meta)][@itemprop][@content or @datetime]/@*[name()='content' or"
    " name()='datetime'] | //time[@datetime][not(@itemprop)]/@datetime",
    smart_strings=False,
)
_UTC_OFFSETS = ("Z", "+00:00")
# The offsets clocks use, from Baker Island (-12:00) to Kiribati (+14:00).
_WEST, _EAST = timedelta(hours=-12), timedelta(hours=14)


def _instant(value: str) -> datetime | None:
    """The aware date-time of a ``parse_date`` value, or None for a day or a local time
    without offset."""
    if len(value) <= 10 or not (value.endswith("Z") or value[-6] in "+-"):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _local_forms(tree: HtmlElement) -> dict[datetime, str]:
    """Each instant the page states with a non-zero UTC offset, as it states it (the first
    form when there are several)."""
    forms: dict[datetime, str] = {}
    for stated in _STATED(tree):
        value = parse_date(stated)
        instant = _instant(value) if value else None
        if value and instant is not None and instant.utcoffset():
            forms.setdefault(instant, value)
    return forms


def _local_form(value: str, forms: dict[datetime, str]) -> str:
    """``value`` as the publisher's clock shows it, when it is given in UTC.

    General fact: a CMS stores and exports times in UTC, while the page prints them in the
    publisher's zone; the same instant stated elsewhere on the page with a non-zero offset is
    the publisher's own time, and its date is the publisher's day. The instant never changes,
    only the offset it is written with (so the source stays the one that gave it); no offset is
    ever guessed.
    """
    instant = _instant(value) if value.endswith(_UTC_OFFSETS) else None
    return forms.get(instant, value) if instant is not None else value


def _day_of_utc(value: str, day: str | None) -> str | None:
    """``day`` if it is the day a UTC time falls on in some real time zone, else None.

    General fact: CMSs export times in UTC, while the URL (``/2019/01/01/``) and the dateline
    are written on the publisher's clock; a UTC time late or early in the day falls on the day
    before or after the publisher's. The other day is taken only if an offset clocks use
    (-12:00 to +14:00) turns the UTC time into it.
    """
    instant = _instant(value)
    if instant is None or instant.utcoffset() or day is None or day == value[:10]:
        return None
    midnight = datetime.fromisoformat(day).replace(tzinfo=UTC)
    start, end = midnight - _EAST, midnight + timedelta(days=1) - _WEST
    return day if start <= instant < end else None


def _publisher_day(
    tree: HtmlElement, url: str | None, value: str, source: str, *, generic: bool
) -> tuple[str, str]:
    """A structured publication date on the publisher's own day, and its source.

    A UTC time the page states in no local form is replaced by the URL's or the dateline's day
    when it falls on that day in some time zone. A ``generic`` date (a plain "date" tag) gives
    way to a different day in the dateline.
    """
    if value.endswith(_UTC_OFFSETS):
        if day := _day_of_utc(value, date_from_url(url)):
            return day, "url"
        if day := _day_of_utc(value, dateline(tree)):
            return day, "dateline"
    if generic:
        printed = dateline(tree)
        if printed and printed != value[:10]:
            return printed, "dateline"
    return value, source


def _from_json_ld(article: dict[str, Any]) -> tuple[str | None, str | None]:
    published = parse_date(article.get("datePublished")) or parse_date(article.get("dateCreated"))
    return published, parse_date(article.get("dateModified"))


def _structured(tree: HtmlElement, article: dict[str, Any] | None) -> tuple[PageDates, bool]:
    """The dates the page states in JSON-LD, meta tags and microdata, and whether the
    publication date is a generic "date" tag."""
    meta = cache(lambda: _meta_dates(tree))
    # Most trusted first; "meta-generic" is recorded as "meta".
    readers: list[tuple[str, Callable[[], tuple[str | None, str | None]]]] = [
        ("json-ld", lambda: _from_json_ld(article) if article else (None, None)),
        ("meta", lambda: (_first(meta(), PUBLISHED_META), _first(meta(), MODIFIED_META))),
        ("meta-generic", lambda: (_first(meta(), GENERIC_META), None)),
        ("microdata", lambda: _from_microdata(tree)),
    ]
    published = published_source = modified = modified_source = None
    for source, read in readers:  # a later reader runs only for a date still missing
        if published and modified:
            break
        pub, mod = read()
        if pub and not published:
            published, published_source = pub, source
        if mod and not modified:
            modified, modified_source = mod, source
    generic = published_source == "meta-generic"
    published_source = "meta" if generic else published_source
    return PageDates(published, published_source, modified, modified_source), generic


def _unstructured(tree: HtmlElement, url: str | None) -> tuple[str | None, str | None]:
    """A publication date for a page without a structured one: the URL's, the dateline's,
    then htmldate's."""
    if day := date_from_url(url):
        return day, "url"
    if day := dateline(tree):
        return day, "dateline"
    for extensive, source in ((False, "markup"), (True, "visible-text")):
        if found := _htmldate(tree, url, extensive=extensive):
            return found, source
    return None, None


def find_dates(
    tree: HtmlElement, url: str | None, article: dict[str, Any] | None = None
) -> PageDates:
    """Publication and modification dates of a parsed page and their sources.

    ``article`` is the page's JSON-LD article object, if any. ``tree`` is only read.
    """
    stated, generic = _structured(tree, article)
    published, modified = stated.published, stated.modified
    in_utc = [v for v in (published, modified) if v and v.endswith(_UTC_OFFSETS)]
    forms = _local_forms(tree) if in_utc else {}
    published_source = stated.published_source
    if published and published_source:
        published, published_source = _publisher_day(
            tree, url, _local_form(published, forms), published_source, generic=generic
        )
    else:
        published, published_source = _unstructured(tree, url)
    modified = _local_form(modified, forms) if modified else None
    modified_source = stated.modified_source if modified else None
    # A modification before the publication is a template's stale tag, not an update.
    if modified and published and modified[:10] < published[:10]:
        modified = modified_source = None
    return PageDates(published, published_source, modified, modified_source)
