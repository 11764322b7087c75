"""Limits and the resource API of the fetch step against real local servers: deadline, size
(also after decompression), binary bodies, charsets, conditional requests, SSRF on redirects."""

from __future__ import annotations

import gzip
import time
import zlib

from newsflow.transforms.fetch.download import FetchOptions, fetch_pages, fetch_resources
from newsflow.transforms.fetch.robots import RobotsCache
from newsflow.transforms.models import Validators
from tests.unit.fetch_server import page, send, serve


def opts(**changes) -> FetchOptions:
    base = {
        "timeout": 1.0,
        "deadline": 5.0,
        "retries": 1,
        "backoff_base": 0.05,
        "max_bytes": 100_000,
        "allowed_networks": ("127.0.0.1/32",),
        "robots": RobotsCache(),
    }
    return FetchOptions(**(base | changes))


def trickle(h):
    try:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):  # one byte every 0.2 s: never idle long enough for a read timeout
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.2)
    except (BrokenPipeError, ConnectionResetError):
        pass


def test_trickling_server_is_cut_off_by_the_deadline():
    with serve({"/trickle": trickle}) as site:
        began = time.monotonic()
        pages, failures = fetch_pages([site.url("/trickle")], opts(deadline=1.5))
        spent = time.monotonic() - began
        assert len(site.recorder.of("/trickle")) == 1  # not retried
    assert not pages
    assert failures[0].reason == "deadline of 1.5s exceeded (slow download)"
    assert spent < 5


