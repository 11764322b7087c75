"""The search API in-process (FastAPI's TestClient) over the demo corpus in the real node."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

import newsflow.api.app as api_app
import newsflow.search as core
from newsflow.api import create_app
from newsflow.cli import DEMO_CORPUS
from newsflow.corpus_server import page_urls
from newsflow.flows.ingest import ingest
from newsflow.search import ALL_FACET_FIELDS, ENTITY_TYPES
from newsflow.settings import Settings
from newsflow.store.search import search as store_search
from newsflow.transforms.batch.documents import document_id
from newsflow.transforms.urls import canonicalize
from tests.conftest import fresh_alias
from tests.support import load_manifest

pytestmark = [
    pytest.mark.usefixtures("prefect_harness"),
    # Starlette prefers httpx2 for its TestClient; httpx is what the project has.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

FILTER_PARAM = {"authors": "author"}  # query parameter of each facet field, where it differs
ES_WORDS = re.compile(
    r"index_not_found|no such index|illegal_argument|search_phase|exception|127\.0\.0\.1:1|"
    r"Connection refused|urllib3|Traceback|elastic_transport|elasticsearch\.|ApiError",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def corpus(base_settings: Settings, es_client: Elasticsearch, site: str, tmp_path_factory):
    """The demo corpus ingested once into a fresh alias; the settings pointing at it."""
    with fresh_alias(es_client) as alias:
        settings = base_settings.model_copy(update={"index": alias})
        listing = tmp_path_factory.mktemp("api") / "urls.txt"
        listing.write_text("\n".join(page_urls(DEMO_CORPUS, site)) + "\n")
        summary = ingest([str(listing)], settings)
        assert summary["failures"] == []
        es_client.indices.refresh(index=alias)
        yield settings


@pytest.fixture(scope="module")
def api(corpus: Settings, es_client: Elasticsearch) -> Iterator[TestClient]:
    with TestClient(create_app(corpus, es_client)) as client:
        yield client


def _all_docs(es_client: Elasticsearch, alias: str) -> dict[str, dict[str, Any]]:
    resp = es_client.search(index=alias, size=1000, source=["story_id", "published", "url"])
    return {h["_id"]: h["_source"] for h in resp["hits"]["hits"]}


def _pages(api: TestClient, **params: Any) -> list[dict[str, Any]]:
    """Every page of a search, following next_cursor (bounded, so a bug cannot loop)."""
    pages: list[dict[str, Any]] = []
    cursor = None
    for _ in range(200):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        resp = api.get("/search", params=query)
        assert resp.status_code == 200, resp.text
        pages.append(resp.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the cursor never ran out")


def _assert_error(resp, status: int, error: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] == error
    assert body["message"]
    assert body["request_id"] == resp.headers["x-request-id"]
    assert not ES_WORDS.search(resp.text), resp.text
    return body


def _wire_ids() -> set[str]:
    wire = [m for m in load_manifest().values() if m.get("story") == "wire-1"]
    assert len(wire) >= 4
    return {document_id(canonicalize(m["canonical_url"])) for m in wire}


# --- search ----------------------------------------------------------------------------


def test_search_counts_articles_and_stories_and_has_every_facet(api, corpus, es_client):
    docs = _all_docs(es_client, corpus.index)
    body = api.get("/search").json()
    assert body["total"] == len(docs) >= 40
    assert body["stories"] == len({d["story_id"] for d in docs.values()}) < len(docs)
    assert set(body["facets"]) == set(ALL_FACET_FIELDS)
    assert all(body["facets"][f] for f in ("person", "location", "source", "language"))
    # No text: newest first.
    dates = [h["published"] for h in body["hits"]]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize(
    "field", ["person", "organization", "location", "source", "language", "authors", "section"]
)
def test_a_filter_narrows_to_exactly_the_facet_count(api, field):
    facets = api.get("/search", params={"collapse": "false"}).json()["facets"]
    bucket = facets[field][0]
    param = FILTER_PARAM.get(field, field)
    found = api.get(
        "/search", params={param: bucket["value"], "collapse": "false", "size": 50}
    ).json()
    assert found["total"] == bucket["count"] == len(found["hits"])
    for hit in found["hits"]:
        value = hit["entities"].get(field) if field in ENTITY_TYPES else hit[field]
        assert bucket["value"] in value if isinstance(value, list) else value == bucket["value"]
    # The facets describe the narrowed result set.
    assert found["facets"][field][0] == bucket


def test_filters_combine_with_and_and_text(api):
    wire_person = "Anders Lindgren"
    alone = api.get("/search", params={"person": wire_person, "collapse": "false"}).json()
    both = api.get(
        "/search",
        params={"person": wire_person, "source": "nordicwire.example", "collapse": "false"},
    ).json()
    assert 0 < both["total"] < alone["total"]
    texted = api.get(
        "/search", params={"q": "dockworkers", "person": wire_person, "collapse": "false"}
    ).json()
    assert 0 < texted["total"] <= alone["total"]
    nothing = api.get("/search", params={"q": "dockworkers", "person": "Nobody At All"}).json()
    assert (nothing["total"], nothing["hits"], nothing["next_cursor"]) == (0, [], None)


def test_date_range_keeps_only_articles_published_inside_it(api, corpus, es_client):
    docs = _all_docs(es_client, corpus.index)
    dates = sorted(d["published"][:10] for d in docs.values() if d.get("published"))
    since, until = dates[len(dates) // 4], dates[3 * len(dates) // 4]
    expected = sum(1 for d in dates if since <= d <= until)
    found = _pages(api, since=since, until=until, collapse="false", size=50)
    hits = [h for page in found for h in page["hits"]]
    assert found[0]["total"] == len(hits) == expected
    assert all(since <= h["published"][:10] <= until for h in hits)


@pytest.mark.parametrize(
    "params",
    [
        {"collapse": "false", "size": 7},
        {"collapse": "false", "size": 5, "q": "port | bank | the", "sort": "relevance"},
        {"collapse": "false", "size": 3, "sort": "date", "language": "en"},
    ],
)
def test_cursor_visits_every_article_exactly_once(api, corpus, es_client, params):
    pages = _pages(api, **params)
    ids = [h["id"] for page in pages for h in page["hits"]]
    assert len(ids) == len(set(ids)) == pages[0]["total"]
    assert all(len(p["hits"]) <= params["size"] for p in pages)
    if "q" not in params:
        assert set(ids) <= set(_all_docs(es_client, corpus.index))
    if params.get("sort") == "relevance":
        assert len(pages) > 2


@pytest.mark.parametrize("params", [{"size": 4}, {"size": 1}, {"size": 6, "q": "port | the"}])
def test_collapsed_cursor_visits_every_story_exactly_once(api, corpus, es_client, params):
    docs = _all_docs(es_client, corpus.index)
    pages = _pages(api, **params)
    hits = [h for page in pages for h in page["hits"]]
    stories = [h["story_id"] for h in hits]
    assert len(stories) == len(set(stories)) == pages[0]["stories"]
    # Each article is either a hit or folded into one, never both, never missing.
    shown = [h["id"] for h in hits] + [o["id"] for h in hits for o in h["others"]]
    assert len(shown) == len(set(shown)) == pages[0]["total"]
    if "q" not in params:
        assert set(shown) == set(docs)
        assert len(stories) == len({d["story_id"] for d in docs.values()})


def test_a_collapsed_page_cut_short_by_its_rounds_continues_where_it_stopped(
    api, corpus, es_client, monkeypatch
):
    # Stretches of two articles and one round a page: no page can fill up, so each one stops
    # after its round with a cursor at the end of the stretch read.
    # The first page is one collapsed request, without rounds: it is full.
    monkeypatch.setattr(core, "STREAM_BATCH_MIN", 2)
    monkeypatch.setattr(core, "STREAM_BATCH_MAX", 2)
    monkeypatch.setattr(core, "STREAM_MAX_ROUNDS", 1)
    docs = _all_docs(es_client, corpus.index)
    pages = _pages(api, size=3)
    assert len(pages) > 3 and len(pages[0]["hits"]) == 3
    assert all(len(p["hits"]) < 3 for p in pages[1:])
    hits = [h for page in pages for h in page["hits"]]
    stories = [h["story_id"] for h in hits]
    assert len(stories) == len(set(stories)) == len({d["story_id"] for d in docs.values()})
    shown = [h["id"] for h in hits] + [o["id"] for h in hits for o in h["others"]]
    assert sorted(shown) == sorted(docs)


def _expected_stories(
    es_client: Elasticsearch, alias: str, req: core.SearchRequest
) -> list[tuple[str, str, int, set[str]]]:
    """What a collapsed search must show, worked out from the uncollapsed results alone: each
    story once at its best article's place, with its number of other matching articles and
    their ids."""
    flat = core.build_query(replace(req, collapse=False, size=999, facets=()))
    hits = es_client.search(index=alias, **flat)["hits"]["hits"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for h in hits:
        groups.setdefault(h["_source"]["story_id"], []).append(h)
    return [
        (story, members[0]["_id"], len(members) - 1, {m["_id"] for m in members[1:]})
        for story, members in groups.items()
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "port | strike | the | bank"},
        {"sort": "date"},
        {"q": "Gothenburg dockworkers"},
        {"q": "the", "size": 3, "others": 1},
    ],
)
def test_collapsed_pages_show_the_same_story_groups_and_counts_as_the_uncollapsed_results(
    corpus, es_client, params
):
    # The first page (one collapsed request plus the others aggregation) and the pages after
    # it (rounds over the stream) against the groups read from the plain results.
    req = core.SearchRequest(
        query=params.get("q", ""),
        sort=params.get("sort"),
        size=params.get("size", 4),
        others_size=params.get("others", 10),
        collapse=True,
        facets=ALL_FACET_FIELDS,
        count_stories=True,
        histogram=True,
        html=True,
    )
    expected = _expected_stories(es_client, corpus.index, req)
    assert expected, params
    shown: list[core.Hit] = []
    after = None
    for _ in range(100):
        page = store_search(es_client, corpus.index, replace(req, search_after=after))
        shown += page.hits
        assert page.stories == len(expected)
        after = page.next_after
        if after is None:
            break
    assert [(h.story_id, h.id, h.other_count) for h in shown] == [e[:3] for e in expected]
    for hit, (_, _, count, members) in zip(shown, expected, strict=True):
        listed = [o.id for o in hit.others]
        # The latest others_size + 1 are read, less the best article when it is among them.
        assert set(listed) <= members
        assert min(count, req.others_size) <= len(listed) <= min(count, req.others_size + 1)
        dates = [o.published or "" for o in hit.others]
        assert dates == sorted(dates, reverse=True)  # the latest first


def test_a_first_collapsed_page_equals_the_page_the_rounds_put_together(corpus, es_client):
    # build_page_query replaces the rounds for a first page: the rounds (StoryPage) must give
    # the very same page.
    for query in ("", "port | strike | the", "Gothenburg dockworkers"):
        req = core.SearchRequest(
            query=query,
            size=5,
            collapse=True,
            facets=ALL_FACET_FIELDS,
            count_stories=True,
            histogram=True,
            html=True,
        )
        fast = store_search(es_client, corpus.index, req)
        page = core.StoryPage(req)
        while not page.done:
            resp = es_client.search(index=corpus.index, **page.stream_query()).body
            stories = page.read_stream(resp)
            found = others = None
            if stories:
                found = es_client.search(
                    index=corpus.index, **core.build_story_query(req, stories)
                ).body
                others = es_client.search(
                    index=corpus.index, **core.build_others_query(req, stories)
                ).body
            page.read_stories(found, others)
        rounds = page.result()
        assert fast.hits == rounds.hits and fast.hits
        assert (fast.total, fast.stories, fast.facets, fast.histogram) == (
            rounds.total,
            rounds.stories,
            rounds.facets,
            rounds.histogram,
        )


def test_the_wire_story_is_one_result_with_the_other_sources(api):
    wire = _wire_ids()
    hits = [h for p in _pages(api, q="Gothenburg dockworkers", size=10) for h in p["hits"]]
    (story,) = [h for h in hits if h["id"] in wire]
    assert story["other_count"] == len(wire) - 1
    others = {o["id"] for o in story["others"]}
    assert others == wire - {story["id"]}
    sources = {o["source"] for o in story["others"]} | {story["source"]}
    assert len(sources) == len(wire)
    assert not any(h["id"] in others for h in hits)
    # Without collapsing, every republication is its own hit.
    flat = api.get("/search", params={"q": "Gothenburg dockworkers", "collapse": "false"}).json()
    assert wire <= {h["id"] for h in flat["hits"]}
    assert all(h["other_count"] == 0 and h["others"] == [] for h in flat["hits"])


def test_snippets_and_titles_highlight_matches_and_escape_the_rest(api):
    body = api.get("/search", params={"q": "strike", "size": 20, "collapse": "false"}).json()
    assert body["hits"]
    for hit in body["hits"]:
        marked = hit["snippet"] + hit["title_html"]
        assert re.search(r"<em>strike</em>", marked, re.IGNORECASE), hit
        # Only the highlight tags are markup: the page can insert these strings as HTML.
        assert "<" not in marked.replace("<em>", "").replace("</em>", "")


def test_any_text_is_a_valid_query(api):
    for q in ["AND ((", '"unclosed', "*leading ?wild", "a\\", "~ ^ / : [ ] { }", "-", "ü" * 500]:
        resp = api.get("/search", params={"q": q})
        assert resp.status_code == 200, (q, resp.text)


def test_facet_parameter_limits_the_counted_fields(api):
    asked = ("source", "person")
    body = api.get("/search", params=[("facet", f) for f in asked]).json()
    assert set(body["facets"]) == set(ALL_FACET_FIELDS)
    assert all(body["facets"][f] for f in asked)
    assert all(body["facets"][f] == [] for f in ALL_FACET_FIELDS if f not in asked)
    _assert_error(api.get("/search", params={"facet": "body"}), 422, "validation_error")


def test_sort_by_date_orders_newest_first_even_with_text(api):
    hits = api.get("/search", params={"q": "the", "sort": "date", "size": 50}).json()["hits"]
    dates = [_instant(h["published"]) for h in hits]
    assert len(dates) > 5 and dates == sorted(dates, reverse=True)


def _instant(value: str) -> datetime:
    """A `published` value as Elasticsearch sorts it: offsets applied, dates at 00:00 UTC."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- bad parameters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"q": "x" * 501}, 422, "validation_error"),
        ({"since": "2026-13-01"}, 422, "validation_error"),
        ({"until": "last week"}, 422, "validation_error"),
        ({"since": "1700000000"}, 422, "validation_error"),
        ({"size": 51}, 422, "validation_error"),
        ({"size": 0}, 422, "validation_error"),
        ({"sort": "random"}, 422, "validation_error"),
        ({"collapse": "maybe"}, 422, "validation_error"),
        ({"person": ""}, 422, "validation_error"),
        ({"cursor": "not-a-cursor"}, 400, "bad_cursor"),
        ({"cursor": "eyJ2IjoxLCJxIjoiYWJjIiwiYSI6WzEsIngiXX0"}, 400, "bad_cursor"),
    ],
)
def test_bad_search_parameters_get_a_clear_4xx(api, params, status, error):
    body = _assert_error(api.get("/search", params=params), status, error)
    if status == 422:
        assert body["details"] and body["details"][0]["loc"][0] == "query"
        assert body["details"][0]["loc"][1] in params


