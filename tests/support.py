"""A local web site for tests: the demo corpus plus pages that misbehave on purpose; an alias
table of the tests' own."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from newsflow import es_local
from newsflow.cli import DEMO_CORPUS
from newsflow.corpus_server import serve_directory
from newsflow.settings import Settings
from newsflow.transforms.enrich.entities import ALIASES_PATH, Mention, group_mentions
from newsflow.transforms.models import Article

EMPTY_PAGE = (
    b"<!doctype html><html><head><title>Nothing</title></head><body><nav>Home</nav></body></html>"
)


def make_article(url: str, body: str = "b", *, title: str = "t", **fields: object) -> Article:
    """An article as the clean step gives it, from ``url`` with ``body`` and nothing else known
    unless ``fields`` says (``published``, ``final_url``, ``fetched_at``...)."""
    values: dict[str, object] = {
        "url": url,
        "canonical_url": fields.get("final_url") or url,
        "title": title,
        "body": body,
        "authors": [],
        "published": None,
        "site_name": None,
        "source": "example.org",
        "language": "en",
        "tags": [],
        "section": None,
        "description": None,
        "image": None,
        "fetched_at": datetime(2026, 11, 1, tzinfo=UTC),
        "word_count": len(body.split()),
    }
    return Article(**(values | fields))  # type: ignore[arg-type]


def load_manifest() -> dict[str, dict]:
    """What the demo corpus pages hold, written down when the pages were written."""
    manifest: dict[str, dict] = {}
    for path in sorted(DEMO_CORPUS.glob("manifest-*.json")):
        manifest.update(json.loads(path.read_text(encoding="utf-8")))
    return manifest


def alias_table(path: Path, **entries: dict[str, list[str]]) -> Path:
    """A copy of ``mappings/aliases.json`` at ``path`` with ``entries`` (facet type -> {canonical
    name: aliases}) merged in. Without entries it names the same entities in other bytes, which
    is another enrichment version all the same."""
    table = json.loads(ALIASES_PATH.read_text(encoding="utf-8"))
    table["_copy"] = "written by tests/support.py"
    for facet, names in entries.items():
        table[facet] = {**table.get(facet, {}), **names}
    path.write_text(json.dumps(table, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


class _Handler(SimpleHTTPRequestHandler):
    slow_seconds = 5.0

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        special = {
            "/broken/slow": self._slow,
            "/broken/pdf": self._pdf,
            "/broken/empty": self._empty,
            "/broken/error": self._error,
            "/broken/redirect-loop": self._loop,
            "/broken/huge": self._huge,
        }
        handler = special.get(self.path)
        if handler:
            return handler()
        if self.path.startswith("/moved/"):
            self.send_response(301)
            self.send_header("Location", "/" + self.path.removeprefix("/moved/"))
            self.end_headers()
            return None
        return super().do_GET()

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8"):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (timeouts, size limits): that is the point

    def _slow(self):
        time.sleep(self.slow_seconds)
        self._send(200, EMPTY_PAGE)

    def _pdf(self):
        self._send(200, b"%PDF-1.4 not a page", "application/pdf")

    def _empty(self):
        self._send(200, EMPTY_PAGE)

    def _error(self):
        self._send(503, b"unavailable")

    def _loop(self):
        self.send_response(302)
        self.send_header("Location", "/broken/redirect-loop")
        self.end_headers()

    def _huge(self):
        self._send(200, b"<html><body>" + b"<p>word </p>" * 1_000_000 + b"</body></html>")


@contextmanager
def local_site(root: Path = DEMO_CORPUS) -> Iterator[str]:
    """Serve ``root`` plus the ``/broken/*`` pages on 127.0.0.1; yields the base URL."""
    with serve_directory(root, handler_class=_Handler) as base_url:
        yield base_url


@contextmanager
def running_local_es(settings: Settings, timeout: float = 420.0) -> Iterator[Settings]:
    """Start the local node or cluster that ``settings`` describe (their own state directory
    and ports, never the shared node's), and stop every node of it afterwards, also when the
    start failed half-way."""
    try:
        es_local.start(settings, timeout=timeout, log=lambda _m: None)
        yield settings
    finally:
        es_local.stop(settings, log=lambda _m: None)


class NewsSite:
    """A site of demo-corpus pages with ``/sitemap.xml`` listing them: the sitemap has an ETag
    and answers a conditional request with 304; each page is answered after ``delay`` seconds
    (a slow site keeps a run going long enough to be killed); article requests are counted."""

    def __init__(self, pages: list[str], delay: float = 0.0) -> None:
        self.pages, self.delay = pages, delay
        self.article_requests: list[str] = []
        self.base_url = ""

    @property
    def sitemap_url(self) -> str:
        return f"{self.base_url}/sitemap.xml"

    def page_urls(self) -> list[str]:
        return [f"{self.base_url}/{p}" for p in self.pages]

    def sitemap(self) -> bytes:
        ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
        urls = "".join(f"<url><loc>{u}</loc></url>" for u in self.page_urls())
        return f'<urlset xmlns="{ns}">{urls}</urlset>'.encode()

    def handler(self) -> type[SimpleHTTPRequestHandler]:
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_GET(self):
                if self.path == "/sitemap.xml":
                    return self._sitemap()
                if self.path.endswith(".html"):
                    site.article_requests.append(self.path)  # list.append: thread-safe
                    time.sleep(site.delay)
                try:
                    return super().do_GET()
                except (BrokenPipeError, ConnectionResetError):
                    return None  # a run killed while it downloaded: that is the test

            def _sitemap(self):
                body = site.sitemap()
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                self.send_response(304 if self.headers.get("If-None-Match") == etag else 200)
                self.send_header("ETag", etag)
                if self.headers.get("If-None-Match") == etag:
                    self.end_headers()
                    return
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


@contextmanager
def news_site(pages: list[str], delay: float = 0.0) -> Iterator[NewsSite]:
    """Serve a ``NewsSite`` of the demo corpus ``pages`` on 127.0.0.1."""
    site = NewsSite(pages, delay)
    with serve_directory(DEMO_CORPUS, handler_class=site.handler()) as base_url:
        site.base_url = base_url
        yield site


def resolve(text: str, *spans: tuple[str, str], aliases_path=None) -> dict[str, str]:
    """Canonical name -> facet type, for mentions given as (text as written, spaCy label);
    each is located at its first occurrence in ``text`` at or after the previous one."""
    mentions, at = [], 0
    for written, label in spans:
        start = text.index(written, at)
        mentions.append(Mention(written, label, start))
        at = start + 1
    entities = group_mentions(mentions, text, aliases_path=aliases_path)
    return {e.name: e.type for e in entities}