def chunked(h, body: bytes, headers: dict[str, str]):
    try:
        h.send_response(200)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for i in range(0, len(body), 16384):
            part = body[i : i + 16384]
            h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        h.wfile.write(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass


def test_oversized_body_without_length_and_gzip_bomb_are_aborted():
    big = b"<html><body>" + b"<p>word</p>" * 100_000
    bomb = gzip.compress(b"<html>" + b" " * 20_000_000, compresslevel=9)
    assert len(bomb) < 100_000  # small on the wire, huge once inflated
    routes = {
        "/big": lambda h: chunked(h, big, {"Content-Type": "text/html"}),
        "/declared": lambda h: send(h, 200, big),
        "/bomb": lambda h: send(h, 200, bomb, headers={"Content-Encoding": "gzip"}),
        "/small-gzip": lambda h: send(
            h, 200, gzip.compress(page("zipped")), headers={"Content-Encoding": "gzip"}
        ),
        "/deflate": lambda h: send(
            h, 200, zlib.compress(page("deflated")), headers={"Content-Encoding": "deflate"}
        ),
        "/deflate-bomb": lambda h: send(
            h, 200, zlib.compress(b" " * 5_000_000, 9), headers={"Content-Encoding": "deflate"}
        ),
    }
    with serve(routes) as site:
        urls = [site.url(p) for p in routes]
        pages, failures = fetch_pages(urls, opts())
    reasons = {f.url.rsplit("/", 1)[1]: f.reason for f in failures}
    assert reasons == {
        "big": "body larger than 100000 bytes (after decompression)",
        "declared": f"body larger than 100000 bytes ({len(big)} declared)",
        "bomb": "body larger than 100000 bytes (after decompression)",
        "deflate-bomb": "body larger than 100000 bytes (after decompression)",
    }
    assert [p.url for p in pages] == [site.url("/small-gzip"), site.url("/deflate")]
    assert "zipped" in pages[0].html and "deflated" in pages[1].html


def test_binary_served_as_html_is_refused():
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    blob = b"\x13\x00\x07\x00\x00garbage" + bytes(range(256))
    routes = {
        "/png": lambda h: send(h, 200, png),
        "/blob": lambda h: send(h, 200, blob, content_type=None),
        "/pdf": lambda h: send(h, 200, b"%PDF-1.7\n...", "text/html; charset=utf-8"),
    }
    with serve(routes) as site:
        pages, failures = fetch_pages([site.url(p) for p in routes], opts())
    reasons = {f.url.rsplit("/", 1)[1]: f.reason for f in failures}
    assert not pages
    assert reasons["png"] == "binary content (PNG image) served as text/html; charset=utf-8"
    assert reasons["blob"] == "binary content (binary data (NUL bytes)) served as None"
    assert reasons["pdf"].startswith("binary content (PDF)")


def test_wrong_and_missing_charsets_are_decoded_right():
    text = "Les élèves de l’école sont arrivés à Genève ce matin. " * 20
    legacy = page(text).decode().encode("cp1252")
    meta_only = f'<html><head><meta charset="windows-1251"></head><p>{"Привет, мир"}</p>'
    routes = {
        "/lying": lambda h: send(h, 200, legacy, "text/html; charset=utf-8"),
        "/missing": lambda h: send(h, 200, legacy, "text/html"),
        "/meta": lambda h: send(h, 200, meta_only.encode("cp1251"), "text/html"),
        "/utf8": lambda h: send(h, 200, page("Grüße aus Köln").decode().encode(), "text/html"),
    }
    with serve(routes) as site:
        pages, failures = fetch_pages([site.url(p) for p in routes], opts())
    assert not failures
    html = {p.url.rsplit("/", 1)[1]: (p.html, p.encoding) for p in pages}
    assert "élèves de l’école" in html["lying"][0] and html["lying"][1] == "cp1252"
    assert "élèves de l’école" in html["missing"][0]
    assert "Привет, мир" in html["meta"][0] and html["meta"][1] == "cp1251"
    assert "Grüße aus Köln" in html["utf8"][0] and html["utf8"][1] == "utf-8"


def test_conditional_requests_and_304():
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    stamp = "Wed, 25 Nov 2026 10:00:00 GMT"

    def rss(h):
        if h.headers.get("If-None-Match") == '"v1"':
            send(h, 304, content_type=None, headers={"ETag": '"v1"'})
        else:
            send(h, 200, feed, "application/rss+xml", {"ETag": '"v1"', "Last-Modified": stamp})

    with serve({"/feed": rss}) as site:
        o = opts()
        first, f1 = fetch_resources([(site.url("/feed"), None)], o)
        known = first[0].validators
        second, f2 = fetch_resources([(site.url("/feed"), known)], o)
        sent = site.recorder.of("/feed")[1].headers
    assert not f1 and not f2
    assert first[0].body == feed and not first[0].not_modified and first[0].status == 200
    assert known == Validators(etag='"v1"', last_modified=stamp)
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == stamp
    assert second[0].not_modified and second[0].body == b"" and second[0].validators == known


def test_resources_accept_xml_and_gzip_refuse_images_and_read_files(tmp_path):
    sitemap = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>'
    gz = gzip.compress(sitemap)
    routes = {
        "/sitemap.xml.gz": lambda h: send(h, 200, gz, "application/x-gzip"),
        "/sitemap.xml": lambda h: send(h, 200, sitemap, "text/xml; charset=utf-8"),
        "/logo.png": lambda h: send(h, 200, b"\x89PNG....", "image/png"),
        "/missing.xml": lambda h: send(h, 404, b"no", "text/plain"),
    }
    local = tmp_path / "feed.xml"
    local.write_bytes(sitemap)
    with serve(routes) as site:
        requests = [(site.url(p), None) for p in routes] + [(local.as_uri(), None)]
        resources, failures = fetch_resources(requests, opts())
    got = {r.url.rsplit("/", 1)[1]: r.body for r in resources}
    assert got == {"sitemap.xml.gz": gz, "sitemap.xml": sitemap, "feed.xml": sitemap}
    reasons = {f.url.rsplit("/", 1)[1]: f.reason for f in failures}
    assert reasons == {"logo.png": "unexpected content-type image/png", "missing.xml": "HTTP 404"}


def test_redirects_to_private_and_metadata_addresses_are_refused():
    routes = {
        "/to-private": lambda h: send(h, 302, headers={"Location": "http://10.0.0.1/admin"}),
        "/to-metadata": lambda h: send(
            h, 301, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
        ),
        "/to-other-loopback": lambda h: send(h, 302, headers={"Location": "http://127.0.0.2:9/"}),
    }
    with serve(routes) as site:
        pages, failures = fetch_pages([site.url(p) for p in routes], opts())
    reasons = {f.url.rsplit("/", 1)[1]: f.reason for f in failures}
    hint = "(allow it with NEWSFLOW_ALLOWED_PRIVATE_NETWORKS)"
    assert not pages
    assert reasons == {
        "to-private": f"refused: 10.0.0.1 is a private address {hint}",
        "to-metadata": f"refused: 169.254.169.254 is a cloud metadata address {hint}",
        "to-other-loopback": f"refused: 127.0.0.2 is a loopback address {hint}",
    }


def test_redirect_limit_and_scheme_checked_on_each_hop():
    routes = {
        "/loop": lambda h: send(h, 302, headers={"Location": "/loop"}),
        "/to-file": lambda h: send(h, 302, headers={"Location": "file:///etc/passwd"}),
    }
    with serve(routes) as site:
        _, failures = fetch_pages([site.url(p) for p in routes], opts(max_redirects=2))
        loops = len(site.recorder.of("/loop"))
    reasons = {f.url.rsplit("/", 1)[1]: f.reason for f in failures}
    assert reasons == {"loop": "more than 2 redirects", "to-file": "unsupported URL scheme 'file'"}
    assert loops == 3