def test_a_cursor_only_works_for_the_query_it_came_from(api):
    first = api.get("/search", params={"size": 2, "collapse": "false"}).json()
    cursor = first["next_cursor"]
    assert cursor
    ok = api.get("/search", params={"size": 2, "collapse": "false", "cursor": cursor})
    assert ok.status_code == 200
    other = api.get("/search", params={"size": 2, "q": "port", "cursor": cursor})
    _assert_error(other, 400, "bad_cursor")
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    _assert_error(
        api.get("/search", params={"size": 2, "collapse": "false", "cursor": tampered}),
        400,
        "bad_cursor",
    )


def test_unknown_entity_type_and_unknown_paths(api):
    _assert_error(api.get("/entities/planet/Mars"), 422, "validation_error")
    _assert_error(api.get("/entities", params={"type": "planet"}), 422, "validation_error")
    _assert_error(api.get("/entities", params={"prefix": "x" * 101}), 422, "validation_error")
    _assert_error(api.get("/no/such/path"), 404, "not_found")
    _assert_error(api.post("/search"), 405, "method_not_allowed")


# --- articles, entities, health --------------------------------------------------------


def test_article_by_id_and_404(api, corpus, es_client):
    doc_id = next(iter(_wire_ids()))
    stored = es_client.get(index=corpus.index, id=doc_id)["_source"]
    body = api.get(f"/articles/{doc_id}").json()
    assert (body["id"], body["url"], body["title"]) == (doc_id, stored["url"], stored["title"])
    assert body["body"] == stored["body"]
    assert body["entities"]["person"] == stored["person"]
    assert {m["name"] for m in body["mentions"]} == {e["name"] for e in stored["entities"]}
    assert body["quotes"] == stored["quotes"]
    assert all(q["speaker"] and q["text"] for q in body["quotes"])
    assert "content_hash" not in body
    _assert_error(api.get("/articles/0000000000"), 404, "not_found")


