from __future__ import annotations

import re
from datetime import date

import pytest

from newsflow.search import (
    ALL_FACET_FIELDS,
    MAX_QUERY_CHARS,
    InvalidCursor,
    SearchRequest,
    build_counts_query,
    build_entity_query,
    build_mentions_query,
    build_others_query,
    build_page_query,
    build_query,
    build_quotes_query,
    build_story_query,
    build_suggest_query,
    decode_cursor,
    encode_cursor,
    histogram_interval,
    prefix_regex,
    sort_mode,
)


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
    assert {"range": {"published_day": {"gte": "2026-10-01", "lte": "2026-10-31"}}} in filters
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


# --- the API's additions: sort tiebreak, collapse, cursors, entities ----------------------


def test_sorts_end_with_the_id_so_search_after_is_a_total_order():
    assert build_query(SearchRequest(query="x"))["sort"] == [
        "_score",
        {"published": {"order": "desc", "missing": "_last"}},
        {"id": "asc"},
    ]
    assert build_query(SearchRequest(query="x", sort="date"))["sort"][-1] == {"id": "asc"}
    assert sort_mode(SearchRequest(sort="relevance")) == "date"  # nothing to rank by


def test_api_request_asks_for_every_facet_stories_html_and_a_timeout():
    body = build_query(
        SearchRequest(
            query="x",
            facets=ALL_FACET_FIELDS,
            count_stories=True,
            html=True,
            timeout="8s",
            search_after=(1.5, 1700000000000, "abc"),
            filters={"section": ["World"], "authors": ["A. Writer"]},
        )
    )
    assert set(body["aggs"]) == {*ALL_FACET_FIELDS, "_stories"}
    assert body["aggs"]["_stories"]["cardinality"]["field"] == "story_id"
    assert body["highlight"]["encoder"] == "html"
    assert body["timeout"] == "8s"
    assert body["search_after"] == [1.5, 1700000000000, "abc"]
    assert body["size"] == 11  # one extra tells whether a next page exists
    assert {"term": {"section": "World"}} in body["query"]["bool"]["filter"]


def test_collapsed_request_reads_a_lean_stream_then_collapses_the_candidate_stories():
    req = SearchRequest(query="port", collapse=True, size=10, timeout="5s")
    stream = build_query(req)
    assert stream["_source"] is False and stream["docvalue_fields"] == ["story_id"]
    assert "collapse" not in stream and "highlight" not in stream
    stories = build_story_query(req, ["s1", "s2"])
    # inner_hits would run one more search per story: the others come from an aggregation.
    assert stories["collapse"] == {"field": "story_id"}
    assert {"terms": {"story_id": ["s1", "s2"]}} in stories["query"]["bool"]["filter"]
    assert stories["size"] == 2 and stories["sort"] == stream["sort"]
    assert stories["timeout"] == "5s" and "search_after" not in stories


def test_a_first_collapsed_page_is_one_collapsed_request_with_its_counts_alongside():
    req = SearchRequest(
        query="port", collapse=True, size=10, count_stories=True, histogram=True, html=True
    )
    page = build_page_query(req)
    flat = build_query(SearchRequest(query="port", size=10, count_stories=True, histogram=True))
    assert page["collapse"] == {"field": "story_id"}
    assert page["size"] == 11 and page["sort"] == flat["sort"]
    # The story count and histogram run alongside, in their own request.
    assert set(page["aggs"]) == set(req.facets)
    counts = build_counts_query(req)
    assert counts["size"] == 0 and counts["query"] == page["query"]
    assert counts["aggs"] == {k: flat["aggs"][k] for k in ("_stories", "_histogram")}
    assert page["track_total_hits"] is True and page["highlight"]["encoder"] == "html"
    assert "search_after" not in page and "inner_hits" not in page["collapse"]


