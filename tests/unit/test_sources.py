from __future__ import annotations

from transforms.sources import discover


def test_directory_becomes_file_urls_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.html").write_text("<p>2</p>")
    (tmp_path / "one.htm").write_text("<p>1</p>")
    (tmp_path / "notes.txt").write_text("not a page")
    found = discover([str(tmp_path)])
    assert found.urls == [(tmp_path / "b" / "two.html").as_uri(), (tmp_path / "one.htm").as_uri()]
    assert not found.failures


def test_url_list_skips_comments_reports_bad_lines_and_duplicates(tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "# news\nhttps://a.example/1\n\nnot a url\nhttps://a.example/1\nhttp://b.example/2\n"
    )
    found = discover([str(listing), "https://c.example/3"])
    assert found.urls == ["https://a.example/1", "http://b.example/2", "https://c.example/3"]
    assert [(f.url, f.stage) for f in found.failures] == [(f"{listing}:4", "discover")]
    assert "not a url" in found.failures[0].reason
    assert [d.url for d in found.duplicates] == ["https://a.example/1"]


def test_missing_source_and_empty_directory_are_failures(tmp_path):
    found = discover([str(tmp_path / "nope"), str(tmp_path)])
    assert not found.urls
    assert [f.reason for f in found.failures] == [
        "source not found (not a URL, directory or file)",
        "directory holds no .html files",
    ]
