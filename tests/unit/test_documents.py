"""The content hash: the whole index document but what every run stamps anew."""

from __future__ import annotations

from datetime import UTC, datetime

from newsflow.settings import Settings
from newsflow.transforms.batch.documents import RUN_FIELDS, content_hash, to_document
from newsflow.transforms.models import Article, EnrichedArticle, Entity, Quote


def _document(run_id: str = "run-1", fetched: int = 1) -> dict:
    article = Article(
        url="https://news.example/a",
        canonical_url="https://news.example/a",
        title="Dockworkers strike in Gothenburg",
        body="Dockworkers in Gothenburg walked out on Tuesday, union leader Ingrid Solberg said.",
        authors=["Kari Nordmann"],
        published="2026-11-02",
        site_name="News",
        source="news.example",
        language="en",
        tags=["Labour"],
        section="World",
        description=None,
        image=None,
        fetched_at=datetime(2026, 11, fetched, tzinfo=UTC),
        word_count=12,
    )
    item = EnrichedArticle(
        article,
        [Entity("Gothenburg", "location", 1, 16), Entity("Ingrid Solberg", "person", 1, 60)],
        quotes=[Quote("We walked out", "Ingrid Solberg")],
    )
    return to_document(item, run_id, model_name=Settings().spacy_model)


def test_what_every_run_stamps_leaves_the_hash_alone():
    first = _document()
    again = _document(run_id="run-2", fetched=3)
    again["indexed_at"] = "2030-01-01T00:00:00+00:00"
    again["content_hash"] = "whatever was stored"
    assert {k for k in first.keys() | again.keys() if first.get(k) != again.get(k)} == RUN_FIELDS
    assert content_hash(first) == content_hash(again)
    assert content_hash(dict(reversed(list(first.items())))) == content_hash(first)


def test_facets_stories_quotes_and_versions_are_covered():
    base = _document()
    changes = {
        "person": ["Ingrid M. Solberg"],
        "entities": [],
        "story_id": "another-story",
        "story_lead": False,
        "quotes": [],
        "enrichment_version": "0000abcd",
        "pipeline_version": "clean-0000abcd+enrich-0000abcd",
        "title": "Dockworkers strike",
    }
    for field, value in changes.items():
        assert content_hash(base | {field: value}) != content_hash(base), field
