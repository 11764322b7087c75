from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsflow.corpus_server import serve_directory
from newsflow.transforms.fetch.download import FetchOptions, fetch_resources
from newsflow.transforms.sources.discover import (
    SourcesFileError,
    SourceSpec,
    discover,
    load_sources_file,
    sniff_kind,
    specs_from_args,
)
from tests.unit.test_warc import build_warc


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


def test_a_malformed_url_is_one_failure_not_a_crash(tmp_path):
    # urllib raises its own ValueError on a bracket left open ("http://[::1/x").
    listing = tmp_path / "urls.txt"
    listing.write_text("https://a.example/1\nhttp://[::1/x\nhttps://b.example/2\n")
    found = discover([str(listing), "http://example.com]/y"])
    assert found.urls == ["https://a.example/1", "https://b.example/2"]
    assert [f.reason for f in found.failures] == [
        "not an http(s) or file URL: 'http://[::1/x'",
        "source not found (not a URL, directory or file)",
    ]


def test_missing_source_and_empty_directory_are_failures(tmp_path):
    found = discover([str(tmp_path / "nope"), str(tmp_path)])
    assert not found.urls
    assert [f.reason for f in found.failures] == [
        "source not found (not a URL, directory or file)",
        "directory holds no .html files",
    ]


# --- kinds, the sources file, discovery over HTTP -------------------------------------

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
OPTS = FetchOptions(timeout=3, retries=0, allowed_networks=("127.0.0.0/8",), obey_robots=False)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"WARC/1.1\r\nWARC-Type: warcinfo", "warc"),
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<rss version="2.0">', "feed"),
        (b'<rdf:RDF xmlns:rdf="...">', "feed"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">', "feed"),
        (b"<?xml version='1.0'?>\n<urlset xmlns=", "sitemap"),
        (b"<sitemapindex>", "sitemap"),
        (b"<!DOCTYPE html><html>", "page"),
        (b"https://a.example/1\nhttps://a.example/2\n", None),
    ],
)
def test_sniffing_the_first_bytes(head, kind):
    assert sniff_kind(head) == kind


def test_kind_from_extension_then_from_bytes(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "feed.dat").write_bytes((DATA / "atom.xml").read_bytes())
    (tmp_path / "map.gz").write_bytes(gzip.compress((DATA / "news-sitemap.xml").read_bytes()))
    (tmp_path / "crawl.bin").write_bytes(build_warc()[0])  # gzip: looked inside
    (tmp_path / "list.txt").write_text("https://a.example/1\n")
    args = {
        "https://x.example/news/rss.xml": "feed",
        "https://x.example/feed": "feed",
        "https://x.example/sitemap-news.xml.gz": "sitemap",
        "https://x.example/cc-news.warc.gz": "warc",
        "https://x.example/world/story.html": "page",
        "https://x.example/data.xml": None,  # only the downloaded bytes can tell
        str(tmp_path / "pages"): "directory",
        str(tmp_path / "feed.dat"): "feed",
        str(tmp_path / "map.gz"): "sitemap",
        str(tmp_path / "crawl.bin"): "warc",
        str(tmp_path / "list.txt"): "urls",
    }
    assert {s.name: s.kind for s in specs_from_args(args)} == args