def test_entity_suggestions_by_prefix_any_case(api):
    found = api.get("/entities", params={"prefix": "LIND", "type": "person"}).json()
    assert {"type": "person", "value": "Anders Lindgren"} in [
        {k: s[k] for k in ("type", "value")} for s in found["suggestions"]
    ]
    assert all(s["type"] == "person" for s in found["suggestions"])
    # A later word matches too; all types without `type`.
    anywhere = api.get("/entities", params={"prefix": "freight"}).json()["suggestions"]
    assert any(s["value"] == "Baltic Freight Lines" for s in anywhere)
    counts = [s["count"] for s in anywhere]
    assert counts == sorted(counts, reverse=True)
    for prefix in [".*", "a(", "[", "\\", '"', "~", "#@&<>", "ø"]:
        resp = api.get("/entities", params={"prefix": prefix})
        assert resp.status_code == 200, (prefix, resp.text)
    assert api.get("/entities", params={"prefix": ".*"}).json()["suggestions"] == []


def test_entity_profile_mentions_co_occurrence_and_quotes(api):
    name = "Anders Lindgren"
    profile = api.get(f"/entities/person/{name}").json()
    facet = api.get("/search", params={"person": name, "collapse": "false"}).json()
    assert profile["articles"] == facet["total"] >= 4
    assert sum(b["count"] for b in profile["mentions"]) == profile["articles"]
    assert profile["interval"] == "day"
    dates = [b["date"] for b in profile["mentions"]]
    assert dates == sorted(dates)
    assert name not in {b["value"] for b in profile["co_occurring"]["person"]}
    together = profile["co_occurring"]["organization"][0]
    both = api.get(
        "/search",
        params={"person": name, "organization": together["value"], "collapse": "false"},
    ).json()
    assert both["total"] == together["count"]
    # The wire story quotes the union chairman; his profile carries those quotes, his only.
    assert profile["quotes"], "expected the wire story's quotes of Anders Lindgren"
    assert {q["speaker"] for q in profile["quotes"]} == {name}
    _assert_error(api.get("/entities/person/Nobody At All"), 404, "not_found")


