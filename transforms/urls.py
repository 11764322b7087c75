"""URL canonicalisation: one spelling per article URL, and the only one. Discovery dedupes on
it, the "already indexed" look-up asks for it, and the clean step spells an article's canonical
URL (declared or fetched), and so its document id, with it.

courlan's ``normalize_url`` does most of it (lower-case scheme and host, IDNA, default ports
dropped, percent-encoding normalised, query parameters sorted, its tracker list removed); this
module adds what courlan keeps on purpose: fragments and a few more tracking parameters.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from courlan import normalize_url

# Click and campaign ids courlan's own list misses; meaningful parameters (id, page, q, ...) stay.
_EXTRA_TRACKERS = re.compile(
    r"^(?:utm_.*|fbclid|gclid|gclsrc|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|_hsenc|_hsmi|"
    r"igshid|yclid|ocid|cmpid|s_cid|mkt_tok|ncid|wt_mc|wt\.mc_id|__twitter_impression|"
    r"spm|smid|sr_share|at_medium|at_campaign|rss)$",
    re.I,
)


class InvalidURL(ValueError):
    """Text that is not an absolute http(s) or file URL."""


def canonicalize(url: str) -> str:
    """The canonical spelling of ``url``; raises ``InvalidURL`` for anything else than an
    absolute http(s) URL or a ``file://`` URL (those are returned unchanged)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError as exc:  # urllib raises on a bracket left open: "http://[::1"
        raise InvalidURL(f"malformed URL {text[:200]!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme == "file":
        return text
    if scheme not in ("http", "https") or not host:
        raise InvalidURL(f"not an absolute http(s) URL: {text[:200]!r}")
    try:
        normal = normalize_url(text, strict=False, trailing_slash=True)
    except ValueError as exc:  # courlan raises on bad ports and IDNA errors
        raise InvalidURL(f"malformed URL {text[:200]!r}: {exc}") from exc
    parts = urlsplit(normal)
    # Filter the raw pairs: decoding and re-encoding could change what a value means.
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and not _EXTRA_TRACKERS.match(unquote_plus(pair.split("=", 1)[0]))
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


def try_canonicalize(url: str) -> str | None:
    """``canonicalize`` or None for invalid input."""
    try:
        return canonicalize(url)
    except InvalidURL:
        return None
