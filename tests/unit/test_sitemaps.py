from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from newsflow.corpus_server import serve_directory
from newsflow.transforms.models import Failure
from newsflow.transforms.sources.sitemaps import (
    SitemapError,
    crawl_sitemaps,
    gunzip_limited,
    parse_sitemap,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def urlset(*locs: str) -> str:
    items = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return f'<?xml version="1.0"?><urlset {NS}>{items}</urlset>'


def index(*locs: str) -> str:
    items = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f'<?xml version="1.0"?><sitemapindex {NS}>{items}</sitemapindex>'


class Site:
    """Sitemaps written to a directory, served over real HTTP; counts requests per path."""

    def __init__(self, root: Path, base: str) -> None:
        self.root, self.base = root, base
        self.requested: list[str] = []

    def write(self, name: str, text: str, gz: bool = False) -> str:
        data = text.replace("{base}", self.base).encode()
        (self.root / name).write_bytes(gzip.compress(data) if gz else data)
        return f"{self.base}/{name}"

    def fetch(self, urls: list[str]) -> dict[str, bytes | Failure | None]:
        out: dict[str, bytes | Failure | None] = {}
        with httpx.Client(timeout=5) as client:
            for url in urls:
                self.requested.append(url.removeprefix(self.base))
                reply = client.get(url)
                ok = reply.status_code == 200
                out[url] = (
                    reply.content if ok else Failure(url, "discover", f"HTTP {reply.status_code}")
                )
        return out


@pytest.fixture
def site(tmp_path):
    with serve_directory(tmp_path) as base:
        yield Site(tmp_path, base)


def test_urlset_with_lastmod():
    parsed = parse_sitemap(
        f"<urlset {NS}><url><loc> https://a.example/1 </loc><lastmod>2026-11-03T10:00:00Z</lastmod>"
        f"</url><url><loc>https://a.example/2</loc></url><url><lastmod>2026-01-01</lastmod></url>"
        "</urlset>".encode()
    )
    assert parsed.kind == "urlset"
    assert [(e.loc, e.lastmod) for e in parsed.entries] == [
        ("https://a.example/1", datetime(2026, 11, 3, 10, 0, tzinfo=UTC)),
        ("https://a.example/2", None),
    ]


def test_google_news_sitemap_keeps_title_and_publication_date_as_hints():
    parsed = parse_sitemap((DATA / "news-sitemap.xml").read_bytes())
    first, second = parsed.entries
    assert first.loc == "https://daily-ledger.example/ecb-holds-rates.html"
    assert first.news_title == "ECB holds rates, signals December cut"
    assert first.news_published == datetime(2026, 11, 4, 15, 20, tzinfo=UTC)
    assert first.changed_at == first.news_published
    assert second.lastmod == datetime(2026, 11, 3, tzinfo=UTC) and second.news_title is None


def test_billion_laughs_is_refused_without_expanding():
    body = (DATA / "billion-laughs.xml").read_bytes()
    started = time.perf_counter()
    with pytest.raises(SitemapError):  # refused by libxml2 or by our DTD check
        parse_sitemap(body)
    assert time.perf_counter() - started < 1.0  # 10^9 "lol"s would take far longer and GBs


def test_external_entity_is_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file://{secret}">]>'
        f"<urlset {NS}><url><loc>https://a.example/&x;</loc></url></urlset>"
    ).encode()
    with pytest.raises(SitemapError):
        parse_sitemap(body)


def test_gzip_bomb_stops_at_the_limit():
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < 50_000
    with pytest.raises(SitemapError, match="inflates beyond"):
        gunzip_limited(bomb, 1_000_000)


@pytest.mark.parametrize("body", [b"<html><p>page</p></html>", b"<urlset", b"\x1f\x8bnot gzip"])
def test_not_a_sitemap_raises(body):
    with pytest.raises(SitemapError):
        parse_sitemap(body)


