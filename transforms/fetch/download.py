"""Fetch step: turn URLs into decoded HTML pages (and feeds/sitemaps into bytes), politely.

The only module that touches the web. Every URL ends as a ``Page`` (or ``Resource``) or a
``Failure`` with its reason; nothing raises out of ``fetch_pages``/``fetch_resources``.

Rules applied to every request (``FetchOptions``):
- SSRF guard (``netguard.py``): each hop's host is resolved once and refused when it is
  not public unless ``allowed_networks`` allows it; the connection goes to the checked address
  (a pinned network backend, so TLS still verifies the host name). Redirects are followed here,
  hop by hop, so every hop is checked.
- robots.txt per host (``transforms/fetch/robots.py``), cached across calls for the run.
- At most ``concurrency`` requests in flight, ``per_host`` per host, request starts to one host
  spaced by ``max(host_delay, Crawl-delay)``; ``Retry-After`` honoured up to ``max_retry_after``.
- Retries with exponential backoff and jitter for timeouts, connection errors, 429 and 5xx.
- Connect/read timeout ``timeout``, a total ``deadline`` per request (a trickling server is cut
  off), ``max_bytes`` counted after decompression, ``max_redirects``, http/https only.
- Pages: HTML content types only, binary bodies refused, charset decoded by ``decode_html``.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import logging
import random
import re
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urljoin, urlsplit

import charset_normalizer
import httpcore
import httpx

from newsflow.transforms.fetch import netguard, robots
from newsflow.transforms.models import Failure, Page, Validators

log = logging.getLogger(__name__)

HTML_CONTENT_TYPES = ("text/html", "application/xhtml+xml")
DEFAULT_USER_AGENT = "newsflow/0.1 (+https://github.com/newsflow/newsflow)"
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# WHATWG: pages labelled latin-1 or ascii are decoded as windows-1252.
_ENCODING_ALIASES = {"iso8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}
_REDIRECTS = (301, 302, 303, 307, 308)
# Magic numbers of formats servers like to label text/html by mistake.
_MAGIC = (
    (b"%PDF-", "PDF"),
    (b"\x89PNG", "PNG image"),
    (b"GIF8", "GIF image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"RIFF", "RIFF media"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"\x7fELF", "ELF binary"),
    (b"OggS", "Ogg media"),
    (b"ID3", "MP3 audio"),
    (b"\x00\x00\x00", "ISO media"),
)
# Feeds and sitemaps: anything textual or XML-ish, and gzip (sitemap.xml.gz).
_RESOURCE_TYPES = re.compile(
    r"^(text/.*|application/(.*[+/])?xml|application/(x-)?(gzip|gunzip)|application/octet-stream"
    r"|application/(rss|atom|rdf)\+xml|application/(feed\+)?json)$"
)


class FetchError(Exception):
    """A URL could not be fetched; ``reason`` is the user-facing cause."""

    def __init__(
        self, reason: str, *, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchOptions:
    """Limits and manners of the fetch step (built from ``Settings`` at the edge)."""

    timeout: float = 20.0  # connect and read timeout, seconds
    max_bytes: int = 5_000_000  # after decompression
    max_redirects: int = 5
    retries: int = 2
    concurrency: int = 16  # requests in flight across all hosts
    user_agent: str = DEFAULT_USER_AGENT
    backoff_base: float = 0.5
    per_host: int = 2  # requests in flight per host
    host_delay: float = 0.0  # minimum seconds between request starts to one host
    deadline: float = 60.0  # total seconds per request, body included
    max_retry_after: float = 60.0  # longest Retry-After (and Crawl-delay) waited for
    allowed_networks: tuple[str, ...] = ()  # CIDRs the SSRF guard lets through
    obey_robots: bool = True
    # None: the process-wide ``robots.SHARED`` cache, so rules outlive one call (one batch).
    robots: robots.RobotsCache | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Resource:
    """A downloaded feed, sitemap or other file: raw bytes (gzip left as is)."""

    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str | None
    validators: Validators
    not_modified: bool


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
        return True  # many servers omit it; the binary sniffing below still applies
    return content_type.split(";")[0].strip().lower() in HTML_CONTENT_TYPES


def _is_resource_type(content_type: str | None) -> bool:
    if not content_type:
        return True
    return bool(_RESOURCE_TYPES.match(content_type.split(";")[0].strip().lower()))


def binary_kind(head: bytes) -> str | None:
    """What binary format the first bytes of an "HTML" body are, or None if they look like text."""
    start = head.lstrip()
    for magic, kind in _MAGIC:
        if start.startswith(magic) or head.startswith(magic):
            return kind
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None  # UTF-16 text is full of NUL bytes
    if b"\x00" in head[:1024]:
        return "binary data (NUL bytes)"
    return None


def read_file_page(url: str, max_bytes: int) -> Page:
    """Read a ``file://`` URL as a page."""
    body = _read_file(url, max_bytes)
    html, encoding = decode_html(body)
    return Page(url=url, final_url=url, html=html, encoding=encoding, fetched_at=_now())