def test_health_reports_the_alias_and_its_documents(api, corpus, es_client):
    resp = api.get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok" and body["alias"] == corpus.index and body["alias_exists"]
    assert body["documents"] == es_client.count(index=corpus.index)["count"]
    assert body["request_id"] == resp.headers["x-request-id"]


def test_an_incoming_request_id_is_kept(api):
    resp = api.get("/articles/missing", headers={"X-Request-ID": "proxy-1234"})
    assert resp.headers["x-request-id"] == "proxy-1234" == resp.json()["request_id"]
    odd = api.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert odd.headers["x-request-id"] != "bad id\twith spaces"


def test_openapi_documents_every_endpoint_and_its_errors(api):
    doc = api.get("/openapi.json").json()
    assert set(doc["paths"]) == {
        "/search",
        "/articles/{article_id}",
        "/entities",
        "/entities/{entity_type}/{name}",
        "/health",
    }
    for path, item in doc["paths"].items():
        responses = item["get"]["responses"]
        assert "200" in responses and "$ref" in str(responses["200"]), path
        assert "503" in responses, path
    quotes = doc["components"]["schemas"]["EntityResponse"]["properties"]["quotes"]
    assert "quotes" in quotes["description"]


# --- failures: generic answers, details in the log -------------------------------------


