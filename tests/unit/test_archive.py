"""The raw page archive: round trips on memory:// and a directory, dedupe, metadata, WARC."""

from __future__ import annotations

import gzip
import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from newsflow.store.archive import Archive, ArchiveError
from newsflow.transforms.models import Page

WHEN = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


def _page(url: str, html: str, *, when: datetime = WHEN, encoding: str = "utf-8") -> Page:
    return Page(
        url=url, final_url=url + "?final", html=html, encoding=encoding, fetched_at=when, status=200
    )


@pytest.fixture(params=["memory", "dir"])
def archive(request, tmp_path) -> Archive:
    if request.param == "memory":
        return Archive(f"memory://archive-{uuid.uuid4().hex}")
    return Archive(tmp_path / "archive")


def test_round_trip_keeps_the_text_and_the_fetch_metadata(archive):
    html = "<html><body><p>Smörgåsbord in Göteborg — “quoted”</p></body></html>"
    page = _page("https://news.example/a", html, encoding="cp1252")
    headers = {"Content-Type": "text/html; charset=windows-1252", "Set-Cookie": "secret=1"}
    record, new = archive.put(page, headers)
    assert new
    got = archive.get("https://news.example/a")
    assert got == record
    assert got.final_url == "https://news.example/a?final"
    assert (got.status, got.encoding, got.fetched_at) == (200, "cp1252", WHEN)
    assert got.headers == {"content-type": "text/html; charset=windows-1252"}  # no cookies
    assert got.sha256 == hashlib.sha256(html.encode("utf-8")).hexdigest()
    assert archive.load_page(got) == page


def test_blobs_are_gzip_and_content_addressed(archive):
    record, _ = archive.put(_page("https://news.example/a", "<p>hello</p>" * 500))
    path = archive.blob_path(record.sha256)
    assert path.endswith(f"/{record.sha256[:2]}/{record.sha256[2:4]}/{record.sha256}.html.gz")
    stored = archive.fs.cat_file(path)
    assert len(stored) < record.size / 10
    assert gzip.decompress(stored).decode() == "<p>hello</p>" * 500


def test_identical_pages_are_stored_once(archive):
    html = "<html><p>wire copy</p></html>"
    first, new1 = archive.put(_page("https://a.example/story", html))
    second, new2 = archive.put(_page("https://b.example/copy", html))
    again, new3 = archive.put(_page("https://a.example/story", html, when=WHEN + timedelta(1)))
    assert (new1, new2, new3) == (True, False, False)
    assert first.sha256 == second.sha256 == again.sha256
    assert len(archive.fs.find(f"{archive.root}/blobs")) == 1
    # Both URLs are indexed; the re-fetch moved "latest" without adding history.
    assert archive.get("https://b.example/copy").sha256 == first.sha256
    assert archive.get("https://a.example/story").fetched_at == WHEN + timedelta(1)
    assert len(archive.history("https://a.example/story")) == 1


def test_changed_page_keeps_its_history_latest_first(archive):
    url = "https://news.example/live"
    archive.put(_page(url, "<p>v1</p>"))
    archive.put(_page(url, "<p>v2</p>", when=WHEN + timedelta(hours=1)))
    versions = [archive.read_html(r) for r in archive.history(url)]
    assert versions == ["<p>v2</p>", "<p>v1</p>"]
    assert archive.read_html(archive.get(url)) == "<p>v2</p>"


def test_records_filter_by_date_and_host_newest_first(archive):
    archive.put(_page("https://www.alpha.example/old", "<p>1</p>", when=WHEN - timedelta(10)))
    archive.put(_page("https://alpha.example/new", "<p>2</p>", when=WHEN))
    archive.put(_page("https://beta.example/new", "<p>3</p>", when=WHEN + timedelta(1)))
    assert [r.url for r in archive.records()] == [
        "https://beta.example/new",
        "https://alpha.example/new",
        "https://www.alpha.example/old",
    ]
    assert [r.url for r in archive.records(since=date(2026, 11, 1))] == [
        "https://beta.example/new",
        "https://alpha.example/new",
    ]
    assert len(archive.records(source="alpha.example")) == 2  # www. or not, same site
    assert [r.url for r in archive.records(source="www.alpha.example", limit=1)] == [
        "https://alpha.example/new"
    ]


def test_an_empty_archive_has_no_records(archive):
    assert archive.records() == []
    assert archive.get("https://nowhere.example/") is None


def test_a_corrupt_or_missing_blob_is_a_failure_of_that_url_only(archive):
    good, _ = archive.put(_page("https://news.example/good", "<p>good</p>"))
    bad, _ = archive.put(_page("https://news.example/bad", "<p>bad</p>"))
    archive.fs.pipe_file(archive.blob_path(bad.sha256), gzip.compress(b"<p>tampered</p>"))
    with pytest.raises(ArchiveError, match="hash check"):
        archive.read_html(bad)
    results = list(archive.iter_pages([good, bad]))
    assert isinstance(results[0], Page) and results[0].html == "<p>good</p>"
    assert results[1].url == "https://news.example/bad"
    assert results[1].reason.startswith("archive read failed")


def test_archive_pages_reports_written_deduplicated_and_failed(tmp_path):
    target = tmp_path / "archive"
    archive = Archive(target)
    pages = [_page(f"https://news.example/{i}", f"<p>{i % 2}</p>") for i in range(4)]
    result = archive.archive_pages(pages)
    assert (result.written, result.deduplicated, result.failures) == (2, 2, [])
    # A store that cannot be written (its root is a file): each page is reported, none raises.
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    broken = Archive(blocked).archive_pages([_page("https://news.example/new", "<p>new</p>")])
    assert [f.url for f in broken.failures] == ["https://news.example/new"]
    assert broken.failures[0].reason.startswith("archive write failed")
