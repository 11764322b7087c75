from __future__ import annotations

import pytest

from newsflow.transforms.fetch.download import FetchOptions, decode_html, fetch_pages

OPTS = FetchOptions(
    timeout=2.0,
    retries=1,
    max_bytes=200_000,
    max_redirects=3,
    backoff_base=0.05,
    allowed_networks=("127.0.0.0/8",),
)


def test_decode_prefers_header_charset_then_meta_then_utf8():
    text = "Café – señor"
    assert decode_html(text.encode("cp1252"), "text/html; charset=windows-1252") == (text, "cp1252")
    meta = b'<meta charset="iso-8859-1"><p>' + "Zürich".encode("latin-1")
    decoded, encoding = decode_html(meta)
    assert "Zürich" in decoded and encoding == "cp1252"
    assert decode_html("Kyiv’s".encode()) == ("Kyiv’s", "utf-8")


def test_decode_detects_undeclared_legacy_encoding_and_strips_bom():
    body = ("<p>" + "Les élèves de l’école sont arrivés à Genève. " * 20 + "</p>").encode("cp1252")
    decoded, _ = decode_html(body)
    assert "élèves" in decoded and "Genève" in decoded
    assert decode_html(b"\xef\xbb\xbf<p>x</p>") == ("<p>x</p>", "utf-8")


def test_decode_ignores_unknown_declared_charset():
    decoded, encoding = decode_html("ü".encode(), "text/html; charset=no-such-charset")
    assert (decoded, encoding) == ("ü", "utf-8")


def test_fetches_pages_and_reports_each_failure_with_its_reason(site):
    good = f"{site}/harbour-gazette/"
    urls = [
        f"{site}/WIRE_STORY.txt",  # text/plain
        f"{site}/no-such-page.html",
        f"{site}/broken/pdf",
        f"{site}/broken/slow",
        f"{site}/broken/error",
        f"{site}/broken/redirect-loop",
        f"{site}/broken/huge",
        "ftp://example.com/x",
        "http://127.0.0.1:1/refused",
    ]
    pages, failures = fetch_pages([good, *urls], OPTS)
    reasons = {f.url: f.reason for f in failures}
    assert [p.url for p in pages] == [good]
    assert set(reasons) == set(urls)
    assert reasons[f"{site}/WIRE_STORY.txt"].startswith("not HTML: content-type text/plain")
    assert reasons[f"{site}/no-such-page.html"] == "HTTP 404"
    assert reasons[f"{site}/broken/pdf"] == "not HTML: content-type application/pdf"
    assert reasons[f"{site}/broken/slow"].startswith("timeout after 2s")
    assert reasons[f"{site}/broken/error"] == "HTTP 503 (after 2 attempts)"
    assert reasons[f"{site}/broken/redirect-loop"].startswith("more than 3 redirects")
    assert reasons[f"{site}/broken/huge"].startswith("body larger than 200000 bytes")
    assert reasons["ftp://example.com/x"] == "unsupported URL scheme 'ftp'"
    assert reasons["http://127.0.0.1:1/refused"].startswith("connection failed")
    assert all(f.stage == "fetch" for f in failures)


def test_follows_redirects_and_keeps_the_final_url(site):
    pages, failures = fetch_pages([f"{site}/moved/harbour-gazette/"], OPTS)
    assert not failures
    assert pages[0].final_url == f"{site}/harbour-gazette/"


def test_reads_file_urls(tmp_path):
    page = tmp_path / "a.html"
    page.write_bytes("<html><p>Grüße aus Köln</p></html>".encode())
    pages, failures = fetch_pages([page.as_uri(), (tmp_path / "missing.html").as_uri()], OPTS)
    assert "Grüße aus Köln" in pages[0].html
    assert failures[0].reason.startswith("cannot read file")


def test_hands_each_page_on_as_it_arrives_with_its_index(site):
    urls = [
        f"{site}/no-such-page.html",
        f"{site}/harbour-gazette/",
        f"{site}/moved/harbour-gazette/",
    ]
    handed: list[tuple[int, str]] = []
    pages, failures = fetch_pages(urls, OPTS, on_page=lambda i, page: handed.append((i, page.url)))
    assert pages == []  # the receiver has them; the caller holds none
    assert sorted(handed) == [(1, urls[1]), (2, urls[2])]
    assert [(f.url, f.reason) for f in failures] == [(urls[0], "HTTP 404")]


def test_what_the_page_receiver_raises_ends_the_fetch(site):
    def full_disk(index: int, page) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        fetch_pages([f"{site}/harbour-gazette/"], OPTS, on_page=full_disk)