def test_others_of_the_shown_stories_are_counted_and_listed_by_one_aggregation():
    req = SearchRequest(query="port", collapse=True, others_size=4, timeout="5s")
    body = build_others_query(req, ["s1", "s2"])
    assert body["size"] == 0 and body["timeout"] == "5s"
    inner = body["query"]["constant_score"]["filter"]["bool"]
    assert {"terms": {"story_id": ["s1", "s2"]}} in inner["filter"]
    assert inner["must"] == build_query(req)["query"]["bool"]["must"]
    terms = body["aggs"]["_others"]["terms"]
    assert terms == {"field": "story_id", "include": ["s1", "s2"], "size": 2}
    latest = body["aggs"]["_others"]["aggs"]["latest"]["top_hits"]
    assert latest["size"] == 5 and latest["sort"][0] == {
        "published": {"order": "desc", "missing": "_last"}
    }


def test_cursor_round_trips_and_refuses_tampering_or_another_query():
    req = SearchRequest(query="port strike", filters={"person": ["A"]})
    after = (3.25, 1792022400000, "f00d")
    cursor = encode_cursor(req, after)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert decode_cursor(req, cursor) == after
    assert decode_cursor(SearchRequest(query=" port strike ", filters={"person": ["A"]}), cursor)
    for other in (
        SearchRequest(query="port"),
        SearchRequest(query="port strike", filters={"person": ["B"]}),
        SearchRequest(query="port strike", filters={"person": ["A"]}, sort="date"),
        SearchRequest(query="port strike", filters={"person": ["A"]}, collapse=True),
    ):
        with pytest.raises(InvalidCursor):
            decode_cursor(other, cursor)
    for bad in (
        "",
        "%%%",
        "bm90IGpzb24",
        cursor[:-2],
        encode_cursor(req, (1, 2)),
        encode_cursor(req, ("x", 1, "a")),
        encode_cursor(req, (1.0, 2**70, "a")),
    ):
        with pytest.raises(InvalidCursor):
            decode_cursor(req, bad)


def test_prefix_regex_is_case_insensitive_anchored_at_words_and_escaped():
    pattern = prefix_regex("sol")
    assert pattern == "(.*[ \\-'.(\\\"/])?[sS][oO][lL].*"
    assert prefix_regex("  ") is None
    assert prefix_regex("a.*(") == "(.*[ \\-'.(\\\"/])?[aA]\\.\\*\\(.*"
    assert prefix_regex("d1") == "(.*[ \\-'.(\\\"/])?[dD]1.*"


def test_suggestions_use_include_regexes_on_the_entity_fields_only():
    body = build_suggest_query("lind", ("person",), size=5)
    assert body["aggs"] == {
        "person": {"terms": {"field": "person", "size": 5, "include": prefix_regex("lind")}}
    }
    assert "include" not in build_suggest_query("")["aggs"]["event"]["terms"]
    with pytest.raises(ValueError, match="unknown entity type"):
        build_suggest_query("x", ("body",))


def test_entity_queries_filter_on_the_entity_and_leave_it_out_of_co_occurrence():
    body = build_entity_query("person", "Ingrid Solberg", timeout="5s")
    assert body["query"]["bool"]["filter"] == [{"term": {"person": "Ingrid Solberg"}}]
    assert body["aggs"]["person"]["terms"]["exclude"] == ["Ingrid Solberg"]
    assert "exclude" not in body["aggs"]["location"]["terms"]
    mentions = build_mentions_query("person", "Ingrid Solberg", "week")
    histogram = mentions["aggs"]["mentions"]["date_histogram"]
    assert (histogram["calendar_interval"], histogram["min_doc_count"]) == ("week", 0)
    quotes = build_quotes_query("Ingrid Solberg")
    assert quotes["query"]["nested"]["path"] == "quotes"
    with pytest.raises(ValueError):
        build_entity_query("planet", "Mars")


def test_histogram_interval_keeps_the_number_of_buckets_small():
    day = 86_400_000
    assert histogram_interval(None, None) is None
    assert histogram_interval(0, 30 * day) == "day"
    assert histogram_interval(0, 400 * day) == "week"
    assert histogram_interval(0, 5 * 365 * day) == "month"
    assert histogram_interval(0, 20 * 365 * day) == "quarter"
    assert histogram_interval(0, 200 * 365 * day) == "year"