def test_elasticsearch_down_gives_503_without_its_error_text(base_settings, caplog):
    dead = Elasticsearch("http://127.0.0.1:1", request_timeout=2, max_retries=0)
    settings = base_settings.model_copy(update={"es_request_timeout": 2.0})
    caplog.set_level(logging.ERROR, logger="newsflow.api")
    with TestClient(create_app(settings, dead)) as client:
        for path in ("/search?q=port", "/articles/abc", "/entities?prefix=a", "/entities/person/X"):
            body = _assert_error(client.get(path), 503, "unavailable")
            logged = [r for r in caplog.records if body["request_id"] in r.getMessage()]
            assert logged, path
            assert "connection refused" in logged[0].getMessage()
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable"
        assert not ES_WORDS.search(health.text)


def test_a_missing_alias_is_503_not_a_leak(base_settings, es_client):
    settings = base_settings.model_copy(update={"index": "test-no-such-alias"})
    with TestClient(create_app(settings, es_client)) as client:
        _assert_error(client.get("/search"), 503, "unavailable")
        _assert_error(client.get("/articles/abc"), 503, "unavailable")
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["alias_exists"] is False


def test_a_request_elasticsearch_refuses_is_502_and_logged(
    base_settings, es_client, index_alias, caplog
):
    # story_id as text: Elasticsearch refuses to collapse or read doc values on it.
    index = f"{index_alias}-v1"
    es_client.indices.create(
        index=index,
        mappings={"properties": {"story_id": {"type": "text"}, "title": {"type": "text"}}},
        aliases={index_alias: {}},
    )
    es_client.index(index=index, id="1", document={"story_id": "s", "title": "t"}, refresh=True)
    caplog.set_level(logging.ERROR, logger="newsflow.api")
    settings = base_settings.model_copy(update={"index": index_alias})
    with TestClient(create_app(settings, es_client)) as client:
        body = _assert_error(client.get("/search"), 502, "backend_error")
    (record,) = [r for r in caplog.records if body["request_id"] in r.getMessage()]
    assert "HTTP 400" in record.getMessage() and "GET /search" in record.getMessage()