def test_sources_file_is_validated_with_clear_errors(tmp_path):
    good = tmp_path / "sources.yaml"
    good.write_text(
        "sources:\n"
        "  - {name: wire, url: 'https://wire.example/rss', kind: feed, max_urls: 50}\n"
        "  - {name: saved, path: saved/}\n"
    )
    (tmp_path / "saved").mkdir()
    specs = load_sources_file(good)
    assert [(s.name, s.kind, s.max_urls) for s in specs] == [
        ("wire", "feed", 50),
        ("saved", "directory", 5000),
    ]
    assert specs[1].path == tmp_path / "saved"  # relative to the file

    cases = {
        "- {name: a}\n": "0: Value error, give exactly one of 'url' or 'path'",
        "- {name: a, url: 'https://a.example/', kind: blog}\n": "0.kind: Input should be",
        "- {name: a, url: 'ftp://a.example/'}\n": "url must be http(s)",
        "- {name: a, url: 'https://a.example/', max_urls: 0}\n": "0.max_urls: Input should be",
        "- {name: a, url: 'https://a.example/', colour: red}\n": "0.colour: Extra inputs",
        "- {name: a, url: 'https://a/'}\n- {name: a, url: 'https://b/'}\n": "repeated: a",
        "[]\n": "sources: List should have at least 1 item",
        "just text\n": "expected a list of sources",
        "- {name: a\n": "not valid YAML",
    }
    for i, (text, message) in enumerate(cases.items()):
        bad = tmp_path / f"bad{i}.yaml"
        bad.write_text(text)
        with pytest.raises(SourcesFileError) as caught:
            specs_from_args([str(bad)])
        assert str(caught.value).startswith(str(bad)), text
        assert message in str(caught.value), (text, str(caught.value))


class DictState:
    """Crawl state held in memory: what discovery asks, without a cluster."""

    def __init__(self, indexed: dict[str, datetime]) -> None:
        self._indexed = indexed

    def validators(self, urls):
        return {}

    def indexed(self, urls):
        return {u: self._indexed[u] for u in urls if u in self._indexed}


@pytest.fixture
def feed_site(tmp_path):
    (tmp_path / "feed.xml").write_bytes((DATA / "rss20.xml").read_bytes())
    (tmp_path / "news.xml").write_bytes((DATA / "news-sitemap.xml").read_bytes())
    (tmp_path / "broken.xml").write_bytes((DATA / "broken-rss.xml").read_bytes())
    (tmp_path / "data.xml").write_bytes((DATA / "atom.xml").read_bytes())
    with serve_directory(tmp_path) as base:
        yield base


