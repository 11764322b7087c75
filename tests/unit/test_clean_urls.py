from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from warcio.warcwriter import WARCWriter

from newsflow.settings import Settings
from newsflow.transforms.batch.documents import document_id, to_document
from newsflow.transforms.clean.extract import canonical_url_of, clean_page, source_of
from newsflow.transforms.models import Article, EnrichedArticle, Page
from newsflow.transforms.sources.discover import discover
from tests.unit.test_warc import _record

FETCHED = "https://example.com/a/b?utm_source=x&z=2&a=1"
DECLARED = "https://example.com/a/b?z=2&a=1&fbclid=1"
PARAGRAPH = (
    "The harbour authority in Bergen said on Tuesday that the new ferry terminal would open "
    "in the spring, after two years of delays caused by the collapse of a contractor. "
)
# trafilatura reads <link rel=canonical> through courlan; og:url comes as written.
DECLARATIONS = {
    "link": f'<link rel="canonical" href="{DECLARED}">',
    "og:url": f'<meta property="og:url" content="{DECLARED}">',
    "none": "",
}
BODY = "".join(f"<p>{PARAGRAPH}Paragraph {i} adds more of the same.</p>" for i in range(6))
ARTICLE = (
    "<!doctype html><html><head><title>Ferry terminal to open in spring</title>{declared}"
    "</head><body><article><h1>Ferry terminal to open in spring</h1>"
    + BODY
    + "</article></body></html>"
)


def _page(final_url: str) -> Page:
    html = ARTICLE.format(declared="")
    return Page(final_url, final_url, html, "utf-8", datetime(2026, 11, 2, tzinfo=UTC))


class RecordingState:
    """Crawl state that knows nothing and remembers which URLs discovery looked up."""

    def __init__(self) -> None:
        self.looked_up: list[str] = []

    def validators(self, urls):
        return {}

    def indexed(self, urls):
        self.looked_up += urls
        return {}


@pytest.mark.parametrize("declared", DECLARATIONS)
def test_discovery_lookup_and_document_id_use_one_canonical_url(tmp_path, declared):
    html = ARTICLE.format(declared=DECLARATIONS[declared])
    out = io.BytesIO()
    _record(WARCWriter(out, gzip=True), FETCHED, html.encode(), "text/html; charset=utf-8")
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(out.getvalue())
    state = RecordingState()

    found = discover([str(path)], state=state)
    [page] = found.pages
    article = clean_page(page)

    assert isinstance(article, Article)
    dedupe_key, [lookup_key] = page.url, state.looked_up
    assert article.canonical_url == dedupe_key == lookup_key == "https://example.com/a/b?a=1&z=2"
    document = to_document(EnrichedArticle(article, []), "run", model_name=Settings().spacy_model)
    assert document["id"] == document_id(dedupe_key)


def test_a_relative_declared_canonical_is_resolved_against_the_page():
    page = _page("https://www.example.com/news/a?id=7&utm_source=x")
    assert canonical_url_of(page, "/news/a?fbclid=2&id=7#top") == (
        "https://www.example.com/news/a?id=7"
    )


def test_without_a_usable_declared_canonical_the_fetched_url_is_the_key():
    page = _page("HTTPS://WWW.Example.com:443/news/a?utm_source=x&id=7#comments")
    expected = "https://www.example.com/news/a?id=7"
    for declared in (None, "", "mailto:desk@example.com", "http://[broken"):
        assert canonical_url_of(page, declared) == expected, declared
    saved = _page("file:///tmp/saved/a%20b.html")
    assert canonical_url_of(saved, None) == "file:///tmp/saved/a%20b.html"


def test_non_default_port_is_kept_and_source_drops_www():
    assert canonical_url_of(_page("http://127.0.0.1:8399/x"), None) == "http://127.0.0.1:8399/x"
    assert source_of("https://www.harbourgazette.example/a") == "harbourgazette.example"
