"""Incremental runs against the real node: feeds and sitemaps over real HTTP on 127.0.0.1.

The site serves demo-corpus pages, a feed and a sitemap with ETag/Last-Modified, answers
conditional requests with 304, and counts every request, so "zero article fetches" is what the
server saw, not what the summary claims.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler

import pytest
from elasticsearch import Elasticsearch

from newsflow.cli import DEMO_CORPUS
from newsflow.cli.run import sources_line
from newsflow.corpus_server import serve_directory
from newsflow.flows.ingest import ingest
from newsflow.settings import Settings
from newsflow.store.state import EsCrawlState, state_index
from tests.unit.test_warc import _record

pytestmark = pytest.mark.usefixtures("prefect_harness")

PAGES = sorted(p.relative_to(DEMO_CORPUS).as_posix() for p in DEMO_CORPUS.glob("*/*.html"))
FEED_PAGES, SITEMAP_PAGES, NEW_PAGE = PAGES[0:3], PAGES[3:5], PAGES[5]
WARC_PAGES = PAGES[10:12]
LAST_MODIFIED = "Mon, 02 Nov 2026 08:00:00 GMT"


@dataclass
class SiteState:
    feed_pages: list[str] = field(default_factory=lambda: list(FEED_PAGES))
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def article_requests(self) -> list[str]:
        return [p for p in self.requests if p.endswith(".html")]


def _handler(site: SiteState) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def do_GET(self):
            with site.lock:
                site.requests.append(self.path)
            if self.path == "/feed.xml":
                return self._xml(self._feed())
            if self.path == "/sitemap.xml":
                return self._xml(self._sitemap())
            return super().do_GET()

        def _feed(self) -> bytes:
            items = "".join(
                f"<item><title>{p}</title><link>{self._base()}/{p}?utm_source=rss</link>"
                "<pubDate>Sun, 01 Nov 2026 08:00:00 GMT</pubDate></item>"
                for p in site.feed_pages
            )
            return f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()

        def _sitemap(self) -> bytes:
            urls = "".join(
                f"<url><loc>{self._base()}/{p}</loc><lastmod>2026-11-01</lastmod></url>"
                for p in SITEMAP_PAGES
            )
            ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
            return f'<urlset xmlns="{ns}">{urls}</urlset>'.encode()

        def _base(self) -> str:
            return f"http://127.0.0.1:{self.server.server_address[1]}"

        def _xml(self, body: bytes) -> None:
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def news_site() -> Iterator[tuple[str, SiteState]]:
    state = SiteState()
    with serve_directory(DEMO_CORPUS, handler_class=_handler(state)) as base:
        yield base, state


@pytest.fixture
def run_settings(settings: Settings, es_client: Elasticsearch) -> Iterator[Settings]:
    yield settings.model_copy(
        update={"allowed_private_networks": ["127.0.0.0/8"], "archive_enabled": False}
    )
    # Indices these runs created besides the alias's own (removed by fresh_alias).
    for suffix in ("state", "runs", "deadletter"):
        es_client.options(ignore_status=404).indices.delete(index=f"{settings.index}-{suffix}")


def test_second_run_over_unchanged_sources_fetches_no_article(news_site, run_settings, es_client):
    base, site = news_site
    sources = [f"{base}/feed.xml", f"{base}/sitemap.xml"]

    first = ingest(sources, run_settings)
    assert first["failures"] == []
    assert first["indexed"] == len(FEED_PAGES) + len(SITEMAP_PAGES)
    assert sorted(site.article_requests()) == sorted(f"/{p}" for p in FEED_PAGES + SITEMAP_PAGES)
    # The tracking parameter was dropped before fetching and indexing.
    assert not any("utm_" in p for p in site.requests)
    stored = EsCrawlState(es_client, run_settings.index).validators(sources)
    assert set(stored) == set(sources) and all(v.etag for v in stored.values())

    # Second run: both sources answer 304 to the stored ETag; nothing is fetched.
    site.requests.clear()
    second = ingest(sources, run_settings)
    assert site.article_requests() == []
    assert sorted(site.requests) == ["/feed.xml", "/sitemap.xml"]
    assert (second["article_fetches"], second["fetched"], second["indexed"]) == (0, 0, 0)
    assert second["not_modified"] == 2
    assert [s["not_modified"] for s in second["sources"]] == [True, True]
    assert sources_line(second).startswith("nothing new: 0 article fetches")

    # A new entry in the feed: the feed changes (new ETag), only the new article is fetched,
    # the others are found in the index.
    site.feed_pages.append(NEW_PAGE)
    site.requests.clear()
    third = ingest(sources, run_settings)
    assert site.article_requests() == [f"/{NEW_PAGE}"]
    assert (third["article_fetches"], third["indexed"]) == (1, 1)
    assert third["already_indexed"] == len(FEED_PAGES)
    assert third["not_modified"] == 1  # the sitemap
    assert es_client.count(index=run_settings.index)["count"] == len(PAGES[:6])


def test_unchanged_feed_without_validators_skips_what_is_indexed(
    news_site, run_settings, es_client
):
    base, site = news_site
    feed = f"{base}/feed.xml"
    ingest([feed], run_settings)
    # Forget the validators: the feed is read in full, its articles are found in the index.
    es_client.indices.delete(index=state_index(run_settings.index))
    site.requests.clear()
    again = ingest([feed], run_settings)
    assert site.requests == ["/feed.xml"]
    assert again["already_indexed"] == len(FEED_PAGES) and again["article_fetches"] == 0
    assert sources_line(again).startswith("nothing new: 0 article fetches")


def test_warc_source_is_indexed_without_any_http_request(
    news_site, run_settings, es_client, tmp_path
):
    from warcio.warcwriter import WARCWriter

    _, site = news_site
    path = tmp_path / "news.warc.gz"
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for page in WARC_PAGES:
            body = (DEMO_CORPUS / page).read_bytes()
            _record(writer, f"https://archive.example/{page}", body, "text/html; charset=utf-8")
        _record(writer, "https://archive.example/logo.png", b"\x89PNG", "image/png")

    summary = ingest([str(path)], run_settings)
    assert site.requests == []
    assert summary["fetched"] == 0 and summary["article_fetches"] == 0
    assert summary["from_warc"] == summary["indexed"] == len(WARC_PAGES)
    assert summary["sources"][0]["kind"] == "warc"
    assert [s["reason"] for s in summary["skips"]] == ["WARC record not HTML: image/png"]
    hits = es_client.search(index=run_settings.index, query={"match_all": {}})["hits"]["hits"]
    assert {h["_source"]["fetched_at"][:10] for h in hits} == {"2026-11-02"}  # WARC-Date
