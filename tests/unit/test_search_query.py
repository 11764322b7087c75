from __future__ import annotations

from datetime import date

import pytest

from newsflow.search import MAX_QUERY_CHARS, SearchRequest, build_query


def test_filters_dates_and_facets_are_in_the_query():
    body = build_query(
        SearchRequest(
            query="port strike",
            filters={"person": ["Ingrid Solberg"], "source": ["a.example", "b.example"]},
            since=date(2026, 10, 1),
            until=date(2026, 10, 31),
        )
    )
    filters = body["query"]["bool"]["filter"]
    assert {"term": {"person": "Ingrid Solberg"}} in filters
    assert {"term": {"source": "b.example"}} in filters
    assert {"range": {"published": {"gte": "2026-10-01", "lte": "2026-10-31"}}} in filters
    assert set(body["aggs"]) == {"person", "organization", "location", "source", "language"}


def test_user_text_is_bounded_and_never_parsed_as_lucene_syntax():
    body = build_query(SearchRequest(query="x" * 10_000 + " AND (("))
    must = body["query"]["bool"]["must"][0]
    assert "simple_query_string" in must
    assert len(must["simple_query_string"]["query"]) == MAX_QUERY_CHARS


def test_empty_query_matches_all_newest_first():
    body = build_query(SearchRequest())
    assert body["query"]["bool"]["must"] == [{"match_all": {}}]
    assert body["sort"][0] == {"published": {"order": "desc", "missing": "_last"}}


def test_unknown_filter_field_is_refused():
    with pytest.raises(ValueError, match="unknown filter"):
        build_query(SearchRequest(filters={"body": ["x"]}))


def test_main_subject_filter_is_a_nested_query_on_mentions_and_position():
    body = build_query(SearchRequest(subjects=["Ingrid Solberg"]))
    (nested,) = [f for f in body["query"]["bool"]["filter"] if "nested" in f]
    inner = nested["nested"]["query"]["bool"]
    assert nested["nested"]["path"] == "entities"
    assert inner["filter"] == [{"term": {"entities.name": "Ingrid Solberg"}}]
    assert inner["minimum_should_match"] == 1