def test_nested_gzipped_index_is_followed_over_http(site):
    site.write("news-1.xml.gz", urlset("{base}/a.html", "{base}/b.html"), gz=True)
    site.write("news-2.xml", urlset("{base}/c.html"))
    site.write("sub-index.xml.gz", index("{base}/news-2.xml"), gz=True)
    root = site.write("sitemap.xml", index("{base}/news-1.xml.gz", "{base}/sub-index.xml.gz"))
    crawl = crawl_sitemaps(root, site.fetch)
    assert [e.loc for e in crawl.entries] == [
        f"{site.base}/{n}" for n in ("a.html", "b.html", "c.html")
    ]
    assert not crawl.failures and not crawl.truncated
    assert sorted(site.requested) == sorted(
        ["/sitemap.xml", "/news-1.xml.gz", "/sub-index.xml.gz", "/news-2.xml"]
    )


def test_loops_are_detected_and_each_sitemap_read_once(site):
    # root -> a -> (root, a itself, b); b -> (a, leaf)
    site.write("leaf.xml", urlset("{base}/x.html"))
    site.write("b.xml", index("{base}/a.xml", "{base}/leaf.xml"))
    site.write("a.xml", index("{base}/sitemap.xml", "{base}/a.xml", "{base}/b.xml"))
    root = site.write("sitemap.xml", index("{base}/a.xml"))
    crawl = crawl_sitemaps(root, site.fetch, max_depth=10)
    assert [e.loc for e in crawl.entries] == [f"{site.base}/x.html"]
    loops = [f.reason for f in crawl.failures]
    assert loops == [
        f"sitemap loop: lists its ancestor {site.base}/sitemap.xml",
        f"sitemap loop: lists its ancestor {site.base}/a.xml",
        f"sitemap loop: lists its ancestor {site.base}/a.xml",
    ]
    assert sorted(site.requested) == ["/a.xml", "/b.xml", "/leaf.xml", "/sitemap.xml"]


def test_depth_bound(site):
    site.write("level2.xml", urlset("{base}/deep.html"))
    site.write("level1.xml", index("{base}/level2.xml"))
    root = site.write("sitemap.xml", index("{base}/level1.xml"))
    crawl = crawl_sitemaps(root, site.fetch, max_depth=1)
    assert crawl.entries == [] and crawl.truncated
    assert [(f.url, f.reason) for f in crawl.failures] == [
        (f"{site.base}/level2.xml", "sitemap depth bound 1 reached")
    ]
    assert "/level2.xml" not in site.requested


def test_sitemap_and_url_count_bounds(site):
    for i in range(5):
        site.write(f"s{i}.xml", urlset(*(f"{{base}}/{i}-{j}.html" for j in range(10))))
    root = site.write("sitemap.xml", index(*(f"{{base}}/s{i}.xml" for i in range(5))))
    crawl = crawl_sitemaps(root, site.fetch, max_sitemaps=3)
    assert len(site.requested) == 3  # the root and two children
    assert len(crawl.entries) == 20
    assert sum("count bound 3" in f.reason for f in crawl.failures) == 3
    site.requested.clear()
    crawl = crawl_sitemaps(root, site.fetch, max_urls=15)
    assert len(crawl.entries) == 15 and crawl.truncated


def test_a_broken_child_does_not_sink_the_others(site):
    site.write("good.xml", urlset("{base}/ok.html"))
    site.write("bad.xml", "<urlset><url><loc>oops")
    root = site.write(
        "sitemap.xml", index("{base}/bad.xml", "{base}/missing.xml", "{base}/good.xml")
    )
    crawl = crawl_sitemaps(root, site.fetch)
    assert [e.loc for e in crawl.entries] == [f"{site.base}/ok.html"]
    reasons = {f.url: f.reason for f in crawl.failures}
    assert reasons[f"{site.base}/bad.xml"].startswith("sitemap: malformed XML")
    assert reasons[f"{site.base}/missing.xml"] == "HTTP 404"