def _read_file(url: str, max_bytes: int) -> bytes:
    path = Path(unquote(urlsplit(url).path))
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FetchError(f"file larger than {max_bytes} bytes ({size})")
        return path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read file: {exc.strerror or exc}") from exc


def _now() -> datetime:
    return datetime.now(UTC)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - _now()).total_seconds())


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the SSRF guard checked: no second DNS lookup, ever.

    URLs keep their host names (so Host, SNI, certificate checks and connection pools work as
    usual); this backend maps ``(host, port)`` to the pinned address at connect time.
    """

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self.pins: dict[tuple[str, int], str] = {}

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        address = self.pins.get((host.strip("[]").lower(), port))
        if address is None:
            raise httpcore.ConnectError(f"{host}:{port} was not checked by the SSRF guard")
        return await self._inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not used by the fetch step")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # One per process: building one reads the whole CA bundle (tens of ms), and a fetch batch
    # would otherwise build two. An SSLContext may be shared by connections and threads.
    return httpx.create_ssl_context(trust_env=False)


def _transport(backend: _PinnedBackend, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(verify=_ssl_context(), limits=limits, trust_env=False)
    # httpx has no public hook for the network backend; the pool it builds is swapped for the
    # same pool with the pinned backend (httpx/httpcore versions are locked).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=backend,
    )
    return transport


@dataclass
class _Raw:
    """One finished HTTP exchange after redirects."""

    url: str
    final_url: str
    status: int
    headers: httpx.Headers
    body: bytes


Kind = Literal["page", "resource"]


class _Session:
    """One event loop's worth of fetching: client, limits, per-host state."""

    def __init__(self, opts: FetchOptions, client: httpx.AsyncClient, backend: _PinnedBackend):
        self.opts = opts
        self.client = client
        self.backend = backend
        self.cache = opts.robots if opts.robots is not None else robots.SHARED
        self.token = robots.product_token(opts.user_agent)
        self.allowed = netguard.parse_networks(opts.allowed_networks)
        self.slots = asyncio.Semaphore(opts.concurrency)
        self.host_slots: dict[str, asyncio.Semaphore] = {}
        self.host_locks: dict[str, asyncio.Lock] = {}
        self.blocked_until: dict[str, float] = {}  # host -> monotonic time (Retry-After)
        self.targets: dict[tuple[str, int], asyncio.Future[netguard.Target]] = {}
        self.robots_tasks: dict[robots.Key, asyncio.Task[robots.RobotsRules]] = {}

    # --- guard and robots ---------------------------------------------------------------

    async def _target(self, host: str, port: int) -> netguard.Target:
        """The checked address of ``host``: one lookup per host and port for the session."""
        key = (host, port)
        if key not in self.targets:
            # Concurrent URLs of one host share the lookup, so all of them use one address.
            self.targets[key] = asyncio.ensure_future(self._resolve(host, port))
        try:
            return await asyncio.shield(self.targets[key])
        except netguard.RefusedAddress as exc:
            raise FetchError(str(exc)) from exc
        except netguard.ResolveError as exc:
            # Not retried: the lookup is shared by the session, a retry would see the same.
            raise FetchError(f"connection failed: {exc}") from exc

    async def _resolve(self, host: str, port: int) -> netguard.Target:
        target = await netguard.resolve_checked(host, port, self.allowed)
        self.backend.pins[(host, port)] = str(target.address)
        return target

    async def _rules(self, scheme: str, host: str, port: int) -> robots.RobotsRules:
        key = (scheme, host, port, self.token)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        # One download per host even when many URLs of the host ask at once.
        if key not in self.robots_tasks:
            self.robots_tasks[key] = asyncio.ensure_future(self._load_rules(key))
        return await asyncio.shield(self.robots_tasks[key])

    async def _load_rules(self, key: robots.Key) -> robots.RobotsRules:
        scheme, host, port, _ = key
        netloc = f"[{host}]" if ":" in host else host
        url = f"{scheme}://{netloc}:{port}/robots.txt"
        try:
            raw = await self._exchange(
                url, "robots", robots_check=False, limit=robots.MAX_ROBOTS_BYTES
            )
        except FetchError as exc:
            rules = robots.RobotsRules(disallow_reason=exc.reason, unreachable=True)
        else:
            if 200 <= raw.status < 300:
                rules = robots.RobotsRules.parse(raw.body)
            elif raw.status == 429 or raw.status >= 500:
                rules = robots.RobotsRules(disallow_reason=f"robots.txt answered HTTP {raw.status}")
            else:  # 4xx (RFC 9309: "unavailable") and odd statuses: no rules
                rules = robots.RobotsRules(allow_all=True)
        if rules.disallow_reason:
            log.warning(
                "%s: every URL of %s disallowed for this run (%s)", url, host, rules.disallow_reason
            )
        self.cache.put(key, rules)
        return rules

    # --- politeness ---------------------------------------------------------------------

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        if host not in self.host_slots:
            self.host_slots[host] = asyncio.Semaphore(self.opts.per_host)
            self.host_locks[host] = asyncio.Lock()
        return self.host_slots[host]

    async def _take_turn(self, host: str, delay: float) -> None:
        """Wait until a request to ``host`` may start, then take a global slot.

        Starts are spaced by ``delay`` and wait out a Retry-After block of the host. The delay
        is waited before the global slot is taken so a slow host does not hold slots idle.
        """
        async with self.host_locks[host]:
            now = time.monotonic()
            last = self.cache.last_request(host)
            start = max(now, self.blocked_until.get(host, now))
            if last is not None:
                start = max(start, last + delay)
            if start > now:
                await asyncio.sleep(start - now)
            await self.slots.acquire()
            self.cache.mark_request(host, time.monotonic())

    # --- one URL ------------------------------------------------------------------------

    async def fetch(self, url: str, kind: Kind, validators: Validators | None = None) -> _Raw:
        """GET ``url`` with retries; raises ``FetchError`` with the final reason."""
        opts = self.opts
        for attempt in range(opts.retries + 1):
            try:
                return await self._exchange(url, kind, validators=validators)
            except FetchError as exc:
                if not exc.retryable or attempt == opts.retries:
                    suffix = f" (after {attempt + 1} attempts)" if attempt else ""
                    raise FetchError(exc.reason + suffix) from exc
                if exc.retry_after is not None:
                    wait = exc.retry_after
                else:
                    # Exponential backoff with jitter so retries of many URLs spread out.
                    wait = opts.backoff_base * 2**attempt * (0.5 + random.random())
                log.info("%s: %s, retry %d in %.2fs", url, exc.reason, attempt + 1, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _exchange(
        self,
        url: str,
        kind: Kind | Literal["robots"],
        *,
        validators: Validators | None = None,
        robots_check: bool = True,
        limit: int | None = None,
    ) -> _Raw:
        """One attempt: follow redirects hop by hop, each hop guarded, polite and limited."""
        current = url
        for _hop in range(self.opts.max_redirects + 1):
            parts = urlsplit(current)
            scheme = parts.scheme.lower()
            if scheme not in ("http", "https"):
                raise FetchError(f"unsupported URL scheme {scheme!r}")
            try:
                host = (parts.hostname or "").lower()
                port = parts.port or (443 if scheme == "https" else 80)
            except ValueError as exc:
                raise FetchError(f"invalid URL: {exc}") from exc
            try:
                # The ASCII (IDNA) name httpx connects with, so the pin matches it.
                host = httpx.URL(current).raw_host.decode("ascii").lower()
            except httpx.InvalidURL as exc:
                invalid: httpx.InvalidURL | None = exc  # odd IPv4 spellings: guard says why
            else:
                invalid = None
            if not host:
                raise FetchError("invalid URL: no host")
            await self._target(host, port)
            if invalid is not None:
                raise FetchError(f"invalid URL: {invalid}")
            delay = self.opts.host_delay
            if robots_check and self.opts.obey_robots:
                rules = await self._rules(scheme, host, port)
                if rules.unreachable:  # a dead host is reported as such, not as a rule
                    raise FetchError(
                        f"{rules.disallow_reason} (robots.txt unreachable: every URL of {host} "
                        "disallowed for this run)"
                    )
                if not rules.allowed(current, self.token):
                    why = f": {rules.disallow_reason}" if rules.disallow_reason else ""
                    raise FetchError(f"disallowed by robots.txt ({host}){why}")
                crawl_delay = rules.crawl_delay(self.token)
                if crawl_delay:
                    delay = max(delay, min(crawl_delay, self.opts.max_retry_after))
            async with self._host_slot(host):
                await self._take_turn(host, delay)
                try:
                    raw = await self._request(current, url, kind, validators, limit)
                finally:
                    self.slots.release()
            if raw.status in _REDIRECTS and "location" in raw.headers:
                current = urljoin(current, raw.headers["location"])
                continue
            if kind != "robots" and (raw.status == 429 or raw.status >= 500):
                self._raise_for_unavailable(raw, host)
            return raw
        raise FetchError(f"more than {self.opts.max_redirects} redirects")

    def _raise_for_unavailable(self, raw: _Raw, host: str) -> None:
        wait = retry_after_seconds(raw.headers.get("retry-after"))
        if wait is not None and wait > self.opts.max_retry_after:
            raise FetchError(
                f"HTTP {raw.status}: Retry-After {wait:.0f}s exceeds the "
                f"{self.opts.max_retry_after:g}s cap (fetch_max_retry_after)"
            )
        if wait is not None:  # the whole host asked for a pause, not only this URL
            until = time.monotonic() + wait
            self.blocked_until[host] = max(until, self.blocked_until.get(host, until))
        raise FetchError(f"HTTP {raw.status}", retryable=True, retry_after=wait)

    async def _request(
        self,
        url: str,
        asked: str,
        kind: Kind | Literal["robots"],
        validators: Validators | None,
        limit: int | None,
    ) -> _Raw:
        opts = self.opts
        limit = limit or opts.max_bytes
        headers = {"Accept": _ACCEPT[kind]}
        if validators is not None:
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
        try:
            async with asyncio.timeout(opts.deadline):
                async with self.client.stream("GET", url, headers=headers) as response:
                    body = await self._read(response, kind, limit)
        except TimeoutError as exc:
            # Not retried: a server that trickles once will trickle again.
            raise FetchError(f"deadline of {opts.deadline:g}s exceeded (slow download)") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(
                f"timeout after {opts.timeout:g}s ({type(exc).__name__})", retryable=True
            ) from exc
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL: {exc}") from exc
        except httpx.TransportError as exc:
            raise FetchError(
                f"connection failed: {exc or type(exc).__name__}", retryable=True
            ) from exc
        except httpx.HTTPError as exc:  # e.g. a body httpx cannot decode
            raise FetchError(f"HTTP error: {exc or type(exc).__name__}") from exc
        return _Raw(asked, url, response.status_code, response.headers, body)

    async def _read(self, response: httpx.Response, kind: str, limit: int) -> bytes:
        status = response.status_code
        if status in _REDIRECTS or status == 304 or status == 429 or status >= 500:
            return b""
        if kind == "robots":
            if status >= 300:
                return b""
        elif status >= 400:
            raise FetchError(f"HTTP {status}")
        content_type = response.headers.get("content-type")
        if kind == "page" and not _is_html(content_type):
            raise FetchError(f"not HTML: content-type {content_type}")
        if kind == "resource" and not _is_resource_type(content_type):
            raise FetchError(f"unexpected content-type {content_type}")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(f"body larger than {limit} bytes ({declared} declared)")
        chunks: list[bytes] = []
        size = 0
        sniffed = kind != "page"
        async for chunk in _decoded(response, limit):
            size += len(chunk)
            if size > limit:
                if kind == "robots":  # RFC 9309: parse the first 500 KiB, ignore the rest
                    chunks.append(chunk[: limit - (size - len(chunk))])
                    break
                raise FetchError(f"body larger than {limit} bytes (after decompression)")
            chunks.append(chunk)
            if not sniffed and size >= 1024:
                sniffed = True
                _refuse_binary(b"".join(chunks)[:1024], content_type)
        if not sniffed:
            _refuse_binary(b"".join(chunks), content_type)
        return b"".join(chunks)


def _refuse_binary(head: bytes, content_type: str | None) -> None:
    binary = binary_kind(head)
    if binary:
        raise FetchError(f"binary content ({binary}) served as {content_type}")


async def _decoded(response: httpx.Response, limit: int) -> AsyncIterator[bytes]:
    """The body with gzip/deflate undone, never inflating more than ``limit + 1`` bytes.

    httpx would inflate each network chunk in full (64 KiB of zeros can become 64 MB before
    anything could count it); here ``max_length`` bounds every step.
    """
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("gzip", "x-gzip", "deflate"):
        async for chunk in response.aiter_bytes():  # identity (the only other one we accept)
            yield chunk
        return
    wbits = zlib.MAX_WBITS | 16 if "gzip" in encoding else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    produced = 0
    first = True
    try:
        async for raw in response.aiter_raw():
            if first and encoding == "deflate" and raw[:1] and (raw[0] & 0x0F) != 8:
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib header
            first = False
            data = raw
            while data:
                out = inflater.decompress(data, limit + 1 - produced)
                produced += len(out)
                if out:
                    yield out
                if produced > limit:
                    return
                data = inflater.unconsumed_tail
                if not out and data:
                    break  # no progress possible (should not happen): avoid spinning
            if inflater.eof:
                break
        tail = inflater.flush()
        if tail:
            yield tail
    except zlib.error as exc:
        raise FetchError(f"broken {encoding} body: {exc}") from exc


_ACCEPT = {
    "page": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "resource": "application/rss+xml,application/atom+xml,application/xml,text/xml;q=0.9,*/*;q=0.5",
    "robots": "text/plain,*/*;q=0.5",
}


async def _run(opts: FetchOptions, jobs: list, worker, hand_on=None) -> list:
    limits = httpx.Limits(
        max_connections=opts.concurrency, max_keepalive_connections=opts.concurrency
    )
    backend = _PinnedBackend()
    async with httpx.AsyncClient(
        transport=_transport(backend, limits),
        follow_redirects=False,  # followed hop by hop, each hop guarded
        timeout=httpx.Timeout(opts.timeout),
        # Only encodings decoded here with a bound (see _decoded); no br/zstd.
        headers={"User-Agent": opts.user_agent, "Accept-Encoding": "gzip, deflate"},
        trust_env=False,  # a proxy would resolve names itself, past the SSRF guard
    ) as client:
        session = _Session(opts, client, backend)

        async def guarded(index: int, job):
            try:
                result = await worker(session, job)
            except Exception as exc:  # a bug must cost one URL, not the batch; it is logged
                url = job[0] if isinstance(job, tuple) else job
                log.exception("%s: fetch failed unexpectedly", url)
                return Failure(url, "fetch", f"internal error: {type(exc).__name__}: {exc}")
            # Outside the try: what the receiver raises (a full disk) is not one URL's failure.
            return hand_on(index, result) if hand_on is not None else result

        return list(await asyncio.gather(*(guarded(i, job) for i, job in enumerate(jobs))))


async def _page(session: _Session, url: str) -> Page | Failure:
    scheme = urlsplit(url).scheme.lower()
    try:
        if scheme == "file":
            return read_file_page(url, session.opts.max_bytes)
        raw = await session.fetch(url, "page")
    except FetchError as exc:
        log.debug("%s: fetch failed: %s", url, exc.reason)
        return Failure(url, "fetch", exc.reason)
    if raw.status == 304 or not 200 <= raw.status < 300:
        return Failure(url, "fetch", f"HTTP {raw.status}")
    html, encoding = decode_html(raw.body, raw.headers.get("content-type"))
    return Page(
        url=url,
        final_url=raw.final_url,
        html=html,
        encoding=encoding,
        fetched_at=_now(),
        status=raw.status,
    )


async def _resource(session: _Session, job: tuple[str, Validators | None]) -> Resource | Failure:
    url, validators = job
    scheme = urlsplit(url).scheme.lower()
    try:
        if scheme == "file":
            body = _read_file(url, session.opts.max_bytes)
            return Resource(url, url, 200, body, None, Validators(), False)
        raw = await session.fetch(url, "resource", validators)
    except FetchError as exc:
        log.debug("%s: fetch failed: %s", url, exc.reason)
        return Failure(url, "fetch", exc.reason)
    got = Validators(raw.headers.get("etag"), raw.headers.get("last-modified"))
    if raw.status == 304:
        # Nothing new; keep the validators we sent when the 304 does not repeat them.
        kept = Validators(
            got.etag or (validators.etag if validators else None),
            got.last_modified or (validators.last_modified if validators else None),
        )
        return Resource(url, raw.final_url, 304, b"", raw.headers.get("content-type"), kept, True)
    if not 200 <= raw.status < 300:
        return Failure(url, "fetch", f"HTTP {raw.status}")
    return Resource(
        url, raw.final_url, raw.status, raw.body, raw.headers.get("content-type"), got, False
    )


async def fetch_pages_async(
    urls: Iterable[str], opts: FetchOptions, on_page: Callable[[int, Page], None] | None = None
) -> list[Page | Failure | None]:
    """Fetch every URL concurrently; results come back in input order. With ``on_page``,
    each page is handed to it (with its URL's index) as soon as it is decoded, and its place
    in the results is None."""

    def hand_on(index: int, result: Page | Failure) -> Page | Failure | None:
        if on_page is None or not isinstance(result, Page):
            return result
        on_page(index, result)
        return None

    return await _run(opts, list(urls), _page, hand_on)


def fetch_pages(
    urls: Iterable[str], opts: FetchOptions, on_page: Callable[[int, Page], None] | None = None
) -> tuple[list[Page], list[Failure]]:
    """Fetch URLs (http, https, file); return the pages and the failures with reasons.

    With ``on_page`` the pages are not returned but handed to it one by one as they arrive, in
    any order, with the index of their URL in ``urls``: a caller that writes them away never
    holds the whole batch. What ``on_page`` raises ends the call."""
    results = asyncio.run(fetch_pages_async(list(urls), opts, on_page))
    pages = [r for r in results if isinstance(r, Page)]
    failures = [r for r in results if isinstance(r, Failure)]
    return pages, failures


def fetch_resources(
    requests: list[tuple[str, Validators | None]], opts: FetchOptions
) -> tuple[list[Resource], list[Failure]]:
    """Download feeds, sitemaps and other files (http, https, file) under the same rules.

    Validators make the request conditional (``If-None-Match``/``If-Modified-Since``); a 304
    gives ``Resource(not_modified=True, body=b"")``. Bodies are returned as served: a gzipped
    sitemap stays gzip and the caller inflates it (``sitemaps.gunzip_limited``); HTTP
    ``Content-Encoding`` is undone here and counted against ``max_bytes``.
    """
    results = asyncio.run(_run(opts, list(requests), _resource))
    return (
        [r for r in results if isinstance(r, Resource)],
        [r for r in results if isinstance(r, Failure)],
    )
