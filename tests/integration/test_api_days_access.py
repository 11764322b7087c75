"""Through the API over the real node: date filters and histograms count the publisher's own
day (23:30-05:00 is that day, not the next UTC one), and free_access comes back as a facet
that also filters; an index migrated from before these fields gets published_day, and so does
one upgraded in place by ensure_index."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from newsflow.api import create_app
from newsflow.settings import Settings
from newsflow.store.indices import ensure_index, load_template, mapping_version, migrate
from newsflow.store.load import bulk_load
from newsflow.transforms.batch.documents import content_hash, to_document
from newsflow.transforms.models import EnrichedArticle
from tests.integration.test_load import MODEL, make_article

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# Article number -> (published, free_access). 1 is published on Sunday 10 March local time,
# which is Monday 11 March in UTC: a UTC day would move it to the next day and week.
ARTICLES = {
    1: ("2024-03-10T23:30:00-05:00", True),
    2: ("2024-03-11T08:00:00+00:00", False),
    3: ("2024-03-09T12:00:00+01:00", None),
    4: ("2024-03-11T10:00:00+02:00", False),
}


def documents() -> list[dict]:
    docs = []
    for n, (published, free) in ARTICLES.items():
        item = make_article(n)
        article = dataclasses.replace(item.article, published=published, free_access=free)
        docs.append(to_document(EnrichedArticle(article, item.entities), "run", model_name=MODEL))
    return docs


def load(es_client: Elasticsearch, alias: str, docs: list[dict]) -> None:
    result = bulk_load(es_client, alias, docs)
    assert not result.rejected
    es_client.indices.refresh(index=alias)


@pytest.fixture
def api(settings: Settings, es_client: Elasticsearch) -> Iterator[TestClient]:
    ensure_index(es_client, settings.index)
    load(es_client, settings.index, documents())
    with TestClient(create_app(settings, es_client)) as client:
        yield client


def titles(api: TestClient, **params: str) -> set[str]:
    body = api.get("/search", params={"collapse": "false", "size": 50, **params}).json()
    assert body["total"] == len(body["hits"])
    return {hit["title"] for hit in body["hits"]}


def test_date_filters_use_the_publisher_s_day(api):
    assert titles(api, since="2024-03-10", until="2024-03-10") == {"Story 1"}
    assert titles(api, since="2024-03-11") == {"Story 2", "Story 4"}
    assert titles(api, until="2024-03-09") == {"Story 3"}


def test_the_histogram_puts_an_evening_article_west_of_utc_in_its_own_week(api):
    histogram = api.get("/search").json()["histogram"]
    # Weeks start on Monday: Sunday 10 March is in the week of 4 March.
    assert {b["date"]: b["count"] for b in histogram["buckets"]} == {
        "2024-03-04": 2,
        "2024-03-11": 2,
    }


def test_entity_mentions_count_the_publisher_s_day(api):
    profile = api.get("/entities/location/Oslo").json()
    assert profile["interval"] == "day"
    assert {b["date"]: b["count"] for b in profile["mentions"]} == {
        "2024-03-09": 1,
        "2024-03-10": 1,
        "2024-03-11": 2,
    }


def test_free_access_is_a_facet_and_a_filter(api):
    body = api.get("/search", params={"collapse": "false"}).json()
    assert {b["value"]: b["count"] for b in body["facets"]["free_access"]} == {
        "true": 1,
        "false": 2,
    }
    assert titles(api, free_access="false") == {"Story 2", "Story 4"}
    assert titles(api, free_access="true") == {"Story 1"}
    only = api.get("/search", params={"facet": "free_access"}).json()["facets"]
    assert only["free_access"] and only["person"] == []
    assert api.get("/search", params={"free_access": "maybe"}).status_code == 422
    article = api.get("/articles/" + documents()[0]["id"]).json()
    assert (article["free_access"], article["published_day"]) == (True, "2024-03-10")


def load_version_3(es_client: Elasticsearch, alias: str) -> str:
    """An index at mapping version 3 (no published_day, no free_access) holding the articles
    as that version stored them; returns the index."""
    old = copy.deepcopy(load_template())
    old["mapping_version"] = 3
    old["template"]["mappings"]["_meta"]["mapping_version"] = 3
    for name in ("published_day", "free_access"):
        del old["template"]["mappings"]["properties"][name]
    index = ensure_index(es_client, alias, old)
    older = [
        {k: v for k, v in d.items() if k not in ("published_day", "free_access")}
        for d in documents()
    ]
    load(es_client, alias, older)
    return index


def test_migration_fills_published_day_of_older_documents(
    settings: Settings, es_client: Elasticsearch
):
    load_version_3(es_client, settings.index)
    done = migrate(es_client, settings.index)
    assert done.copied == len(ARTICLES) and done.mapping_version == 4
    es_client.indices.refresh(index=settings.index)
    hits = es_client.search(index=settings.index, size=10)["hits"]["hits"]
    days = {h["_source"]["title"]: h["_source"]["published_day"] for h in hits}
    assert days == {f"Story {n}": published[:10] for n, (published, _) in ARTICLES.items()}
    with TestClient(create_app(settings, es_client)) as client:
        assert titles(client, since="2024-03-10", until="2024-03-10") == {"Story 1"}


def test_an_in_place_upgrade_fills_published_day_of_older_documents(
    settings: Settings, es_client: Elasticsearch
):
    index = load_version_3(es_client, settings.index)
    undated = to_document(make_article(9), "run", model_name=MODEL)
    undated = {k: v for k, v in undated.items() if k not in ("published_day", "free_access")}
    load(es_client, settings.index, [undated | {"published": None}])

    assert ensure_index(es_client, settings.index) == index  # no new index: in place
    assert mapping_version(es_client, index) == 4
    hits = es_client.search(index=settings.index, size=10)["hits"]["hits"]
    days = {h["_source"]["title"]: h["_source"].get("published_day") for h in hits}
    expected = {f"Story {n}": published[:10] for n, (published, _) in ARTICLES.items()}
    assert days == expected | {"Story 9": None}
    # The stored hash is that of the filled document, as after a migration.
    assert all(h["_source"]["content_hash"] == content_hash(h["_source"]) for h in hits)
    with TestClient(create_app(settings, es_client)) as client:
        assert titles(client, since="2024-03-10", until="2024-03-10") == {"Story 1"}


def test_an_upgrade_that_stopped_before_filling_is_finished_by_the_next_one(
    settings: Settings, es_client: Elasticsearch
):
    index = load_version_3(es_client, settings.index)
    # What a run killed between adding the fields and filling them leaves: the new fields,
    # the old version number, documents without the day.
    new = load_template()["template"]["mappings"]["properties"]
    es_client.indices.put_mapping(index=index, properties=new)
    assert mapping_version(es_client, index) == 3

    ensure_index(es_client, settings.index)
    assert mapping_version(es_client, index) == 4
    with TestClient(create_app(settings, es_client)) as client:
        assert titles(client, since="2024-03-10", until="2024-03-10") == {"Story 1"}
