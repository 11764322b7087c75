"""Pages that are not articles: index and section pages, live blogs, galleries, paywall stubs.

``page_signals(tree)`` measures the parsed page before any boilerplate is removed (links,
linked headlines, paragraphs of running text, gallery images); ``classify`` combines those
with the page's JSON-LD types and the extracted body and returns why the page is not an
article, e.g. ``"live blog (LiveBlogPosting structured data)"``, or None for an article.
Only a short body needs the signals (``needs_signals``): most articles skip measuring, and
each signal is measured only when a rule reads it.

Every rule asks for two kinds of evidence (a declared type or a page shape, and a body too
thin for an article): a real article with a big navigation menu, a related-stories rail or an
embedded gallery keeps its running text and stays an article.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from lxml.etree import XPath
from lxml.html import HtmlElement

from newsflow.transforms.clean.rules import visible_len

_WORD = re.compile(r"\w+")

LIVE_TYPES = frozenset({"LiveBlogPosting"})
GALLERY_TYPES = frozenset({"ImageGallery", "MediaGallery", "VideoGallery"})
INDEX_TYPES = frozenset(
    {"CollectionPage", "ItemList", "SearchResultsPage", "SiteNavigationElement"}
)
ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "BlogPosting",
        "TechArticle",
        "ScholarlyArticle",
        "Report",
        "SocialMediaPosting",
    }
)

# A paragraph of running text: this many words outside links.
RUNNING_WORDS = 30
# Index pages: at least this many linked headlines (teasers), fewer running paragraphs than
# RUNNING_MAX, and a body below INDEX_BODY_WORDS.
INDEX_LINKED_HEADINGS = 10
INDEX_LINKS = 80
INDEX_LINK_SHARE = 0.5
RUNNING_MAX = 3
INDEX_BODY_WORDS = 3000  # a section front lists many teasers, but not a book's worth
# ... and a body made of teasers: this share of its lines are the text of links on the page
# (headlines of other stories), or next to no body at all.
INDEX_TEASER_SHARE = 0.3
INDEX_EMPTY_BODY_WORDS = 60
TEASER_MIN_WORDS = 4
MAX_TEASER_WORDS = 25
# Index pages: a body of many short lines (teasers) is measured whatever its length.
TEASER_LINES = 8
TEASER_LINE_WORDS = 30
# Live blogs: timestamped entries opening lines of the body.
LIVE_STAMPED_LINES = 6
# Galleries: images in gallery/slideshow containers and little text.
GALLERY_IMAGES = 8
GALLERY_BODY_WORDS = 250
GALLERY_TYPED_BODY_WORDS = 400
# Paywall stubs: a body this short on a page that says it is for subscribers.
PAYWALL_BODY_WORDS = 250
PAYWALL_PROMPT_BODY_WORDS = 150

_STAMP = re.compile(
    r"^\W{0,3}(\d{1,2}[:.h]\d{2}\s*(a\.?m\.?|p\.?m\.?|h|gmt|utc|bst|cet|cest|[ecmp][sd]t)?|"
    r"\d{1,2}\s*(a\.?m\.?|p\.?m\.?)|\d{1,3}\s*(min|mins|minutes|h|hr|hrs|hours?)\s+ago|"
    r"(just now|breaking))\b",
    re.I,
)
# Prompts of a paywall, matched on lowercased text. Each holds one of _PAYWALL_KEYS, so
# the page is scanned with str.find for those and the pattern runs on a window around each
# hit only: run over a whole page, this many alternatives cost tens of milliseconds.
_PAYWALL = re.compile(
    r"(subscribe|subscription|sign in|log in|register) (now )?to (continue|keep) reading|"
    r"to continue reading,? (please )?(subscribe|sign in|log in|register)|"
    r"(this|the rest of this) (article|story|content) is (only )?(available )?(for|to) "
    r"(subscribers|members|premium)|"
    r"already a (subscriber|member)\?|you have reached (your|the) (limit|maximum) of free|"
    r"subscribe to read (the full|more)|exclusive to subscribers|subscribers only|"
    r"become a (subscriber|member) to (read|continue)|"
    r"abonnez-vous pour lire|réservé aux abonnés|suscríbete para (seguir|continuar) leyendo|"
    r"exclusivo para (suscriptores|assinantes)|nur für abonnenten"
)
_PAYWALL_KEYS = (
    "reading",
    "subscribers",
    "members",
    "premium",
    "already a",
    "of free",
    "subscribe to read",
    "become a",
    "abonnez",
    "abonnés",
    "leyendo",
    "exclusivo para",
    "abonnenten",
)
_PAYWALL_WINDOW = 80  # characters either side of a key: longer than any prompt
_PAYWALL_MAX_HITS = 50  # per key: a page saying "members" 500 times is not scanned 500 times


def paywall_prompt(text: str) -> str | None:
    """The first paywall prompt in ``text`` ("subscribe to continue reading"), or None."""
    low = text.lower()
    for key in _PAYWALL_KEYS:
        start = low.find(key)
        hits = 0
        while start != -1 and hits < _PAYWALL_MAX_HITS:
            m = _PAYWALL.search(low, max(0, start - _PAYWALL_WINDOW), start + _PAYWALL_WINDOW)
            if m:
                return m[0]
            start = low.find(key, start + len(key))
            hits += 1
    return None


_LIVE_URL = re.compile(r"[/_-](live|liveblog|live-updates|live-blog|as-it-happened)([/_-]|$)", re.I)
_GALLERY_URL = re.compile(r"[/_-](gallery|galleries|photos|in-pictures|slideshow)([/_-]|$)", re.I)


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _small_image(img: HtmlElement) -> bool:
    for attr in ("width", "height"):
        value = (img.get(attr) or "").strip().removesuffix("px")
        if value.isdigit() and int(value) < 100:
            return True
    return False


# Counted by libxml2: making a Python object of every element of a page costs more.
_LINKS = XPath("count(.//a[@href])")
_LINK_TEXT = XPath(".//a[@href]//text()", smart_strings=False)
# Links long enough to be a headline (about TEASER_MIN_WORDS words).
_LONG_LINKS = XPath(".//a[@href][string-length(normalize-space(.)) >= 16]")
_LINKED_HEADINGS = XPath(
    "count(.//*[self::h2 or self::h3 or self::h4][.//a[@href] or ancestor::a[@href]])"
)
# Paragraphs long enough to hold RUNNING_WORDS words.
_LONG_PARAGRAPHS = XPath(".//p[string-length(normalize-space(.)) >= 120]")
_GALLERY_IMAGES = XPath(
    ".//img[ancestor::*["
    + " or ".join(
        f"contains(@{attr}, '{mark}')"
        for attr in ("class", "id")
        for mark in ("galler", "Galler", "slideshow", "Slideshow", "carousel", "lightbox")
    )
    + "]]"
)


class PageSignals:
    """The shape of a page as served, before extraction. Each figure is measured when it is
    first read: ``classify`` reads only those its rules reach (most articles stop at the
    paragraphs of running text), and measuring all of them costs about 3 ms a page.
    ``PageSignals()`` is the shape of an empty page. The tree must not change meanwhile."""

    def __init__(self, tree: HtmlElement | None = None) -> None:
        body = tree.find("body") if tree is not None else None
        self._body = body if body is not None else tree

    @cached_property
    def links(self) -> int:
        """<a href> in the body."""
        return int(_LINKS(self._body)) if self._body is not None else 0

    @cached_property
    def link_share(self) -> float:
        """Share of the body's visible text inside links."""
        if self._body is None:
            return 0.0
        link_chars = sum(len(t.strip()) for t in _LINK_TEXT(self._body))
        return link_chars / max(1, visible_len(self._body))

    @cached_property
    def linked_headings(self) -> int:
        """Headings that are or hold a link: teasers."""
        return int(_LINKED_HEADINGS(self._body)) if self._body is not None else 0

    @cached_property
    def running_paragraphs(self) -> int:
        """<p> with RUNNING_WORDS words outside links."""
        running = 0
        for p in _LONG_PARAGRAPHS(self._body) if self._body is not None else ():
            words = len(_WORD.findall(p.text_content()))
            linked = sum(len(_WORD.findall(a.text_content())) for a in p.iter("a"))
            if words - linked >= RUNNING_WORDS:
                running += 1
        return running

    @cached_property
    def gallery_images(self) -> int:
        """Images (not icons) inside gallery/slideshow containers."""
        if self._body is None:
            return 0
        return sum(1 for img in _GALLERY_IMAGES(self._body) if not _small_image(img))

    @cached_property
    def anchor_texts(self) -> frozenset[str]:
        """Link texts of TEASER_MIN_WORDS words or more, normalised."""
        anchors = set()
        for a in _LONG_LINKS(self._body) if self._body is not None else ():
            norm = _norm(a.text_content())
            if norm.count(" ") >= TEASER_MIN_WORDS - 1:
                anchors.add(norm)
        return frozenset(anchors)


