"""Clean step: extract the article body and its metadata from a page with trafilatura.

``clean_page(page)`` returns an ``Article``, a ``Skipped`` (a page that is not an article:
index page, live blog, gallery, paywall stub; see ``transforms/clean/pagetype.py``) or a ``Failure``
(stage ``clean``) saying why the page yields no article.

The page is parsed once. Metadata is read from that tree first (meta tags and JSON-LD with
trafilatura's readers, dates with their source from ``transforms/clean/dates.py``, authors from
``transforms/clean/authors.py``, ``free_access`` from ``transforms/clean/access.py``), then the
site rule of the page's host, if any (``transforms/clean/siterules.py``: its date, its drop and
keep selectors), then the same tree goes through extraction: the tree rules of
``transforms/clean/rules.py`` (layout tables, boilerplate containers, link-only paragraphs),
trafilatura in fast mode (its readability/justext comparison cost about 8 ms a page, a third
of the step, for +0.0005 F1 on the benchmark), a second pass over a body split into chunks
or when too little came out, then the line rules (headline, byline, teasers, sign-up and
share prompts, credits, copyright). ``bench/extraction.py`` measures the quality,
``bench/clean_speed.py`` the cost.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from copy import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import py3langid
import trafilatura
from lxml.etree import LxmlError, XPath
from lxml.html import HtmlElement
from trafilatura.metadata import (
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document
from trafilatura.utils import load_html

from newsflow.transforms.clean import pagetype, siterules
from newsflow.transforms.clean.access import free_access
from newsflow.transforms.clean.authors import byline_authors, clean_authors, structured_authors
from newsflow.transforms.clean.dates import PageDates, find_dates
from newsflow.transforms.clean.rules import (
    LINE_RULE_NAMES,
    TREE_RULES,
    clean_lines,
    merge_split_body,
    prepare_tree,
    split_body,
)
from newsflow.transforms.models import Article, Failure, Page
from newsflow.transforms.urls import try_canonicalize

log = logging.getLogger(__name__)

_WORDS = re.compile(r"\w+")


def source_of(url: str) -> str:
    """The site an article belongs to, as a facet value: its host without ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or "local"


LANGUAGE_SAMPLE_CHARS = 2000


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None for too little text. Reads a bounded
    prefix: 2,000 characters decide as well as the whole text, at a fraction of the cost."""
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    if len(_WORDS.findall(sample)) < 5:
        return None
    language, _score = py3langid.classify(sample)
    return language


def load_language_model(cache_dir: str | Path | None = None) -> None:
    """Load py3langid's model now (it loads itself at the first page otherwise), from the
    pickle kept in ``cache_dir`` when given.

    The model ships as an xz-compressed archive that takes ~1 s to decompress in every process
    that cleans a page, a large share of a one-page command's start-up; unpickled from the
    cache it takes ~0.2 s (the pickle holds ~70 MB of arrays). Keyed by the model file (size
    and time) and py3langid's version; rebuilt when either changes."""
    from py3langid import langid

    if langid.IDENTIFIER is not None:
        return
    if cache_dir is None:
        langid.IDENTIFIER = langid._load_identifier()
        return
    from importlib import metadata

    from newsflow.transforms import pickle_cache

    model = Path(langid.MODEL_DIR) / langid.MODEL_FILE
    key = pickle_cache.file_key([model], metadata.version("py3langid"), sys.version)
    langid.IDENTIFIER = pickle_cache.load_or_build(
        Path(cache_dir), "py3langid", key, langid._load_identifier
    )


def canonical_url_of(page: Page, declared: str | None) -> str:
    """The URL an article is known by, and so its document id: the canonical URL the page
    declares (``<link rel=canonical>``, ``og:url``), resolved against the page's URL, else
    the URL it was fetched at; spelt by ``transforms/urls.py canonicalize``, the function that
    also keys discovery and the "already indexed" look-up. A declared URL that is not http(s)
    or cannot be parsed is ignored; a page read from a file keeps its ``file://`` URL."""
    base = page.final_url
    if declared:
        try:
            resolved = urljoin(base, declared.strip())
        except ValueError as exc:  # "http://[broken" and the like
            log.debug("%s: declared canonical URL %r ignored: %s", page.url, declared, exc)
            resolved = ""
        if urlsplit(resolved).scheme in ("http", "https"):
            found = try_canonicalize(resolved)
            if found is not None:
                return found
    # A page made without a URL (a test's, a benchmark's) keeps none.
    return (try_canonicalize(base) if base else None) or base