def test_feeds_and_sitemaps_over_http_canonical_and_deduplicated(feed_site, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text("https://daily-ledger.example/uk-retail-sales.html?utm_source=x#top\n")
    found = discover(
        [f"{feed_site}/feed.xml", f"{feed_site}/news.xml", f"{feed_site}/data.xml", str(listing)],
        fetcher=fetch_resources,
        opts=OPTS,
    )
    assert found.urls == [
        "https://nordic-wire.example/gothenburg-port-strike.html",  # utm_* gone, host lowered
        f"{feed_site}/energy/baltic-cable.html",  # relative to the feed's URL
        "https://nordic-wire.example/guid-only.html",
        "https://daily-ledger.example/ecb-holds-rates.html",
        "https://daily-ledger.example/uk-retail-sales.html",
        "https://science-sentinel.example/seagrass.html",  # .xml sniffed as Atom; no fragment
        "https://science-sentinel.example/storm-isolde.html",
    ]
    assert [d.url for d in found.duplicates] == [
        "https://daily-ledger.example/uk-retail-sales.html"
    ]
    assert [(s.kind, s.found, s.new) for s in found.sources] == [
        ("feed", 3, 3),
        ("sitemap", 2, 2),
        ("feed", 2, 2),
        ("urls", 1, 0),
    ]
    hint = found.hints["https://daily-ledger.example/ecb-holds-rates.html"]
    assert hint["title"] == "ECB holds rates, signals December cut"
    # The entry without a link is reported against its feed.
    assert [(f.url, f.reason) for f in found.failures] == [
        (f"{feed_site}/feed.xml", "feed: entries without a link: 1")
    ]
    assert {s.url for s in found.states} == {
        f"{feed_site}/{n}" for n in ("feed.xml", "news.xml", "data.xml")
    }


def test_a_down_or_broken_feed_never_stops_the_others(feed_site):
    found = discover(
        [f"{feed_site}/missing.rss", f"{feed_site}/broken.xml", "https://a.example/page.html"],
        fetcher=fetch_resources,
        opts=OPTS,
    )
    assert found.urls == [
        "https://harbour-gazette.example/ferry.html",
        "https://harbour-gazette.example/storm.html",
        "https://a.example/page.html",
    ]
    reasons = [(f.url, f.reason.split(" (")[0]) for f in found.failures]
    assert (f"{feed_site}/missing.rss", "HTTP 404") in reasons
    assert any(
        u == f"{feed_site}/broken.xml" and r.startswith("feed: broken feed") for u, r in reasons
    )


def test_already_indexed_urls_are_skipped_unless_the_source_says_they_changed(feed_site):
    old = datetime(2026, 11, 1, tzinfo=UTC)  # before the feed's pubDate (3 November)
    recent = datetime(2026, 11, 10, tzinfo=UTC)
    state = DictState(
        {
            "https://nordic-wire.example/gothenburg-port-strike.html": old,  # changed since
            "https://nordic-wire.example/guid-only.html": old,  # no date in the feed: skip
            f"{feed_site}/energy/baltic-cable.html": recent,  # indexed after its date: skip
            "https://a.example/listed.html": recent,  # a single page is always fetched
        }
    )
    found = discover(
        [f"{feed_site}/feed.xml", "https://a.example/listed.html"],
        fetcher=fetch_resources,
        opts=OPTS,
        state=state,
    )
    assert found.urls == [
        "https://nordic-wire.example/gothenburg-port-strike.html",
        "https://a.example/listed.html",
    ]
    assert {s.url for s in found.already_indexed} == {
        "https://nordic-wire.example/guid-only.html",
        f"{feed_site}/energy/baltic-cable.html",
    }
    assert found.sources[0].already_indexed == 2 and found.sources[0].new == 1


def test_local_warc_source_gives_pages_without_any_fetcher(tmp_path):
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(build_warc()[0])
    found = discover([str(path)])  # no fetcher: nothing may be downloaded
    assert found.urls == []
    assert all(p.url.startswith("https://nordic-wire.example/") for p in found.pages)
    assert len(found.pages) == 4 and found.sources[0].kind == "warc"
    assert "WARC record not HTML: application/pdf" in [s.reason for s in found.duplicates]


def test_a_source_spec_needs_one_location():
    with pytest.raises(ValueError, match="exactly one"):
        SourceSpec(name="x", url="https://a.example/", path=Path("/tmp"))


def test_cli_run_refuses_a_bad_sources_file_before_anything_runs(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from newsflow.cli import app

    bad = tmp_path / "sources.yaml"
    bad.write_text("- {name: wire, url: 'https://wire.example/rss', kind: podcast}\n")
    # An unreachable cluster: the sources file must be refused before the cluster is asked.
    monkeypatch.setenv("NEWSFLOW_ES_URL", "http://127.0.0.1:9")
    result = CliRunner().invoke(app, ["run", "--source", str(bad)])
    assert result.exit_code == 2
    assert "invalid sources file" in result.output and "0.kind" in result.output


def test_validators_of_a_source_whose_article_failed_are_not_kept(feed_site):
    found = discover(
        [f"{feed_site}/feed.xml", f"{feed_site}/news.xml"], fetcher=fetch_resources, opts=OPTS
    )
    assert len(found.states) == 2
    failed = ["https://daily-ledger.example/ecb-holds-rates.html"]  # listed by the sitemap
    assert [s.url for s in found.states_to_save(failed)] == [f"{feed_site}/feed.xml"]
    assert len(found.states_to_save([])) == 2


def test_warc_from_a_url_is_downloaded_by_the_fetch_step_then_read(tmp_path):
    (tmp_path / "crawl.warc.gz").write_bytes(build_warc()[0])
    with serve_directory(tmp_path) as base:
        found = discover([f"{base}/crawl.warc.gz"], fetcher=fetch_resources, opts=OPTS)
    assert found.urls == [] and len(found.pages) == 4
    assert found.sources[0].kind == "warc" and found.sources[0].new == 4
    assert found.failures == []
