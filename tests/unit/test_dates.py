"""Publication and modification dates with their source, and author lists without junk."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from trafilatura.utils import load_html

from bench.dates import EXTRACTORS, Found, accuracy, load_pages, report
from newsflow.settings import Settings
from newsflow.transforms.batch.documents import to_document
from newsflow.transforms.clean.authors import byline_authors, clean_authors
from newsflow.transforms.clean.dates import date_from_url, dateline, find_dates, parse_date
from newsflow.transforms.clean.extract import clean_page
from newsflow.transforms.models import Article, EnrichedArticle, Page

DEMO = Path(__file__).resolve().parents[2] / "demo" / "corpus"
DATED = Path(__file__).resolve().parents[1] / "data" / "news-dates"
PROSE = "<p>" + "The council met on Tuesday to discuss the harbour budget for next year. " * 6
PROSE += "</p>"


def tree(head: str = "", body: str = PROSE):
    return load_html(f"<html><head>{head}</head><body><article>{body}</article></body></html>")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-11-18T10:00:00.000+0000", "2019-11-18T10:00:00+00:00"),
        ("2019-11-18T10:00:00Z", "2019-11-18T10:00:00Z"),
        ("2026-10-14T12:05:00+01:00", "2026-10-14T12:05:00+01:00"),  # the site's offset kept
        ("2019-11-18", "2019-11-18"),
        ("Mon, 18 Nov 2019 10:00:00 GMT", "2019-11-18T10:00:00+00:00"),
        ("1970-01-01T00:00:00Z", None),  # a placeholder, not a date
        ("2099-01-01", None),  # the future
        ("2019-13-45", None),
        ("2020-08-29T10:46:06+০১:০০", "2020-08-29T10:46:06"),  # no offset Elasticsearch reads
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_json_ld_comes_first_and_says_so():
    ld = {"@type": "NewsArticle", "datePublished": "2026-10-14T10:32:00+02:00",
          "dateModified": "2026-10-14T11:00:00+02:00"}  # fmt: skip
    head = (
        '<meta property="article:published_time" content="2026-10-13T09:00:00Z">'
        f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    )
    t = tree(head)
    dates = find_dates(t, "https://a.example/2026/10/01/x", ld)
    assert (dates.published, dates.published_source) == ("2026-10-14T10:32:00+02:00", "json-ld")
    assert (dates.modified, dates.modified_source) == ("2026-10-14T11:00:00+02:00", "json-ld")


def test_meta_then_microdata_then_url():
    t = tree(
        '<meta property="article:published_time" content="2026-09-08T18:30:00+01:00">'
        '<meta property="article:modified_time" content="2026-09-08T21:02:00+01:00">'
    )
    dates = find_dates(t, "https://a.example/x", None)
    assert (dates.published_source, dates.modified_source) == ("meta", "meta")
    micro = tree(body=f'<time itemprop="datePublished" datetime="2026-09-01">1 Sept</time>{PROSE}')
    assert find_dates(micro, None, None).published_source == "microdata"
    dates = find_dates(tree(), "https://a.example/news/2019/11/18/story.html", None)
    assert (dates.published, dates.published_source) == ("2019-11-18", "url")
    assert date_from_url("https://a.example/20191118/story") == "2019-11-18"
    assert date_from_url("https://a.example/story-2019") is None


def test_broken_structured_date_falls_through_to_the_next_source():
    ld = {"@type": "NewsArticle", "datePublished": "0000-00-00"}
    t = tree('<meta name="pubdate" content="2026-11-02T08:00:00Z">')
    assert find_dates(t, None, ld).published_source == "meta"


def test_htmldate_finds_dates_in_markup_and_visible_text_last():
    marked = tree(body=f'<p class="date">Published: 2026-11-03</p>{PROSE}')
    dates = find_dates(marked, "https://a.example/x", None)
    assert dates.published == "2026-11-03"
    assert dates.published_source in {"markup", "visible-text"}
    assert find_dates(tree(), "https://a.example/x", None).published is None


def test_a_modification_before_the_publication_is_dropped():
    ld = {"@type": "NewsArticle", "datePublished": "2026-10-14", "dateModified": "2020-01-01"}
    dates = find_dates(tree(), None, ld)
    assert dates.published == "2026-10-14" and dates.modified is None


def test_demo_corpus_dates_match_the_manifests():
    manifest: dict[str, dict] = {}
    for path in sorted(DEMO.glob("manifest-*.json")):
        manifest.update(json.loads(path.read_text(encoding="utf-8")))
    assert len(manifest) == 46
    for rel, meta in manifest.items():
        html = (DEMO / rel).read_bytes().decode(meta["encoding"])
        url = meta["canonical_url"]
        article = clean_page(Page(url, url, html, meta["encoding"], datetime.now(UTC)))
        assert isinstance(article, Article), rel
        assert article.published[:10] == meta["published"][:10], rel
        assert article.published_source in {"json-ld", "meta"}, rel
        assert article.modified is None or article.modified >= article.published[:10], rel


# --- the publisher's day ---------------------------------------------------------------------

EVENING = "2024-03-01T23:30:00-05:00"  # 2024-03-02 in UTC
EVENING_LD = {"@type": "NewsArticle", "datePublished": EVENING}


@pytest.mark.parametrize(
    ("head", "body", "article", "source"),
    [
        ("", PROSE, EVENING_LD, "json-ld"),
        (f'<meta property="article:published_time" content="{EVENING}">', PROSE, None, "meta"),
        ('<meta name="pubdate" content="Fri, 01 Mar 2024 23:30:00 -0500">', PROSE, None, "meta"),
        ("", f'<time itemprop="datePublished" datetime="{EVENING}">1 March</time>{PROSE}', None,
         "microdata"),
        ("", f'<time class="published" datetime="{EVENING}">March 1</time>{PROSE}', None, "markup"),
    ],
)  # fmt: skip
def test_a_late_local_time_stays_on_the_publishers_day(head, body, article, source):
    dates = find_dates(tree(head, body), "https://a.example/x", article)
    assert dates.published[:10] == "2024-03-01", dates
    assert dates.published_source == source


def test_the_stored_and_indexed_day_is_the_publishers_day():
    ld = json.dumps(EVENING_LD)
    html = f'<html><head><script type="application/ld+json">{ld}</script></head><body>'
    html += f"<article><h1>Harbour budget</h1>{PROSE}</article></body></html>"
    url = "https://a.example/harbour-budget"
    article = clean_page(Page(url, url, html, "utf-8", datetime.now(UTC)))
    assert isinstance(article, Article)
    assert (article.published, article.published_source) == (EVENING, "json-ld")
    document = to_document(EnrichedArticle(article, []), "run-1", model_name=Settings().spacy_model)
    assert (document["published"], document["published_source"]) == (EVENING, "json-ld")


def test_a_utc_time_is_written_as_the_page_states_it_locally():
    """The CMS's UTC export and the page's own local time of one instant: the local form is
    kept, with the source of the structured date."""
    ld = {"@type": "NewsArticle", "datePublished": "2024-03-02T04:30:00Z",
          "dateModified": "2024-03-02T06:00:00+00:00"}  # fmt: skip
    body = (
        f'<time datetime="{EVENING}">March 1</time>'
        f'<time datetime="2024-03-02T01:00:00-05:00">updated</time>{PROSE}'
    )
    dates = find_dates(tree(body=body), "https://a.example/x", ld)
    assert (dates.published, dates.published_source) == (EVENING, "json-ld")
    assert (dates.modified, dates.modified_source) == ("2024-03-02T01:00:00-05:00", "json-ld")
    # Another instant with an offset says nothing about this one: no offset is guessed.
    other = tree(body=f'<time datetime="2024-03-01T20:00:00-05:00">March 1</time>{PROSE}')
    dates = find_dates(other, "https://a.example/x", ld)
    assert (dates.published, dates.published_source) == ("2024-03-02T04:30:00Z", "json-ld")


@pytest.mark.parametrize(
    ("utc", "url", "expected"),
    [
        ("2024-03-02T04:30:00Z", "https://a.example/2024/03/01/story", ("2024-03-01", "url")),
        ("2018-12-31T23:11:59+00:00", "https://a.example/2019/01/01/x/", ("2019-01-01", "url")),
        # 15:00 UTC is on 2024-03-01 nowhere (it would take -15:00): the UTC time stays.
        ("2024-03-02T15:00:00Z", "https://a.example/2024/03/01/story",
         ("2024-03-02T15:00:00Z", "json-ld")),
        # A local time is the publisher's own: a URL never moves it.
        (EVENING, "https://a.example/2024/03/02/story", (EVENING, "json-ld")),
    ],
)  # fmt: skip
def test_the_url_gives_the_day_of_a_utc_time(utc, url, expected):
    ld = {"@type": "NewsArticle", "datePublished": utc}
    dates = find_dates(tree(), url, ld)
    assert (dates.published, dates.published_source) == expected


def _headed(dateline_text: str, head: str = ""):
    return tree(head, f"<h1>Harbour budget</h1><p class=byline>{dateline_text}</p>{PROSE}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Von Jana Roth 29.04.2020, 12:01 Uhr", "2020-04-29"),
        ("4. 2. 2022", "2022-02-04"),  # dotted dates are day first
        ("Mittwoch, 1. November 2023", "2023-11-01"),
        ("By Ann Lee | March 1, 2024 11:30 p.m. EST", "2024-03-01"),
        ("publié le 10 décembre 2019", "2019-12-10"),
        ("29 de abril de 2020", "2020-04-29"),
        ("2024-03-01 23:30", "2024-03-01"),
        ("04/02/2022", None),  # read both ways
        ("Updated 5 hours ago", None),
    ],
)
def test_dateline(text, expected):
    assert dateline(_headed(text)) == expected


def test_dateline_is_under_the_headline_only():
    late = "<p>" + "Words of the story go on here. " * 20 + "On 3 May 2020 it rained.</p>"
    before = tree(body=f"<p>12.01.2024</p><h1>Harbour budget</h1>{late}")
    assert dateline(before) is None


def test_the_dateline_dates_a_page_without_structured_dates():
    dates = find_dates(_headed("Von Jana Roth 29.04.2020"), "https://a.example/x", None)
    assert (dates.published, dates.published_source) == ("2020-04-29", "dateline")


def test_the_dateline_overrules_a_generic_date_tag_only():
    generic = '<meta name="date" content="2020-04-30">'
    dates = find_dates(_headed("29.04.2020", generic), "https://a.example/x", None)
    assert (dates.published, dates.published_source) == ("2020-04-29", "dateline")
    agrees = find_dates(_headed("30.04.2020", generic), "https://a.example/x", None)
    assert (agrees.published, agrees.published_source) == ("2020-04-30", "meta")
    named = '<meta property="article:published_time" content="2020-04-30T08:00:00+02:00">'
    dates = find_dates(_headed("29.04.2020", named), "https://a.example/x", None)
    assert (dates.published, dates.published_source) == ("2020-04-30T08:00:00+02:00", "meta")


def test_the_dateline_gives_the_day_of_a_utc_time():
    ld = {"@type": "NewsArticle", "datePublished": "2019-10-18T22:04:00Z"}
    dates = find_dates(_headed("19. Oktober 2019, 00:04 Uhr"), "https://a.example/x", ld)
    assert (dates.published, dates.published_source) == ("2019-10-19", "dateline")


# --- quality gate: real dated pages ------------------------------------------------------------


@pytest.fixture(scope="module")
def dated() -> dict[str, list[Found]]:
    """newsflow's and plain htmldate's dates of the 300 real pages (bench/dates.py)."""
    pages = load_pages(DATED)
    assert len(pages) == 300
    return {name: [extract(page) for page in pages] for name, extract in EXTRACTORS.items()}


@pytest.mark.parametrize("half", ["A", "B"])
def test_day_accuracy_at_least_plain_htmldate_on_each_half(dated, half):
    """On each half of the sites, newsflow stores the publisher's day at least as often as
    ``htmldate.find_date(html, url=url, original_date=True)`` finds it; both are measured."""
    ours, theirs = accuracy(dated["newsflow"], half), accuracy(dated["htmldate"], half)
    assert ours[1] == theirs[1] >= 100  # each half holds a fair share of the pages
    assert ours[0] >= theirs[0], "\n".join(report(dated, verbose=True))


def test_every_dated_page_says_where_its_date_came_from(dated):
    sources = {"json-ld", "meta", "microdata", "url", "dateline", "markup", "visible-text"}
    for found in dated["newsflow"]:
        assert (found.value is None) == (found.source is None), found.page.key
        assert found.source is None or found.source in sources, found.page.key


# --- authors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["By JANE DOE and John Roe | Reuters"], ["Jane Doe", "John Roe"]),
        (["Staff"], []),
        (["AP"], []),
        (["The Associated Press"], []),
        (["By Maria Lopez, Associated Press"], ["Maria Lopez"]),
        (["Tom Davies Associated Press"], ["Tom Davies"]),
        (["Kevin Johnson and Kevin McCoy USA TODAY"], ["Kevin Johnson", "Kevin McCoy"]),
        (["Updated 5:04 PM ET, Mon November 18, 2019"], []),
        (["November 18, 2019"], []),
        (["jane.doe@example.com"], []),
        (["https://twitter.com/janedoe"], []),
        (["By Jane Doe (@janedoe)"], ["Jane Doe"]),
        (["Jane Doe", "jane doe", "JANE DOE"], ["Jane Doe"]),
        (["Jane Doe, John Roe"], ["Jane Doe", "John Roe"]),
        (["João Silva e Maria Souza"], ["João Silva", "Maria Souza"]),
        (["José Ortega y Gasset"], ["José Ortega y Gasset"]),
        (["Reporting by Ann Lee; Editing by Bob Kim"], ["Ann Lee"]),
        (["Rachael Link, MS, RD"], ["Rachael Link"]),
        (["Analysis by Chris Cillizza, CNN"], ["Chris Cillizza"]),
        (["Jill Disis, CNN Business"], ["Jill Disis"]),
        (["Amy Kuperinsky, NJ Advance Media for"], ["Amy Kuperinsky"]),
        (["Valley Times Staff"], []),
        (["Sports Desk", "Web Desk", "Newsroom", "Redacción"], []),
        (["and"], []),
        (["By"], []),
        (["Harbour Gazette"], []),  # the site itself
    ],
)
def test_clean_authors(raw, expected):
    assert clean_authors(raw, ["Harbour Gazette"]) == expected


def test_byline_of_the_page_when_structured_data_has_none():
    t = tree(
        body='<p class="byline"><font size="2">By <b>Karen Lindqvist</b><br>Posted Thursday, '
        f"November 5, 2026</font></p>{PROSE}"
        '<aside class="related"><span class="author-name">Someone Else</span></aside>'
    )
    assert clean_authors(byline_authors(t)) == ["Karen Lindqvist"]
    several = tree(
        body='<div class="byline">By <a rel="author" href="/a">Priya Raman</a> and '
        f'<a rel="author" href="/b">Tobias Wahlberg</a></div>{PROSE}'
    )
    assert clean_authors(byline_authors(several)) == ["Priya Raman", "Tobias Wahlberg"]