# A body cut into chunks is re-extracted when the first pass kept less than this share of the
# chunks' text: trafilatura keeps one container and may have stopped at the first chunk.
SPLIT_BODY_COVERAGE = 0.6
# Below this many characters the first pass found no article; a recall-oriented pass, then
# one without our tree rules, get a second look before the page is given up.
FALLBACK_CHARS = 250
# Every rule ``extract_body`` can be told to skip, in the order they run.
RULE_NAMES: tuple[str, ...] = (*TREE_RULES, "split-body", "fallback", *LINE_RULE_NAMES)


def _trafilatura_text(tree: HtmlElement, url: str | None, *, recall: bool = False) -> str:
    """Trafilatura's body text of a parsed page (it works on a copy), without comments."""
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=True,
        include_comments=False,
        include_images=False,
        include_tables=True,
        favor_recall=recall,
    )
    # A Document or None: the dict of its declared return type comes only with as_dict=True.
    return (doc.text or "").strip() if isinstance(doc, Document) else ""


def _headlines(tree: HtmlElement, title: str | None) -> list[str | None]:
    return [title, *(" ".join(h.text_content().split()) for h in tree.iter("h1"))]


def _extract_text(
    tree: HtmlElement,
    original: str | HtmlElement,
    url: str | None,
    headlines: list[str | None],
    disabled: frozenset[str],
) -> str:
    """Body text of ``tree``, which it changes in place; ``original`` is the page as it came
    (markup, parsed only for the last fallback, or an untouched tree, which stays untouched:
    trafilatura works on a copy)."""
    prepare_tree(tree, disabled)
    text = _trafilatura_text(tree, url)
    if "split-body" not in disabled:
        _chunks, chunk_chars = split_body(tree)
        if chunk_chars and len(text) < SPLIT_BODY_COVERAGE * chunk_chars:
            merge_split_body(tree)
            text = max(text, _trafilatura_text(tree, url), key=len)
    if "fallback" not in disabled and len(text) < FALLBACK_CHARS:
        text = max(text, _trafilatura_text(tree, url, recall=True), key=len)
        if len(text) < FALLBACK_CHARS:
            # Our tree rules may be what removed the article: try the page as it came.
            raw = original if isinstance(original, HtmlElement) else load_html(original)
            if raw is not None:
                text = max(text, _trafilatura_text(raw, url, recall=True), key=len)
    return clean_lines(text, titles=headlines, disabled=disabled)


def extract_body(
    html: str | HtmlElement,
    url: str | None,
    *,
    title: str | None = None,
    disabled: frozenset[str] = frozenset(),
) -> str:
    """Article text of a page: tree rules, trafilatura, fallbacks, then line rules.

    Returns "" when the page holds no article. ``title`` is the page's headline, dropped where
    it opens the body. ``disabled`` switches rules off by name (see
    ``RULE_NAMES`` and ``bench/extraction.py --ablate``). A tree passed in is not changed.
    Raises what lxml raises on markup it cannot parse at all.
    """
    tree = load_html(copy(html) if isinstance(html, HtmlElement) else html)
    if tree is None:
        return ""
    return _extract_text(tree, html, url, _headlines(tree, title), disabled)


# --- bad input --------------------------------------------------------------------------------

# Bytes 0x80-0xFF as a Windows-1252 decoder shows them (the five bytes it leaves undefined
# come out as the C1 controls of Latin-1, as browsers and lenient decoders do).
_CP1252 = {(bytes([b]).decode("cp1252", errors="ignore") or chr(b)): b for b in range(0x80, 0x100)}


