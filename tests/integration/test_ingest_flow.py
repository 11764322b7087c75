"""The whole ingest flow over the demo corpus served on 127.0.0.1, into the real node."""

from __future__ import annotations

import gc
from collections import Counter

import pytest
from elasticsearch import Elasticsearch

from newsflow.cli import DEMO_CORPUS
from newsflow.corpus_server import page_urls
from newsflow.flows import pipeline as pipeline_module
from newsflow.flows.ingest import ingest
from newsflow.search import SearchRequest
from newsflow.settings import Settings
from newsflow.store.search import search
from newsflow.transforms.batch.documents import document_id
from newsflow.transforms.batch.transform import TransformResult
from newsflow.transforms.urls import canonicalize
from tests.conftest import fresh_alias
from tests.support import load_manifest

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _url_list(tmp_path, urls: list[str]):
    path = tmp_path / "urls.txt"
    path.write_text("\n".join(urls) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def corpus_settings(base_settings: Settings, es_client: Elasticsearch):
    with fresh_alias(es_client) as alias:
        yield base_settings.model_copy(update={"index": alias})


@pytest.fixture(scope="module")
def corpus_run(corpus_settings: Settings, site: str, tmp_path_factory, prefect_harness):
    """The demo corpus ingested once into a fresh alias (per module); (summary, urls)."""
    urls = page_urls(DEMO_CORPUS, site)
    summary = ingest([_url_list(tmp_path_factory.mktemp("corpus"), urls)], corpus_settings)
    return summary, urls


def test_every_demo_page_is_fetched_over_http_and_indexed(corpus_run, corpus_settings, es_client):
    summary, urls = corpus_run
    assert summary["discovered"] == len(urls) >= 40
    assert summary["failures"] == []
    assert summary["fetched"] == summary["cleaned"] == summary["enriched"] == len(urls)
    assert summary["indexed"] == len(urls)
    assert es_client.count(index=corpus_settings.index)["count"] == len(urls)


def test_documents_carry_metadata_and_entity_facets_from_the_pages(
    corpus_run, corpus_settings, es_client
):
    manifest = load_manifest()
    checked = 0
    for path, expected in manifest.items():
        canonical = expected["canonical_url"]
        if not canonical or not canonical.startswith("http"):
            continue
        doc = es_client.get(index=corpus_settings.index, id=document_id(canonicalize(canonical)))
        source = doc["_source"]
        assert source["title"].strip() == expected["title"].strip(), path
        assert source["language"] == expected["language"], path
        assert source["published"][:10] == expected["published"][:10], path
        for sentence in expected["body_sentences"]:
            assert " ".join(sentence.split()) in " ".join(source["body"].split()), (path, sentence)
        for junk in expected["boilerplate_strings"]:
            assert junk not in source["body"], (path, junk)
        checked += 1
    assert checked >= 30


def _facet_counts(es_client: Elasticsearch, alias: str, field: str) -> Counter:
    resp = es_client.search(
        index=alias, size=0, aggs={field: {"terms": {"field": field, "size": 1000}}}
    )
    return Counter({b["key"]: b["doc_count"] for b in resp["aggregations"][field]["buckets"]})


def test_facet_counts_match_the_pages_that_name_each_entity(corpus_run, corpus_settings, es_client):
    manifest = {p: m for p, m in load_manifest().items() if m["language"] == "en"}
    for facet in ("person", "location", "organization"):
        expected: Counter = Counter()
        for m in manifest.values():
            expected.update(set(m["entities"].get(facet, [])))
        actual = _facet_counts(es_client, corpus_settings.index, facet)
        found = [name for name in expected if actual[name] >= expected[name]]
        # The small NER model misses some names; the facets must still hold most of them.
        assert len(found) >= 0.7 * len(expected), (facet, sorted(set(expected) - set(found)))
    # A person named on several known pages is counted once per page that names them.
    people = Counter(n for m in manifest.values() for n in set(m["entities"].get("person", [])))
    name, pages = people.most_common(1)[0]
    result = search(
        es_client, corpus_settings.index, SearchRequest(filters={"person": [name]}, size=50)
    )
    assert result.total >= pages


def test_boilerplate_never_becomes_an_entity(corpus_run, corpus_settings, es_client):
    junk = {n for m in load_manifest().values() for n in m.get("boilerplate_entities", [])}
    body_names = {n for m in load_manifest().values() for v in m["entities"].values() for n in v}
    junk -= body_names  # a name in one page's boilerplate may be another page's subject
    assert junk
    for facet in ("person", "location", "organization"):
        leaked = junk & set(_facet_counts(es_client, corpus_settings.index, facet))
        assert not leaked, (facet, leaked)


def test_a_second_run_updates_the_same_documents(
    corpus_run, corpus_settings, es_client, site, tmp_path
):
    first, urls = corpus_run
    before = es_client.count(index=corpus_settings.index)["count"]
    second = ingest([_url_list(tmp_path, urls)], corpus_settings)
    es_client.indices.refresh(index=corpus_settings.index)
    # Same pages, same content: nothing is rewritten and nothing is added.
    assert (second["indexed"], second["unchanged"]) == (0, first["indexed"])
    assert es_client.count(index=corpus_settings.index)["count"] == before
    assert set(_facet_counts(es_client, corpus_settings.index, "run_id")) == {first["run_id"]}


def test_broken_pages_are_reported_and_the_good_ones_indexed(settings, site, tmp_path, es_client):
    good = page_urls(DEMO_CORPUS, site)[:5]
    broken = {
        f"{site}/missing-page.html": ("fetch", "HTTP 404"),
        f"{site}/broken/slow": ("fetch", "timeout"),
        f"{site}/broken/pdf": ("fetch", "not HTML"),
        f"{site}/broken/empty": ("clean", "no extractable article text"),
    }
    urls = [good[0], *broken, *good[1:], good[0]]
    summary = ingest([_url_list(tmp_path, urls), str(tmp_path / "no-such-list.txt")], settings)
    assert summary["indexed"] == 5
    assert summary["failed"] == len(broken) + 1
    by_url = {f["url"]: f for f in summary["failures"]}
    for url, (stage, reason) in broken.items():
        assert by_url[url]["stage"] == stage
        assert by_url[url]["reason"].startswith(reason), by_url[url]
    assert by_url[str(tmp_path / "no-such-list.txt")]["stage"] == "discover"
    assert summary["skipped"] == 1  # good[0] listed twice
    assert es_client.count(index=settings.index)["count"] == 5


def _results_alive() -> int:
    return sum(isinstance(o, TransformResult) for o in gc.get_objects())


def test_no_batch_of_documents_outlives_its_load(settings, site, tmp_path, monkeypatch):
    """The flow process's memory must not grow with the run: once a batch is loaded, nothing
    (Prefect's result cache included) keeps its documents."""
    live_at_end: list[int] = []
    run = pipeline_module.BatchPipeline.run

    def run_and_count(self, *args, **kwargs):
        run(self, *args, **kwargs)
        gc.collect()
        live_at_end.append(_results_alive())

    monkeypatch.setattr(pipeline_module.BatchPipeline, "run", run_and_count)
    urls = page_urls(DEMO_CORPUS, site)[:6]
    summary = ingest([_url_list(tmp_path, urls)], settings.model_copy(update={"batch_size": 2}))
    assert summary["indexed"] == 6 and summary["transform_batches"] == 3
    assert live_at_end == [0]


def test_batches_in_reference_cycles_are_collected_as_the_run_goes(
    settings, site, tmp_path, monkeypatch
):
    """A batch's result left in a reference cycle (Prefect's record of the persisted result)
    must not wait for the collector's rare full collections: the flow's resident size grew
    ~20 KB an article between them. After the last load, with no collection by this test, no
    loaded batch is left."""
    left: list[int] = []
    finish_load = pipeline_module.BatchPipeline._finish_load

    def finish_and_count(self, *args, **kwargs):
        finish_load(self, *args, **kwargs)
        if not self.loading and not self.transforming:
            left.append(_results_alive())

    monkeypatch.setattr(pipeline_module.BatchPipeline, "_finish_load", finish_and_count)
    gc.collect()
    urls = page_urls(DEMO_CORPUS, site)[:8]
    summary = ingest([_url_list(tmp_path, urls)], settings.model_copy(update={"batch_size": 2}))
    assert summary["indexed"] == 8 and summary["transform_batches"] == 4
    assert left == [0]


def test_main_subject_search_finds_the_wire_story_wherever_it_was_republished(
    corpus_run, corpus_settings, es_client
):
    wire = {p: m for p, m in load_manifest().items() if m.get("story") == "wire-1"}
    assert len(wire) >= 4
    shared = set.intersection(*(set(m["entities"]["person"]) for m in wire.values()))
    request = SearchRequest(subjects=sorted(shared)[:1], size=50)
    hits = search(es_client, corpus_settings.index, request).hits
    wire_urls = {m["canonical_url"] for m in wire.values()}
    assert wire_urls <= {h.url for h in hits} | {
        es_client.get(index=corpus_settings.index, id=h.id)["_source"]["canonical_url"]
        for h in hits
    }


def test_pages_that_cannot_be_archived_are_indexed_and_counted_in_the_summary(
    settings, site, tmp_path
):
    """An archive that refuses writes (a path below a plain file here; a root-owned volume in
    the compose stack) must not lose the articles, and must not hide either: the summary says
    how many pages reprocess will not find, and why."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    urls = page_urls(DEMO_CORPUS, site)[:3]
    broken = settings.model_copy(update={"archive_url": str(blocker / "archive")})
    summary = ingest([_url_list(tmp_path, urls)], broken)
    assert summary["indexed"] == 3 and summary["failures"] == []
    assert summary["archive_failed"] == 3
    assert summary["archive_error"].startswith("archive write failed")


def test_each_story_has_one_lead(corpus_run, corpus_settings, es_client):
    """Copies of one story arrive in different batches, and a later batch can take the lead
    from a copy that is still loading: after the run, the index holds one lead per story."""
    es_client.indices.refresh(index=corpus_settings.index)
    hits = es_client.search(
        index=corpus_settings.index,
        size=1000,
        source=["story_id", "story_lead"],
        query={"match_all": {}},
    )["hits"]["hits"]
    leads: Counter = Counter()
    for hit in hits:
        leads[hit["_source"]["story_id"]] += hit["_source"]["story_lead"]
    assert len(leads) < len(hits)  # the demo corpus has copies of one wire story
    assert set(leads.values()) == {1}, {s: n for s, n in leads.items() if n != 1}
