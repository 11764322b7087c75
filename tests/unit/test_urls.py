from __future__ import annotations

import pytest

from newsflow.transforms.urls import InvalidURL, canonicalize, try_canonicalize


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        # scheme and host lower-cased, default port and fragment dropped
        (
            "HTTPS://News.Example.COM:443/World/Story.html#comments",
            "https://news.example.com/World/Story.html",
        ),
        ("http://news.example.com:80/a", "http://news.example.com/a"),
        # a non-default port is part of the address
        ("http://news.example.com:8080/a", "http://news.example.com:8080/a"),
        # tracking parameters go, meaningful ones stay (sorted, so order does not matter)
        (
            "https://news.example.com/a?utm_source=rss&id=42&utm_campaign=x&fbclid=abc&page=2",
            "https://news.example.com/a?id=42&page=2",
        ),
        (
            "https://news.example.com/a?gclid=1&mc_cid=2&mc_eid=3&msclkid=4",
            "https://news.example.com/a",
        ),
        ("https://news.example.com/a?page=2&id=42", "https://news.example.com/a?id=42&page=2"),
        # an empty path is "/"
        ("https://news.example.com", "https://news.example.com/"),
        # encoded values keep their meaning
        ("https://news.example.com/search?q=a%2Fb", "https://news.example.com/search?q=a%2Fb"),
        # file URLs from directories pass through
        ("file:///tmp/saved/a%20b.html", "file:///tmp/saved/a%20b.html"),
    ],
)
def test_canonical_spelling(raw, canonical):
    assert canonicalize(raw) == canonical


def test_spellings_of_one_article_meet():
    spellings = [
        "https://Example.com/story?utm_medium=social",
        "https://example.com:443/story#top",
        "https://example.com/story?fbclid=IwAR0",
    ]
    assert {canonicalize(u) for u in spellings} == {"https://example.com/story"}


@pytest.mark.parametrize(
    "raw",
    [
        "not a url",
        "ftp://example.com/a",
        "mailto:x@example.com",
        "/a/b",
        "http://[::1/a",  # urllib raises its own ValueError on an open bracket
        "http://example.com]/a",
    ],
)
def test_non_http_urls_are_refused(raw):
    with pytest.raises(InvalidURL):
        canonicalize(raw)
    assert try_canonicalize(raw) is None