# UTF-8 sequences read as Windows-1252: a lead byte (0xC2-0xF4, shown as "Â", "Ã", "â"...,
# the same characters in Latin-1) then continuation bytes shown as "©", "€", "™"... ("cafÃ©",
# "itâ€™s"). One branch that opens with a plain range lets the regex engine skip ahead fast.
_CONT = "".join(re.escape(c) for c, b in _CP1252.items() if b <= 0xBF)
_MOJIBAKE = re.compile(f"[\xc2-\xf4][{_CONT}]+")
MOJIBAKE_MIN = 3  # sequences before a page counts as mis-decoded (one may be a real "Ã©")
# The same sequences seen in the page's UTF-8 bytes, loosely: a lead character (U+00C2-U+00F4,
# bytes C3 82-C3 B4) then any non-ASCII character (its first byte C2-F4). Every match of
# ``_MOJIBAKE`` matches this too, and a byte pattern opening with one literal byte is scanned
# several times faster than the character class: most pages are ruled out by it alone.
_MOJIBAKE_HINT = re.compile(rb"\xc3[\x82-\xb4][\xc2-\xf4]")


def _undo_mojibake(match: re.Match[str]) -> str:
    text = match[0]
    lead = ord(text[0])
    size = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4  # bytes of the UTF-8 sequence
    if len(text) < size:
        return text
    try:
        return bytes(_CP1252[c] for c in text[:size]).decode("utf-8") + text[size:]
    except UnicodeDecodeError:
        return text


def repair_mojibake(html: str) -> tuple[str, int]:
    """Text of a UTF-8 page that was decoded as Windows-1252, decoded right; and how many
    sequences were repaired (0: the text is returned as it was)."""
    if html.isascii() or not _MOJIBAKE_HINT.search(html.encode("utf-8", "surrogatepass")):
        return html, 0
    found = 0
    for match in _MOJIBAKE.finditer(html):
        found += _undo_mojibake(match) != match[0]
        if found >= MOJIBAKE_MIN:
            break
    else:
        return html, 0
    count = 0

    def undo(match: re.Match[str]) -> str:
        nonlocal count
        fixed = _undo_mojibake(match)
        count += fixed != match[0]
        return fixed

    return _MOJIBAKE.sub(undo, html), count


# --- structured data and metadata -------------------------------------------------------------

_JSON_LD = XPath("//script[@type='application/ld+json' or @type='application/json+ld']")


def json_ld(tree: HtmlElement) -> list[dict[str, Any]]:
    """The page's JSON-LD objects: top-level ones, list items and ``@graph`` members. A
    script that is not valid JSON is passed over (sites ship broken ones)."""
    out: list[dict[str, Any]] = []
    for script in _JSON_LD(tree):
        text = (script.text or "").strip()
        if not text:
            continue
        try:
            data = json.loads(text, strict=False)
        except ValueError as exc:
            log.debug("invalid JSON-LD skipped: %s", exc)
            continue
        stack = data if isinstance(data, list) else [data]
        for item in stack:
            if isinstance(item, dict):
                out.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    out.extend(g for g in graph if isinstance(g, dict))
    return out


