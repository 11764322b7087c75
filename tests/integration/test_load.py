"""The load step against the real node: index setup, bulk errors as data, idempotent ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from transforms.load import (
    IndexSetupError,
    bulk_load,
    document_id,
    ensure_index,
    load_template,
    to_document,
)
from transforms.load import refresh as refresh_index
from transforms.models import Article, EnrichedArticle, Entity


def _article(n: int) -> EnrichedArticle:
    url = f"https://news.example/story/{n}"
    article = Article(
        url=url,
        canonical_url=url,
        title=f"Story {n}",
        body=f"Body of story {n} about Oslo.",
        authors=["Kari Nordmann"],
        published=f"2026-10-0{n % 9 + 1}",
        site_name="News",
        source="news.example",
        language="en",
        tags=[],
        description=None,
        image=None,
        fetched_at=datetime(2026, 10, 10, tzinfo=UTC),
        word_count=6,
    )
    return EnrichedArticle(article, [Entity("Oslo", "location", 1, 20)])


def test_ensure_index_creates_versioned_index_behind_alias_with_the_template(
    es_client: Elasticsearch, index_alias: str
):
    concrete = ensure_index(es_client, index_alias)
    assert concrete == f"{index_alias}-v1"
    assert ensure_index(es_client, index_alias) == concrete  # idempotent
    aliases = es_client.indices.get_alias(name=index_alias).body
    assert list(aliases) == [concrete]
    mapping = es_client.indices.get_mapping(index=concrete)[concrete]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert mapping["_meta"]["mapping_version"] == load_template()["mapping_version"]
    assert mapping["properties"]["person"]["type"] == "keyword"
    assert mapping["properties"]["entities"]["type"] == "nested"


def test_a_plain_index_with_the_alias_name_is_refused(es_client: Elasticsearch, index_alias: str):
    es_client.indices.create(index=index_alias)
    try:
        with pytest.raises(IndexSetupError, match="plain index"):
            ensure_index(es_client, index_alias)
    finally:
        es_client.indices.delete(index=index_alias)


def test_rejected_documents_are_reported_and_the_rest_indexed(
    es_client: Elasticsearch, index_alias: str
):
    ensure_index(es_client, index_alias)
    docs = [to_document(_article(n), run_id="r1") for n in range(5)]
    docs[2]["unexpected_field"] = "strict mapping refuses this"
    docs[3]["published"] = "not a date"
    result = bulk_load(es_client, index_alias, docs, chunk_size=2)
    refresh_index(es_client, index_alias)
    assert result.indexed == 3
    assert sorted(f.url for f in result.failures) == [docs[2]["url"], docs[3]["url"]]
    reasons = " ".join(f.reason for f in result.failures)
    assert "strict_dynamic_mapping_exception" in reasons
    assert "document_parsing_exception" in reasons
    assert all(f.stage == "load" for f in result.failures)
    assert es_client.count(index=index_alias)["count"] == 3


def test_loading_the_same_articles_again_updates_instead_of_duplicating(
    es_client: Elasticsearch, index_alias: str
):
    ensure_index(es_client, index_alias)
    bulk_load(es_client, index_alias, [to_document(_article(n), "run-1") for n in range(4)])
    bulk_load(es_client, index_alias, [to_document(_article(n), "run-2") for n in range(4)])
    refresh_index(es_client, index_alias)
    assert es_client.count(index=index_alias)["count"] == 4
    doc = es_client.get(index=index_alias, id=document_id("https://news.example/story/1"))
    assert doc["_source"]["run_id"] == "run-2"
