"""Fetch step: turn source URLs into decoded HTML pages. The only module that touches the web.

``fetch_pages`` downloads many URLs concurrently (httpx, one connection pool) with timeouts,
a redirect limit, a streamed size limit and retries for transient errors; ``file://`` URLs
are read from disk. Every URL ends as a ``Page`` or a ``Failure`` with its reason.
"""

from __future__ import annotations

import asyncio
import codecs
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import charset_normalizer
import httpx

from transforms.models import Failure, Page

HTML_CONTENT_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# WHATWG: pages labelled latin-1 or ascii are decoded as windows-1252.
_ENCODING_ALIASES = {"iso8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}


class FetchError(Exception):
    """A URL could not be turned into an HTML page; ``reason`` is the user-facing cause."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class FetchOptions:
    timeout: float = 20.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    retries: int = 2
    concurrency: int = 16
    user_agent: str = "newsflow/0.1"
    backoff_base: float = 0.5


def _codec(label: str | bytes | None) -> str | None:
    if not label:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return _ENCODING_ALIASES.get(name, name)


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode HTML bytes: charset from the header, then ``<meta>``, then UTF-8, then detection.

    Returns ``(text, encoding_used)``; never raises on odd bytes (they become U+FFFD).
    """
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8) :].decode("utf-8", "replace"), "utf-8"
    candidates: list[str | None] = []
    if content_type and "charset=" in content_type.lower():
        candidates.append(_codec(content_type.lower().split("charset=", 1)[1].split(";")[0]))
    meta = _META_CHARSET.search(body[:4096])
    candidates.append(_codec(meta.group(1)) if meta else None)
    for encoding in filter(None, candidates):
        try:
            return body.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    encoding = _detect(body)
    return body.decode(encoding, "replace"), encoding


def _detect(body: bytes) -> str:
    """Best guess for undeclared, non-UTF-8 bytes; windows-1252 wins ties, as on the web."""
    matches = list(charset_normalizer.from_bytes(body))
    if not matches:
        return "cp1252"
    best = (matches[0].chaos, -matches[0].coherence)
    tied = [_codec(m.encoding) for m in matches if (m.chaos, -m.coherence) == best]
    return "cp1252" if "cp1252" in tied else (tied[0] or "cp1252")


def _is_html(content_type: str | None) -> bool:
    if not content_type:
        return True  # many servers omit it; the clean step rejects non-HTML text anyway
    return content_type.split(";")[0].strip().lower() in HTML_CONTENT_TYPES


def read_file_page(url: str, max_bytes: int) -> Page:
    """Read a ``file://`` URL as a page."""
    path = Path(unquote(urlsplit(url).path))
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FetchError(f"file larger than {max_bytes} bytes ({size})")
        body = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read file: {exc.strerror or exc}") from exc
    html, encoding = decode_html(body)
    return Page(url=url, final_url=url, html=html, encoding=encoding, fetched_at=_now())


def _now() -> datetime:
    return datetime.now(UTC)


async def _download(client: httpx.AsyncClient, url: str, opts: FetchOptions) -> Page:
    try:
        async with client.stream("GET", url) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise FetchError(f"HTTP {response.status_code}", retryable=True)
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code}")
            content_type = response.headers.get("content-type")
            if not _is_html(content_type):
                raise FetchError(f"not HTML: content-type {content_type}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > opts.max_bytes:
                raise FetchError(f"body larger than {opts.max_bytes} bytes ({declared} declared)")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > opts.max_bytes:
                    raise FetchError(f"body larger than {opts.max_bytes} bytes")
                chunks.append(chunk)
    except httpx.TooManyRedirects as exc:
        raise FetchError(f"more than {opts.max_redirects} redirects") from exc
    except httpx.TimeoutException as exc:
        raise FetchError(
            f"timeout after {opts.timeout:g}s ({type(exc).__name__})", retryable=True
        ) from exc
    except httpx.TransportError as exc:
        raise FetchError(f"connection failed: {exc or type(exc).__name__}", retryable=True) from exc
    html, encoding = decode_html(b"".join(chunks), content_type)
    return Page(
        url=url,
        final_url=str(response.url),
        html=html,
        encoding=encoding,
        fetched_at=_now(),
        status=response.status_code,
    )


async def _fetch_one(client: httpx.AsyncClient, url: str, opts: FetchOptions) -> Page | Failure:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        try:
            return read_file_page(url, opts.max_bytes)
        except FetchError as exc:
            return Failure(url, "fetch", exc.reason)
    if scheme not in ("http", "https"):
        return Failure(url, "fetch", f"unsupported URL scheme {scheme!r}")
    for attempt in range(opts.retries + 1):
        try:
            return await _download(client, url, opts)
        except FetchError as exc:
            if not exc.retryable or attempt == opts.retries:
                suffix = f" (after {attempt + 1} attempts)" if attempt else ""
                return Failure(url, "fetch", exc.reason + suffix)
        # Exponential backoff with jitter so retries of many URLs do not arrive together.
        await asyncio.sleep(opts.backoff_base * 2**attempt * (0.5 + random.random()))
    raise AssertionError("unreachable")


async def fetch_pages_async(urls: Iterable[str], opts: FetchOptions) -> list[Page | Failure]:
    """Fetch every URL concurrently; results come back in input order."""
    limits = httpx.Limits(
        max_connections=opts.concurrency, max_keepalive_connections=opts.concurrency
    )
    semaphore = asyncio.Semaphore(opts.concurrency)
    async with httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=opts.max_redirects,
        timeout=httpx.Timeout(opts.timeout),
        limits=limits,
        headers={"User-Agent": opts.user_agent, "Accept": "text/html,application/xhtml+xml"},
    ) as client:

        async def bounded(url: str) -> Page | Failure:
            async with semaphore:
                return await _fetch_one(client, url, opts)

        return list(await asyncio.gather(*(bounded(u) for u in urls)))


def fetch_pages(urls: Iterable[str], opts: FetchOptions) -> tuple[list[Page], list[Failure]]:
    """Fetch URLs (http, https, file); return the pages and the failures with reasons."""
    results = asyncio.run(fetch_pages_async(list(urls), opts))
    pages = [r for r in results if isinstance(r, Page)]
    failures = [r for r in results if isinstance(r, Failure)]
    return pages, failures
