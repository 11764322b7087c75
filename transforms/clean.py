"""Clean step: extract the article body and its metadata from a page with trafilatura.

``clean_page(page)`` returns an ``Article`` or a ``Failure`` (stage ``clean``) saying why the
page yields no article. The body comes from ``extract_body``: the tree rules of
``transforms.extract_rules`` (layout tables, boilerplate containers, link-only paragraphs),
trafilatura without comments or images, a second pass over a body split into chunks or when
too little came out, then the line rules (headline, byline, teasers, sign-up and share
prompts, credits, copyright). ``bench/extraction.py`` measures it against plain trafilatura.
"""

from __future__ import annotations

import re
from copy import copy
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import py3langid
import trafilatura
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from transforms.extract_rules import (
    LINE_RULE_NAMES,
    TREE_RULES,
    clean_lines,
    merge_split_body,
    prepare_tree,
    split_body,
)
from transforms.models import Article, Failure, Page

# Query parameters that only track the visitor; they never change what a page is.
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|smid)$", re.I)
_WORDS = re.compile(r"\w+")
_JUNK_AUTHORS = {"", "staff", "admin", "editor", "unknown"}


def normalize_url(url: str) -> str:
    """Canonical form of a URL: lowercase scheme and host, no default port, fragment or
    tracking parameters. Two spellings of one page give one string (and one document id)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        ]
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def source_of(url: str) -> str:
    """The site an article belongs to, as a facet value: its host without ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or "local"


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None for too little text."""
    sample = text[:3000]
    if len(_WORDS.findall(sample)) < 5:
        return None
    language, _score = py3langid.classify(sample)
    return language


def _authors(raw: str | None) -> list[str]:
    if not raw:
        return []
    out: list[str] = []
    for name in re.split(r";|\band\b|&", raw):
        name = name.strip(" ,")
        if name.lower() not in _JUNK_AUTHORS and name not in out:
            out.append(name)
    return out


def _canonical(page: Page, declared: str | None) -> str:
    base = page.final_url
    if declared:
        resolved = urljoin(base, declared.strip())
        if urlsplit(resolved).scheme in ("http", "https"):
            return normalize_url(resolved)
    return normalize_url(base) if urlsplit(base).scheme in ("http", "https") else base


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
        include_comments=False,
        include_images=False,
        include_tables=True,
        favor_recall=recall,
    )
    return (doc.text or "").strip() if doc is not None else ""


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
    ``RULE_NAMES`` and ``bench/extraction.py --ablate``). Raises what lxml
    raises on markup it cannot parse at all.
    """
    tree = load_html(copy(html) if isinstance(html, HtmlElement) else html)
    if tree is None:
        return ""
    headlines = [title, *(" ".join(h.text_content().split()) for h in tree.iter("h1"))]
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
            raw = load_html(copy(html) if isinstance(html, HtmlElement) else html)
            if raw is not None:
                text = max(text, _trafilatura_text(raw, url, recall=True), key=len)
    return clean_lines(text, titles=headlines, disabled=disabled)


def clean_page(
    page: Page, *, min_body_chars: int = 200, disabled: frozenset[str] = frozenset()
) -> Article | Failure:
    """Extract the article of one page, or say why there is none.

    ``disabled`` names rules of ``RULE_NAMES`` to skip; only measurements use it.
    """
    try:
        tree = load_html(page.html)
        if tree is None:
            return Failure(page.url, "clean", "no extractable article text (not HTML)")
        doc = trafilatura.extract_metadata(tree, default_url=page.final_url)
        text = extract_body(tree, page.final_url, title=doc.title, disabled=disabled)
    except Exception as exc:  # trafilatura/lxml raise many types on malformed markup
        return Failure(page.url, "clean", f"extraction error: {type(exc).__name__}: {exc}")
    if len(text) < min_body_chars:
        return Failure(page.url, "clean", f"no extractable article text ({len(text)} characters)")
    canonical = _canonical(page, doc.url)
    tags = [t for t in [*(doc.categories or []), *(doc.tags or [])] if t]
    return Article(
        url=page.url,
        canonical_url=canonical,
        title=(doc.title or "").strip(),
        body=text,
        authors=_authors(doc.author),
        published=doc.date or None,
        site_name=(doc.sitename or "").strip() or None,
        source=source_of(canonical),
        language=doc.language or detect_language(text),
        tags=list(dict.fromkeys(tags)),
        section=next((c.strip() for c in doc.categories or [] if c.strip()), None),
        description=(doc.description or "").strip() or None,
        image=doc.image or None,
        fetched_at=page.fetched_at,
        word_count=len(_WORDS.findall(text)),
    )


def clean_pages(
    pages: list[Page], *, min_body_chars: int = 200
) -> tuple[list[Article], list[Failure]]:
    """Clean a batch; returns articles and failures."""
    articles: list[Article] = []
    failures: list[Failure] = []
    for page in pages:
        result = clean_page(page, min_body_chars=min_body_chars)
        (failures if isinstance(result, Failure) else articles).append(result)
    return articles, failures