def main_article(objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The JSON-LD object describing the page's article (or live blog), if any."""
    for wanted in (pagetype.ARTICLE_TYPES, pagetype.LIVE_TYPES):
        for obj in objects:
            if pagetype.types_of([obj]) & wanted:
                return obj
    return next((o for o in objects if "datePublished" in o), None)


def _name_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name")
    return value.strip() if isinstance(value, str) and value.strip() else None


# Category and tag links of a post ("/category/world/", rel="tag"), found in one pass by
# libxml2; those in menus, sidebars and footers list the whole site's, not the post's.
_TERM_LINKS = XPath(
    "//body//a[@href][contains(@href, '/category/') or contains(@href, '/categories/') or "
    "contains(@href, '/tag/') or contains(@href, '/tags/') or contains(@rel, 'tag')]"
    "[not(ancestor::nav or ancestor::footer or ancestor::aside or ancestor::header[not("
    "ancestor::article)] or ancestor::*[contains(@class, 'menu') or contains(@class, 'widget')"
    " or contains(@class, 'sidebar') or contains(@id, 'menu') or contains(@id, 'sidebar')])]"
)
_SECTION_META = XPath(
    "//head/meta[@property='article:section' or contains(@name, 'subject')]/@content",
    smart_strings=False,
)
MAX_TERMS = 20  # more than this is a tag cloud, not the post's tags
_NEWS_KEYWORDS = XPath(
    "//head/meta[translate(@name, 'NEWSKYWORD', 'newskyword')='news_keywords']/@content",
    smart_strings=False,
)


def news_keywords(tree: HtmlElement) -> list[str]:
    """The terms of ``<meta name="news_keywords">``, the key people, places and topics a news
    site lists for an article (Google News' tag, which trafilatura does not read, unlike
    "keywords"): often the one place the page writes in full a person its text calls "Mr. X"
    or "X". None past ``MAX_TERMS`` (a tag cloud)."""
    terms = [
        " ".join(term.split())
        for content in _NEWS_KEYWORDS(tree)
        for term in content.split(",")
        if term.strip()
    ]
    terms = list(dict.fromkeys(terms))
    return terms if len(terms) <= MAX_TERMS else []


def with_news_keywords(tags: list[str], keywords: list[str]) -> list[str]:
    """``tags`` and the news keywords none of them names already (case ignored; a tag may
    list several terms, comma-separated, as trafilatura gives "keywords")."""
    seen = {t.strip().casefold() for tag in tags for t in tag.split(",")}
    return [*tags, *(k for k in keywords if k.casefold() not in seen)]


def link_terms(tree: HtmlElement) -> tuple[list[str], list[str]]:
    """Categories and tags named by the post's own links, or a section meta tag."""
    categories: list[str] = []
    tags: list[str] = []
    for a in _TERM_LINKS(tree):
        text = " ".join(a.text_content().split())
        if not text or len(text) > 60:
            continue
        href, rel = a.get("href", ""), a.get("rel", "")
        is_category = "/categor" in href or "category" in rel
        (categories if is_category else tags).append(text)
    categories = list(dict.fromkeys(categories))
    tags = list(dict.fromkeys(tags))
    if not categories:
        categories = [" ".join(c.split()) for c in _SECTION_META(tree) if c.strip()]
    return categories[:MAX_TERMS], tags[:MAX_TERMS] if len(tags) <= MAX_TERMS else []


_SITE_FROM_URL = re.compile(r"https?://(?:www\.|w[0-9]+\.)?([^/]+)")


@dataclass
class PageMeta:
    """What a page says about itself, read before extraction."""

    title: str = ""
    url: str | None = None  # the canonical URL it declares
    site_name: str | None = None
    description: str | None = None
    image: str | None = None
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    dates: PageDates = field(default_factory=PageDates)
    structured: list[dict[str, Any]] = field(default_factory=list)
    free_access: bool | None = None


# What sites put between a headline and their own name: "Headline | Site", "Site - Headline"
# (after a site name opening the title, a colon too: "Site: Headline").
_SEPARATOR = r"(?:[|·»]|::|[-–—])"
_TITLE_SEPARATOR = re.compile(rf"\s+{_SEPARATOR}\s+")
_TRAILING_SEPARATOR = re.compile(rf"\s*{_SEPARATOR}\s*$")
_LEADING_SEPARATOR = re.compile(rf"\s*(?:{_SEPARATOR}|:)\s+")


def _squeezed(name: str) -> str:
    return re.sub(r"\W+", "", name).casefold()


def title_without_site(title: str, site: str | None, url: str) -> str:
    """A page title without the site's own name around the headline ("Best tech gadgets of
    2019 | ZDNet", "LinkNaija | Nigeria's popular news platform: Kate Henshaw ..."): the name
    is the site's, not the article's, and would read as an entity of every page. Before the
    headline, the site name; after it, the site name or its host's name ("Inexhibit" on
    inexhibit.com), each compared without case, spaces and punctuation."""
    title = _TRAILING_SEPARATOR.sub("", title)
    if site and len(title) > len(site):
        before = _LEADING_SEPARATOR.match(title[len(site) :]) if title.startswith(site) else None
        if before:
            return title[len(site) + before.end() :]
        after = _TRAILING_SEPARATOR.search(title[: -len(site)]) if title.endswith(site) else None
        if after:
            return title[: after.start()]
    host = (urlsplit(url).hostname or "").removeprefix("www.").split(".")[0]
    parts = _TITLE_SEPARATOR.split(title)
    if len(parts) > 1 and _squeezed(parts[-1]) in {_squeezed(n) for n in (site, host) if n}:
        return _TRAILING_SEPARATOR.sub("", title[: -len(parts[-1])])
    if len(parts) > 1 and site and _squeezed(parts[0]) == _squeezed(site):
        return _LEADING_SEPARATOR.sub("", title[len(parts[0]) :], count=1)
    return title


def page_metadata(tree: HtmlElement, url: str) -> PageMeta:
    """Metadata of a parsed page (the tree is only read).

    trafilatura's readers of meta tags and JSON-LD give title, site name, description, image,
    categories and tags; its costly parts are left out: the author search over a deep copy of
    the page (``clean/authors.py`` reads the byline) and htmldate's extensive search, which
    ``transforms/clean/dates.py`` runs only when structured data has no date.
    """
    doc = examine_meta(tree)
    try:
        doc = extract_meta_json(tree, doc)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        log.debug("trafilatura JSON-LD reader failed on %s: %s", url, exc)
    structured = json_ld(tree)
    article = main_article(structured)
    title = doc.title or extract_title(tree) or ""
    declared = doc.url or extract_url(tree, None)
    site = doc.sitename or extract_sitename(tree)
    if site:
        site = site.lstrip("@").strip()
        if site and "." not in site and not site[0].isupper():
            site = site.title()
    elif m := _SITE_FROM_URL.match(declared or url):
        site = m[1]
    categories, tags = doc.categories or [], doc.tags or []
    if not categories or not tags:
        linked = link_terms(tree)
        categories, tags = categories or linked[0], tags or linked[1]
    tags = with_news_keywords(tags, news_keywords(tree))
    publisher = _name_of(article.get("publisher")) if article else None
    blocked = [site, publisher]
    authors = clean_authors(structured_authors(article), blocked)
    if not authors and doc.author:
        authors = clean_authors(doc.author.split(";"), blocked)
    if not authors:
        authors = clean_authors(byline_authors(tree), blocked)
    return PageMeta(
        title=title_without_site(" ".join(title.split()), site, declared or url),
        url=declared,
        site_name=site or None,
        description=(doc.description or "").strip() or None,
        image=doc.image or None,
        categories=[c for c in categories if c],
        tags=[t for t in tags if t],
        authors=authors,
        dates=find_dates(tree, declared or url, article),
        structured=structured,
        free_access=free_access(tree, structured, article),
    )


# --- the step ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Skipped(Failure):
    """A page that is not an article (index page, live blog, gallery, paywall stub): the run
    records it under ``skips``, not ``failures``. The reason starts with "not an article: "."""


# What extraction libraries raise on markup they cannot handle; one such page fails alone.
_EXTRACTION_ERRORS = (
    LxmlError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    KeyError,
    RecursionError,
)


def apply_site_rule(
    tree: HtmlElement, rule: siterules.SiteRule, dates: PageDates
) -> tuple[HtmlElement, PageDates]:
    """The page as a site rule shapes it for extraction, and its dates: the rule's date (read
    before anything is removed) replaces the published date, its ``drop`` nodes are removed
    (from ``tree``, in place), and with a ``keep`` that matches, only the kept nodes remain."""
    found = siterules.rule_date(tree, rule)
    if found:
        dates = replace(dates, published=found, published_source=siterules.SOURCE)
        if dates.modified and dates.modified[:10] < found[:10]:
            dates = replace(dates, modified=None, modified_source=None)
    siterules.drop_nodes(tree, rule)
    kept = siterules.kept_tree(tree, rule)
    return (tree if kept is None else kept), dates


def clean_page(
    page: Page,
    *,
    min_body_chars: int = 200,
    disabled: frozenset[str] = frozenset(),
    rules: siterules.SiteRules | None = None,
) -> Article | Failure:
    """Extract the article of one page, or say why there is none (``Skipped`` for a page that
    is not an article, ``Failure`` otherwise).

    ``rules`` are the site rules (``transforms/clean/siterules.py``); the one covering the
    page's host, if any, shapes the page before extraction and may give its date.
    ``disabled`` names rules of ``RULE_NAMES`` to skip; only measurements use it.
    """
    try:
        html, repaired = repair_mojibake(page.html)
        if repaired:
            log.warning(
                "clean: %s: repaired %d mis-decoded UTF-8 sequences (read as cp1252)",
                page.url,
                repaired,
            )
        tree = load_html(html) if html.strip() else None
        if tree is None:
            return Failure(page.url, "clean", "no extractable article text (not HTML)")
        # The page as served, for the page-type signals and the last extraction fallback:
        # extraction changes ``tree`` in place. Copying a 175 KB page costs about 0.6 ms CPU,
        # parsing it again 2 ms, and most pages (60% of the benchmark's articles) need it.
        served = copy(tree)
        meta = page_metadata(tree, page.final_url)
        headlines = _headlines(tree, meta.title)
        dates = meta.dates
        original: HtmlElement = served
        rule = siterules.rule_for(rules or {}, page.final_url)
        if rule is not None:
            # What the site's rule removed must not come back through the last fallback.
            tree, dates = apply_site_rule(tree, rule, dates)
            original = copy(tree)
        # The tree is read: extraction may change it in place from here on.
        text = _extract_text(tree, original, page.final_url, headlines, disabled)
        signals = pagetype.PageSignals()
        if pagetype.needs_signals(text):
            # A short body: the page as served is measured, as far as the rules ask, by
            # classify (hence inside this try: measuring reads the tree).
            signals = pagetype.page_signals(served)
        kind = pagetype.classify(
            url=page.final_url, body=text, signals=signals, structured=meta.structured, html=html
        )
    except _EXTRACTION_ERRORS as exc:
        log.warning("clean: %s: extraction error: %s: %s", page.url, type(exc).__name__, exc)
        return Failure(page.url, "clean", f"extraction error: {type(exc).__name__}: {exc}")
    if kind:
        return Skipped(page.url, "clean", f"not an article: {kind}")
    if len(text) < min_body_chars:
        return Failure(page.url, "clean", f"no extractable article text ({len(text)} characters)")
    canonical = canonical_url_of(page, meta.url)
    return Article(
        url=page.url,
        final_url=page.final_url,
        canonical_url=canonical,
        title=meta.title,
        body=text,
        authors=meta.authors,
        published=dates.published,
        published_source=dates.published_source,
        modified=dates.modified,
        modified_source=dates.modified_source,
        site_name=meta.site_name,
        source=source_of(canonical),
        language=detect_language(text),
        tags=list(dict.fromkeys([*meta.categories, *meta.tags])),
        section=next((c.strip() for c in meta.categories if c.strip()), None),
        description=meta.description,
        image=meta.image,
        fetched_at=page.fetched_at,
        word_count=len(_WORDS.findall(text)),
        free_access=meta.free_access,
    )


def clean_pages(
    pages: list[Page], *, min_body_chars: int = 200, rules: siterules.SiteRules | None = None
) -> tuple[list[Article], list[Failure]]:
    """Clean a batch with the site ``rules``; returns articles and failures (``Skipped`` ones
    among them: pages that are not articles). One page that cannot be cleaned never stops the
    others."""
    articles: list[Article] = []
    failures: list[Failure] = []
    for page in pages:
        result = clean_page(page, min_body_chars=min_body_chars, rules=rules)
        if isinstance(result, Failure):
            failures.append(result)
        else:
            articles.append(result)
    return articles, failures
