"""Index documents: the content hash (the whole document but what every run stamps anew) and
the re-keying of documents stored under an older canonical URL."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from newsflow.settings import Settings
from newsflow.transforms.batch.documents import (
    RUN_FIELDS,
    canonical_json,
    content_hash,
    document_id,
    rekeyed,
    to_document,
)
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


def test_rekeyed_gives_an_old_document_the_key_a_run_gives_it_now():
    old_spelling = "https://news.example/a?z=2&a=1&smid=nytcore"
    stored = _document() | {
        "canonical_url": old_spelling,
        "id": document_id(old_spelling),
        "story_id": document_id(old_spelling),
        "content_hash": "made by older code",
    }
    new = rekeyed(stored)
    assert new["canonical_url"] == "https://news.example/a?a=1&z=2"
    assert new["id"] == document_id("https://news.example/a?a=1&z=2")
    assert new["story_id"] == stored["story_id"]  # the key its story's other copies share
    assert new["content_hash"] == content_hash(new)
    assert stored["canonical_url"] == old_spelling  # the stored document is left as it was
    unkeyable = {"id": "x", "section": "Business"}
    assert rekeyed(unkeyable) is unkeyable


def test_canonical_json_is_byte_for_byte_what_json_dumps_wrote_so_stored_hashes_match():
    # Hashes stored by older code were SHA-256 of this json.dumps spelling; a byte of
    # difference would make every stored article look changed and be written again.
    doc = _document()
    doc["title"] = 'Quote "marks", back\\slash, tab\t, NUL\x00, \x1f, DEL\x7f, \u2028 æøå 😀'
    doc["authors"] = ["Ångström", "Zoë", "李雷"]
    doc["nested"] = {"b": [1, -2, 2**62, True, False, None], "a": {"z": "", "é": "x"}}
    content = {k: v for k, v in doc.items() if k not in RUN_FIELDS}
    old = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert canonical_json(doc) == old.encode("utf-8")
    assert content_hash(doc) == hashlib.sha256(old.encode("utf-8")).hexdigest()
