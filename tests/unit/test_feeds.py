from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsflow.transforms.sources.feeds import NotAFeed, parse_feed

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
BASE = "https://nordic-wire.example/feed.xml"


def _feed(name: str, max_urls: int | None = None):
    return parse_feed((DATA / name).read_bytes(), BASE, max_urls=max_urls)


def test_rss20_links_dates_relative_links_and_guid_permalinks():
    feed = _feed("rss20.xml")
    assert feed.version == "rss20"
    assert [e.url for e in feed.entries] == [
        "https://Nordic-Wire.example/gothenburg-port-strike.html?utm_source=rss&utm_medium=feed",
        "https://nordic-wire.example/energy/baltic-cable.html",
        "https://nordic-wire.example/guid-only.html",
    ]
    assert feed.entries[0].published == datetime(2026, 11, 3, 8, 15, tzinfo=UTC)
    assert feed.entries[1].published == datetime(2026, 11, 4, 8, 0, tzinfo=UTC)  # +0100
    assert feed.entries[0].title == "Gothenburg port strike enters second week"
    # The item without a link is reported, not silently dropped.
    assert feed.problems == ["entries without a link: 1"]


def test_rss10_rdf():
    feed = _feed("rss10.rdf")
    assert feed.version == "rss10"
    assert [e.url for e in feed.entries] == [
        "https://valley-times.example/a.html",
        "https://valley-times.example/b.html",
    ]
    assert feed.entries[0].updated == datetime(2026, 10, 30, 12, 0, tzinfo=UTC)
    assert not feed.problems


def test_atom_alternate_link_and_updated():
    feed = _feed("atom.xml")
    assert feed.version == "atom10"
    assert [e.url for e in feed.entries] == [
        "https://science-sentinel.example/seagrass.html#comments",
        "https://science-sentinel.example/storm-isolde.html",
    ]
    assert feed.entries[0].updated == datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
    assert feed.entries[0].published == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def test_broken_xml_keeps_recovered_entries_and_says_so():
    feed = _feed("broken-rss.xml")
    assert [e.url for e in feed.entries] == [
        "https://harbour-gazette.example/ferry.html",
        "https://harbour-gazette.example/storm.html",
    ]
    assert any(p.startswith("broken feed") and "not well-formed" in p for p in feed.problems)


def test_a_malformed_link_is_one_problem_not_a_crash():
    # urllib raises its own ValueError on a bracket left open.
    body = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
        b"<item><link>http://[::1/x</link></item>"
        b"<item><link>https://nordic-wire.example/ok.html</link></item></channel></rss>"
    )
    feed = parse_feed(body, BASE)
    assert [e.url for e in feed.entries] == ["https://nordic-wire.example/ok.html"]
    assert feed.problems == ["entry with a malformed link: 'http://[::1/x'"]


def test_empty_feed_is_no_error():
    feed = _feed("empty-rss.xml")
    assert feed.version == "rss20"
    assert (feed.entries, feed.problems) == ([], [])


def test_huge_feed_is_bounded_by_max_urls():
    items = "".join(
        f"<item><title>n{i}</title><link>https://big.example/{i}.html</link></item>"
        for i in range(5_000)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>{items}'
    body += "</channel></rss>"
    feed = parse_feed(body.encode(), BASE, max_urls=100)
    assert len(feed.entries) == 100
    assert feed.entries[-1].url == "https://big.example/99.html"
    assert feed.truncated == 4_900


@pytest.mark.parametrize(
    "body", [b"<html><body><p>a web page</p></body></html>", b"\x00\x01binary", b""]
)
def test_bytes_that_are_no_feed_raise(body):
    with pytest.raises(NotAFeed):
        parse_feed(body, BASE)


def test_only_bytes_are_accepted_never_a_url_or_path():
    # feedparser would open a URL or a file itself, bypassing the fetch step.
    with pytest.raises(TypeError):
        parse_feed(str(DATA / "rss20.xml"), BASE)  # type: ignore[arg-type]
