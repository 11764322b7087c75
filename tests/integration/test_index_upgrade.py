"""An index made by an older mapping version is brought up to date in place when the new
version only adds fields, and refused with a pointer to `index migrate` when it changes one;
the versions of an alias are its `<alias>-v<N>` indices only; `index migrate` re-keys
documents an older URL function keyed."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from newsflow.store.indices import (
    IndexSetupError,
    ensure_index,
    load_template,
    mapping_version,
    migrate,
    versions,
)
from newsflow.store.load import bulk_load
from newsflow.store.state import EsCrawlState
from newsflow.transforms.batch.documents import content_hash, document_id, to_document
from newsflow.transforms.urls import canonicalize
from tests.integration.test_load import MODEL, make_article


def older_spec(drop: str) -> dict:
    spec = copy.deepcopy(load_template())
    spec["mapping_version"] -= 1
    spec["template"]["mappings"]["_meta"]["mapping_version"] -= 1
    del spec["template"]["mappings"]["properties"][drop]
    return spec


def test_added_fields_reach_an_existing_index(es_client: Elasticsearch, index_alias: str) -> None:
    old = older_spec(drop="section")
    index = ensure_index(es_client, index_alias, old)
    assert (
        "section" not in es_client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    )
    # Strict mapping: a document with the new field is refused by the old index.
    with pytest.raises(Exception, match="strict_dynamic_mapping_exception"):
        es_client.index(index=index_alias, id="x", document={"section": "Business"})

    assert ensure_index(es_client, index_alias) == index  # same index, upgraded in place
    assert mapping_version(es_client, index) == load_template()["mapping_version"]
    es_client.index(index=index_alias, id="x", document={"section": "Business"}, refresh=True)
    found = es_client.search(index=index_alias, query={"term": {"section": "Business"}})
    assert found["hits"]["total"]["value"] == 1


def test_a_changed_field_asks_for_a_migration(es_client: Elasticsearch, index_alias: str) -> None:
    old = older_spec(drop="section")
    old["template"]["mappings"]["properties"]["word_count"] = {"type": "keyword"}
    ensure_index(es_client, index_alias, old)
    with pytest.raises(IndexSetupError, match="index migrate"):
        ensure_index(es_client, index_alias)


def test_a_field_added_without_a_version_bump_still_arrives(
    es_client: Elasticsearch, index_alias: str
) -> None:
    same_version = copy.deepcopy(load_template())
    del same_version["template"]["mappings"]["properties"]["section"]
    index = ensure_index(es_client, index_alias, same_version)
    ensure_index(es_client, index_alias)
    properties = es_client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert properties["section"]["type"] == "keyword"


def test_versions_are_the_numbered_indices_of_the_alias_only(
    es_client: Elasticsearch, index_alias: str
) -> None:
    ensure_index(es_client, index_alias)
    others = ("-v10", "-v9", "-v2-copy", "-videos-v1")  # the last two match the wildcard
    for suffix in others:
        es_client.indices.create(index=index_alias + suffix)
    assert versions(es_client, index_alias) == [
        f"{index_alias}-v1",
        f"{index_alias}-v9",
        f"{index_alias}-v10",
    ]


def _stored(n: int, canonical: str, fetched_day: int) -> dict:
    """A document as older code stored it: keyed by ``canonical`` as that code spelt it."""
    doc = to_document(make_article(n), "run-old", model_name=MODEL)
    return doc | {
        "url": canonical,
        "canonical_url": canonical,
        "id": document_id(canonical),
        "title": f"fetched on day {fetched_day}",
        "fetched_at": datetime(2026, 10, fetched_day, tzinfo=UTC).isoformat(),
    }


def test_migrate_rekeys_documents_and_keeps_the_later_fetch(
    es_client: Elasticsearch, index_alias: str
) -> None:
    ensure_index(es_client, index_alias)
    old = [
        # Two spellings of one article: the re-keyed one was fetched first, then the other.
        _stored(1, "https://news.example/a?z=2&a=1", fetched_day=1),
        _stored(2, "https://news.example/a?a=1&z=2", fetched_day=5),
        # Two spellings again; this time the one that moves was fetched last.
        _stored(3, "https://news.example/b?y=1&x=2", fetched_day=9),
        _stored(4, "https://news.example/b?x=2&y=1", fetched_day=2),
        # Alone: moves to its new id; and one whose key does not change.
        _stored(5, "https://news.example/d?b=1&a=2&smid=7", fetched_day=3),
        _stored(6, "https://news.example/c", fetched_day=4),
    ]
    assert bulk_load(es_client, index_alias, old).indexed == len(old)
    es_client.indices.refresh(index=index_alias)

    done = migrate(es_client, index_alias)

    kept = {
        "https://news.example/a?a=1&z=2": "fetched on day 5",
        "https://news.example/b?x=2&y=1": "fetched on day 9",
        "https://news.example/d?a=2&b=1": "fetched on day 3",
        "https://news.example/c": "fetched on day 4",
    }
    hits = es_client.search(index=index_alias, size=10)["hits"]["hits"]
    assert {h["_source"]["canonical_url"]: h["_source"]["title"] for h in hits} == kept
    assert (done.copied, done.rekeyed, done.merged) == (4, 3, 2)
    for hit in hits:
        doc = hit["_source"]
        assert hit["_id"] == doc["id"] == document_id(canonicalize(doc["url"]))
        assert doc["content_hash"] == content_hash(doc)
    # The "already indexed" look-up finds every article by the key discovery gives it.
    asked = [canonicalize(d["url"]) for d in old]
    assert set(EsCrawlState(es_client, index_alias).indexed(asked)) == set(asked)
    # Ordinary loads through the alias go on overwriting the copies.
    again = _stored(7, "https://news.example/c", fetched_day=20)
    assert bulk_load(es_client, index_alias, [again]).indexed == 1
    stored = es_client.get(index=index_alias, id=document_id("https://news.example/c"))
    assert stored["_source"]["title"] == "fetched on day 20"
