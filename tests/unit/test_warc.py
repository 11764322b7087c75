from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsflow.cli import DEMO_CORPUS
from newsflow.transforms.sources.warc import read_warc

PAGES = sorted(DEMO_CORPUS.glob("nordic-wire/*.html"))[:3]


def _record(writer: WARCWriter, uri: str, body: bytes, content_type: str, status="200 OK"):
    headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    record = writer.create_warc_record(
        uri,
        "response",
        payload=io.BytesIO(body),
        http_headers=headers,
        warc_headers_dict={"WARC-Date": "2026-11-02T10:30:00Z"},
    )
    writer.write_record(record)


def build_warc(gz: bool = True) -> tuple[bytes, int]:
    """Corpus pages, a PDF, a redirect and a request record; returns bytes and the offset after
    the last complete HTML record."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gz)
    writer.write_record(writer.create_warcinfo_record("test.warc.gz", {"software": "test"}))
    for path in PAGES:
        uri = f"https://nordic-wire.example/{path.name}"
        writer.write_record(
            writer.create_warc_record(uri, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"))
        )
        _record(writer, uri, path.read_bytes(), "text/html; charset=utf-8")
    _record(writer, "https://nordic-wire.example/report.pdf", b"%PDF-1.4 ...", "application/pdf")
    _record(writer, "https://nordic-wire.example/old", b"", "text/html", "301 Moved Permanently")
    complete = out.tell()
    _record(writer, "https://nordic-wire.example/last.html", PAGES[0].read_bytes(), "text/html")
    return out.getvalue(), complete


@pytest.mark.parametrize("gz", [True, False])
def test_html_responses_become_pages_others_are_skipped_with_a_reason(tmp_path, gz):
    data, _ = build_warc(gz)
    path = tmp_path / ("crawl.warc.gz" if gz else "crawl.warc")
    path.write_bytes(data)
    with path.open("rb") as stream:
        read = read_warc(stream, str(path))
    urls = [f"https://nordic-wire.example/{p.name}" for p in PAGES]
    assert [p.url for p in read.pages] == [*urls, "https://nordic-wire.example/last.html"]
    first = read.pages[0]
    assert first.html == PAGES[0].read_text(encoding="utf-8")
    assert first.final_url == urls[0] and first.encoding == "utf-8"
    assert first.fetched_at == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    assert [(s.url, s.reason) for s in read.skipped] == [
        ("https://nordic-wire.example/report.pdf", "WARC record not HTML: application/pdf"),
        ("https://nordic-wire.example/old", "WARC response status 301"),
    ]
    assert read.failures == []
    assert read.records == 1 + 2 * len(PAGES) + 3


def test_a_record_cut_in_its_body_is_reported_and_earlier_pages_kept():
    data, _ = build_warc()
    read = read_warc(io.BytesIO(data[:-200]), "cut.warc.gz")
    assert len(read.pages) == len(PAGES)
    assert [(f.url, f.reason) for f in read.failures] == [
        ("https://nordic-wire.example/last.html", "WARC record truncated")
    ]


@pytest.mark.parametrize("gz", [True, False])
def test_a_record_cut_in_its_headers_is_reported(gz):
    data, complete = build_warc(gz)
    for cut in (30, 60, 120, 300):
        read = read_warc(io.BytesIO(data[: complete + cut]), "cut.warc")
        assert len(read.pages) == len(PAGES), cut
        assert [f.url for f in read.failures] == ["cut.warc"], cut
        assert "truncated" in read.failures[0].reason, cut


@pytest.mark.parametrize("junk", [b"this is not a WARC file at all\r\n" * 10, b"", b"<html>"])
def test_garbage_is_a_failure_not_a_crash(junk):
    read = read_warc(io.BytesIO(junk), "junk.warc")
    assert read.pages == []
    assert [(f.url, f.reason) for f in read.failures] == [("junk.warc", "not a WARC or ARC file")]


def test_max_pages_bounds_a_large_file():
    data, _ = build_warc()
    read = read_warc(io.BytesIO(data), "crawl.warc.gz", max_pages=2)
    assert len(read.pages) == 2 and read.truncated == len(PAGES) - 1
