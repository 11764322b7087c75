"""Clean step: extract the article body and its metadata from a page with trafilatura.

``clean_page(page)`` returns an ``Article`` or a ``Failure`` (stage ``clean``) saying why the
page yields no article. Navigation, captions, teasers, cookie banners and comments are left
out by trafilatura's boilerplate removal with comments and images excluded.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import py3langid
import trafilatura

from transforms.models import Article, Failure, Page

# Query parameters that only track the visitor; they never change what a page is.
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|smid)$", re.I)
_WORDS = re.compile(r"\w+")
_JUNK_AUTHORS = {"", "staff", "admin", "editor", "unknown"}

# Containers that hold no article text on any site: reader comments and letters, teaser and
# "most read" lists, sign-up and subscription boxes, cookie banners, share bars, sidebars and
# widgets, photo captions and credits. Matched on class and id
# (lowercased) before extraction, because trafilatura keeps some of them on unseen templates.
_BOILERPLATE_MARKERS = (
    "comment",
    "related",
    "newsletter",
    "cookie",
    "consent",
    "readmore",
    "read-more",
    "most-read",
    "mostread",
    "trending",
    "recommend",
    "teaser",
    "promo",
    "advert",
    "subscribe",
    "signup",
    "sign-up",
    "social-share",
    "share-bar",
    "sharebar",
    "breadcrumb",
    "sidebar",
    "widget",
    "caption",
    "cutline",
    "photo-credit",
    "letters",
)
_LOWER = "translate({attr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
PRUNE_XPATH = [
    "//*[not(self::body) and not(self::html) and not(self::main) and not(self::article) and ("
    + " or ".join(
        f"contains({_LOWER.format(attr=attr)}, '{marker}')"
        for attr in ("@class", "@id")
        for marker in _BOILERPLATE_MARKERS
    )
    + ")]"
]
# Paragraphs that point to another story rather than tell this one.
_TEASER_LINE = re.compile(
    r"^\s*(read more|read also|see also|related|more on this|lire aussi|à lire aussi|"
    r"leer más|lea también|lesen sie auch|mehr zum thema)\b\s*[:»>|-]",
    re.I,
)


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


def _drop_non_article_lines(text: str, title: str | None) -> str:
    lines = [line for line in text.strip().splitlines() if not _TEASER_LINE.match(line)]
    # Some templates repeat the headline as the first line of the body.
    if lines and title and lines[0].strip() == title.strip():
        lines = lines[1:]
    return "\n".join(lines).strip()


def _canonical(page: Page, declared: str | None) -> str:
    base = page.final_url
    if declared:
        resolved = urljoin(base, declared.strip())
        if urlsplit(resolved).scheme in ("http", "https"):
            return normalize_url(resolved)
    return normalize_url(base) if urlsplit(base).scheme in ("http", "https") else base


def clean_page(page: Page, *, min_body_chars: int = 200) -> Article | Failure:
    """Extract the article of one page, or say why there is none."""
    try:
        doc = trafilatura.bare_extraction(
            page.html,
            url=page.final_url,
            with_metadata=True,
            include_comments=False,
            include_images=False,
            include_tables=True,
            favor_precision=True,
            prune_xpath=PRUNE_XPATH,
        )
    except Exception as exc:  # trafilatura/lxml raise many types on malformed markup
        return Failure(page.url, "clean", f"extraction error: {type(exc).__name__}: {exc}")
    text = _drop_non_article_lines(doc.text or "", doc.title) if doc is not None else ""
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