def page_signals(tree: HtmlElement) -> PageSignals:
    """The signals of a parsed page (it is only read), measured as ``classify`` asks."""
    return PageSignals(tree)


def types_of(objects: list[dict[str, Any]]) -> set[str]:
    """All ``@type`` values of JSON-LD objects."""
    out: set[str] = set()
    for obj in objects:
        kind = obj.get("@type")
        for k in kind if isinstance(kind, list) else [kind]:
            if isinstance(k, str):
                out.add(k.rsplit("/", 1)[-1])
    return out


def _not_free(objects: list[dict[str, Any]]) -> bool:
    for obj in objects:
        values = [obj.get("isAccessibleForFree")]
        part = obj.get("hasPart")
        for p in part if isinstance(part, list) else [part]:
            if isinstance(p, dict):
                values.append(p.get("isAccessibleForFree"))
        if any(v is False or (isinstance(v, str) and v.strip().lower() == "false") for v in values):
            return True
    return False


# Above this many words of body no rule looks at the page's shape (see classify)...
SHAPE_MAX_WORDS = max(GALLERY_TYPED_BODY_WORDS, GALLERY_BODY_WORDS)


def needs_signals(body: str) -> bool:
    """Whether ``classify`` needs the page's signals for this body: only a short body can
    belong to a gallery, and only one of many short lines to an index page; most articles
    spare measuring the page."""
    lines = [len(_WORD.findall(line)) for line in body.splitlines() if line.strip()]
    if sum(lines) < SHAPE_MAX_WORDS:
        return True
    return len(lines) >= TEASER_LINES and sorted(lines)[len(lines) // 2] < TEASER_LINE_WORDS


def teaser_share(body: str, signals: PageSignals) -> float:
    """Share of the body's lines (of TEASER_MIN_WORDS words or more) that open with the text
    of a link on the page: the headlines of an index page's teasers."""
    lines = [_norm(line).split() for line in body.splitlines()]
    lines = [words for words in lines if len(words) >= TEASER_MIN_WORDS]
    if not lines:
        return 0.0
    anchors = signals.anchor_texts
    teasers = sum(
        1
        for words in lines
        if any(
            " ".join(words[:k]) in anchors
            for k in range(TEASER_MIN_WORDS, min(len(words), MAX_TEASER_WORDS) + 1)
        )
    )
    return teasers / len(lines)


def stamped_lines(body: str) -> int:
    """Lines of the body that open with a time stamp: the entries of a live blog."""
    return sum(1 for line in body.splitlines() if _STAMP.match(line))


def classify(
    *,
    url: str,
    body: str,
    signals: PageSignals,
    structured: list[dict[str, Any]],
    html: str = "",
) -> str | None:
    """Why the page is not an article, or None if it is one.

    ``structured`` holds the page's JSON-LD objects, ``body`` the extracted text, ``html``
    the page source (searched for subscription prompts only when the body is short).
    """
    words = len(_WORD.findall(body))
    types = types_of(structured)
    is_article = bool(types & ARTICLE_TYPES)

    if types & LIVE_TYPES:
        return "live blog (LiveBlogPosting structured data)"
    stamps = stamped_lines(body)
    if stamps >= LIVE_STAMPED_LINES and (_LIVE_URL.search(url) or stamps * 120 >= words):
        return f"live blog ({stamps} timestamped updates)"

    gallery_type = types & GALLERY_TYPES
    if gallery_type and words < GALLERY_TYPED_BODY_WORDS and not is_article:
        return f"gallery ({sorted(gallery_type)[0]} structured data, {words} words)"
    # Cheap conditions first: the signals are measured only when a rule reaches them.
    if (
        words < GALLERY_BODY_WORDS
        and (not is_article or _GALLERY_URL.search(url))
        and signals.gallery_images >= GALLERY_IMAGES
    ):
        return f"gallery ({signals.gallery_images} images, {words} words)"

    if words < PAYWALL_BODY_WORDS:
        # The declaration alone is not enough: a short story that is whole also carries it.
        # It takes a prompt to subscribe, in the body or (searched only when the page says
        # it is not free or the body is very short: it costs a scan of the whole page)
        # anywhere on the page.
        not_free = _not_free(structured)
        prompt = paywall_prompt(body)
        if not prompt and html and (not_free or words < PAYWALL_PROMPT_BODY_WORDS):
            prompt = paywall_prompt(html)
        if prompt and (not_free or words < PAYWALL_PROMPT_BODY_WORDS):
            flag = "isAccessibleForFree=false, " if not_free else ""
            return f"paywall stub ({flag}“{prompt}”, {words} words)"

    if words < INDEX_BODY_WORDS and signals.running_paragraphs < RUNNING_MAX:
        if types & INDEX_TYPES and not is_article:
            return f"index page ({sorted(types & INDEX_TYPES)[0]} structured data)"
        many_links = signals.linked_headings >= INDEX_LINKED_HEADINGS or (
            signals.links >= INDEX_LINKS and signals.link_share >= INDEX_LINK_SHARE
        )
        if many_links and (
            words < INDEX_EMPTY_BODY_WORDS or teaser_share(body, signals) >= INDEX_TEASER_SHARE
        ):
            return (
                f"index page ({signals.links} links, {signals.linked_headings} linked "
                f"headlines, {signals.running_paragraphs} paragraphs of running text)"
            )
    return None