def test_static_page_is_served_at_the_root_next_to_the_api(
    corpus, es_client, tmp_path, monkeypatch
):
    (tmp_path / "index.html").write_text("<!doctype html><title>newsflow</title>")
    monkeypatch.setattr(api_app, "STATIC_DIR", tmp_path)
    with TestClient(create_app(corpus, es_client)) as client:
        page = client.get("/")
        assert page.status_code == 200 and "<title>newsflow</title>" in page.text
        assert client.get("/search", params={"size": 1}).json()["total"] > 0
        assert client.get("/openapi.json").status_code == 200
        _assert_error(client.get("/nothing-here.html"), 404, "not_found")


def test_search_histogram_counts_every_matching_article_by_week(api, corpus, es_client):
    for params in ({}, {"q": "strike"}, {"language": "es"}):
        body = api.get("/search", params=params).json()
        histogram = body["histogram"]
        assert histogram["interval"] == "week"
        dated = (
            es_client.count(
                index=corpus.index, query={"bool": {"filter": [{"exists": {"field": "published"}}]}}
            )["count"]
            if not params
            else None
        )
        total = sum(b["count"] for b in histogram["buckets"])
        assert total == (dated if dated is not None else body["total"])
        dates = [b["date"] for b in histogram["buckets"]]
        assert dates == sorted(dates)
