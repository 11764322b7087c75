"""The load step and the index lifecycle against the real node."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from newsflow.settings import Settings
from newsflow.store import indices
from newsflow.store.indices import IndexSetupError, ensure_index, load_template
from newsflow.store.load import (
    bulk_load,
    count_dead_letters,
    dead_letter_index,
    list_dead_letters,
    load_documents,
    retry_dead_letters,
)
from newsflow.transforms.batch.documents import content_hash, document_id, to_document
from newsflow.transforms.models import Article, EnrichedArticle, Entity
from tests.corpora import ROOT

MODEL = Settings().spacy_model


def make_article(n: int, body: str | None = None) -> EnrichedArticle:
    url = f"https://news.example/story/{n}"
    article = Article(
        url=url,
        canonical_url=url,
        title=f"Story {n}",
        body=body or f"Body of story {n}: ministers met in Oslo to discuss running costs.",
        authors=["Kari Nordmann"],
        published=f"2026-10-0{n % 9 + 1}",
        site_name="News",
        source="news.example",
        language="en",
        tags=[],
        section="World",
        description=None,
        image=None,
        fetched_at=datetime(2026, 10, 10, tzinfo=UTC),
        word_count=12,
    )
    return EnrichedArticle(article, [Entity("Oslo", "location", 1, 20)])


# Documents 0, 1, ... once made in this process; tests take fresh copies of them.
_made: list[dict] = []


def docs(n: int, run_id: str = "run-1") -> list[dict]:
    """Documents of ``make_article(0..n-1)`` for ``run_id``, indexed now. Each is made once
    per process (the fault tests load tens of thousands, and ``to_document`` checks the site
    rules and versions for each): what a run stamps anew is set on a copy the loader may
    change."""
    _made.extend(to_document(make_article(i), "", model_name=MODEL) for i in range(len(_made), n))
    stamp = {"run_id": run_id, "indexed_at": datetime.now(UTC).isoformat()}
    return [made | stamp for made in _made[:n]]


def refresh_interval(client: Elasticsearch, index: str) -> str | None:
    found = client.indices.get_settings(index=index, name="index.refresh_interval")[index]
    return found.get("settings", {}).get("index", {}).get("refresh_interval")


def test_ensure_index_creates_versioned_index_behind_alias_with_the_template(
    es_client: Elasticsearch, index_alias: str
):
    concrete = ensure_index(es_client, index_alias)
    assert concrete == f"{index_alias}-v1"
    assert ensure_index(es_client, index_alias) == concrete  # idempotent
    assert list(indices.alias_indices(es_client, index_alias)) == [concrete]
    mapping = es_client.indices.get_mapping(index=concrete)[concrete]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert mapping["_meta"]["mapping_version"] == load_template()["mapping_version"]
    assert mapping["properties"]["person"]["type"] == "keyword"
    assert mapping["properties"]["entities"]["type"] == "nested"
    # The english sub-field exists exactly when the cluster has the analyser.
    has_english = indices.has_analyzer(es_client, "english")
    assert ("english" in mapping["properties"]["body"].get("fields", {})) == has_english


def _layout(client: Elasticsearch, index: str) -> dict:
    found = client.indices.get_settings(index=index)[index]["settings"]["index"]
    keys = ("number_of_shards", "number_of_replicas", "auto_expand_replicas")
    return {k: found[k] for k in keys if k in found}


def test_new_indices_take_the_shards_and_replicas_of_the_settings(
    es_client: Elasticsearch, settings
):
    from newsflow.flows.pipeline import prepare_index_task

    first = prepare_index_task.fn(settings)
    assert _layout(es_client, first) == {
        "number_of_shards": "1",
        "number_of_replicas": "0",
        "auto_expand_replicas": "0-1",
    }
    es_client.indices.delete(index=first)
    asked = settings.model_copy(update={"index_shards": 2, "index_replicas": 0})
    second = prepare_index_task.fn(asked)
    assert _layout(es_client, second) == {"number_of_shards": "2", "number_of_replicas": "0"}


def test_a_plain_index_with_the_alias_name_is_refused(es_client: Elasticsearch, index_alias: str):
    es_client.indices.create(index=index_alias)
    try:
        with pytest.raises(IndexSetupError, match="plain index"):
            ensure_index(es_client, index_alias)
    finally:
        es_client.indices.delete(index=index_alias)


def test_rejected_documents_go_to_the_dead_letter_index_and_the_rest_is_indexed(
    es_client: Elasticsearch, index_alias: str
):
    ensure_index(es_client, index_alias)
    batch = docs(5)
    batch[2]["unexpected_field"] = "strict mapping refuses this"
    batch[3]["published"] = "not a date"
    result = load_documents(es_client, index_alias, batch, "run-dl", chunk_size=2, concurrency=2)
    es_client.indices.refresh(index=index_alias)
    assert result.indexed == 3
    assert sorted(f.url for f in result.failures) == [batch[2]["url"], batch[3]["url"]]
    assert {r.error_type for r in result.rejected} == {
        "strict_dynamic_mapping_exception",
        "document_parsing_exception",
    }
    assert es_client.count(index=index_alias)["count"] == 3
    letters = es_client.search(index=dead_letter_index(index_alias))["hits"]["hits"]
    assert {h["_source"]["url"] for h in letters} == {batch[2]["url"], batch[3]["url"]}
    assert all(h["_source"]["run_id"] == "run-dl" for h in letters)
    assert all(h["_source"]["document"]["id"] == h["_id"] for h in letters)

    # After a fix (here: the bad date is repaired in the stored letter) a retry loads it.
    fixed = batch[3] | {"published": "2026-10-05"}
    es_client.update(
        index=dead_letter_index(index_alias),
        id=fixed["id"],
        doc={"document": fixed},
        refresh=True,
    )
    retried = retry_dead_letters(es_client, index_alias, "run-retry")
    es_client.indices.refresh(index=index_alias)
    assert retried.indexed == 1 and len(retried.rejected) == 1
    assert count_dead_letters(es_client, index_alias) == 1
    left = es_client.get(index=dead_letter_index(index_alias), id=batch[2]["id"])["_source"]
    assert left["attempts"] == 2 and left["run_id"] == "run-retry"
    assert es_client.count(index=index_alias)["count"] == 4


def test_bulk_load_reports_each_refused_document_with_its_reason_and_stores_the_rest_as_sent(
    es_client: Elasticsearch, index_alias: str
):
    ensure_index(es_client, index_alias)
    batch = docs(7)
    batch[1]["unexpected_field"] = "strict mapping refuses this"
    batch[5]["published"] = "not a date"
    # A byte limit of about two documents: the chunks of 4 go out as several requests each.
    limit = 2 * len(json.dumps(batch[0])) + 400
    result = bulk_load(
        es_client, index_alias, batch, chunk_size=4, max_chunk_bytes=limit, concurrency=2
    )
    es_client.indices.refresh(index=index_alias)
    assert result.indexed == 5
    refused = {r.document["id"]: r for r in result.rejected}
    assert set(refused) == {batch[1]["id"], batch[5]["id"]}
    strict = refused[batch[1]["id"]]
    assert strict.error_type == "strict_dynamic_mapping_exception"
    assert strict.reason.startswith("HTTP 400: strict_dynamic_mapping_exception")
    assert "unexpected_field" in strict.reason
    date = refused[batch[5]["id"]]
    assert date.error_type == "document_parsing_exception"
    assert "published" in date.reason and "not a date" in date.reason
    assert es_client.count(index=index_alias)["count"] == 5
    for doc in (batch[0], batch[6]):
        stored = es_client.get(index=index_alias, id=doc["id"])["_source"]
        assert stored == doc  # every field as given, with the hash of what it holds
        assert stored["content_hash"] == content_hash(doc)


def test_dead_letters_are_listed_newest_first_without_their_documents(
    es_client: Elasticsearch, index_alias: str
):
    assert list_dead_letters(es_client, index_alias) == (0, [])
    ensure_index(es_client, index_alias)
    first, second = docs(2)
    for run_id, doc in (("run-1", first), ("run-2", second)):
        load_documents(es_client, index_alias, [doc | {"published": "not a date"}], run_id)
    total, letters = list_dead_letters(es_client, index_alias, size=1)
    assert total == 2 and len(letters) == 1
    newest = letters[0]
    assert (newest.url, newest.run_id, newest.attempts) == (second["url"], "run-2", 1)
    assert "document_parsing_exception" in newest.reason


def test_reloading_updates_in_place_and_unchanged_articles_are_not_rewritten(
    es_client: Elasticsearch, index_alias: str
):
    ensure_index(es_client, index_alias)
    first = load_documents(es_client, index_alias, docs(4, "run-1"), "run-1")
    es_client.indices.refresh(index=index_alias)
    again = docs(4, "run-2")
    again[1] = to_document(
        make_article(1, body="A corrected body about Bergen."), "run-2", model_name=MODEL
    )
    second = load_documents(es_client, index_alias, again, "run-2")
    es_client.indices.refresh(index=index_alias)
    assert (first.indexed, second.indexed, second.unchanged) == (4, 1, 3)
    assert es_client.count(index=index_alias)["count"] == 4
    stored = es_client.get(index=index_alias, id=document_id("https://news.example/story/1"))
    assert stored["_source"]["run_id"] == "run-2" and "Bergen" in stored["_source"]["body"]
    untouched = es_client.get(index=index_alias, id=document_id("https://news.example/story/0"))
    assert untouched["_source"]["run_id"] == "run-1"


def test_backfill_turns_refresh_off_and_restores_it_even_when_the_load_fails(
    es_client: Elasticsearch, index_alias: str
):
    index = ensure_index(es_client, index_alias)
    es_client.indices.put_settings(index=index, settings={"index": {"refresh_interval": "5s"}})
    with pytest.raises(RuntimeError, match="boom"), indices.backfill_mode(es_client, index_alias):
        assert refresh_interval(es_client, index) == "-1"
        bulk_load(es_client, index_alias, docs(3))
        raise RuntimeError("boom")
    assert refresh_interval(es_client, index) == "5s"
    assert es_client.count(index=index_alias)["count"] == 3  # the final refresh happened


def test_ensure_index_reads_the_mapping_once_and_still_finishes_a_killed_backfill(
    es_client: Elasticsearch, index_alias: str, monkeypatch
):
    index = ensure_index(es_client, index_alias)
    # What a backfill killed before its end leaves: refreshes off, the interval it saved.
    meta = indices.read_mapping(es_client, index).get("_meta", {})
    meta |= {"backfill_saved_refresh_interval": "5s"}
    es_client.indices.put_mapping(index=index, meta=meta)
    es_client.indices.put_settings(index=index, settings={"index": {"refresh_interval": "-1"}})
    reads: list[dict] = []
    get_mapping = es_client.indices.get_mapping

    def counted(**kwargs):
        reads.append(kwargs)
        return get_mapping(**kwargs)

    monkeypatch.setattr(es_client.indices, "get_mapping", counted)
    assert ensure_index(es_client, index_alias) == index
    assert len(reads) == 1  # one read for the backfill check and the upgrade check
    monkeypatch.undo()
    assert refresh_interval(es_client, index) == "5s"
    meta = indices.read_mapping(es_client, index)["_meta"]
    assert "backfill_saved_refresh_interval" not in meta
    assert meta["mapping_version"] == load_template()["mapping_version"]


LOADER = textwrap.dedent(
    """
    import json, sys
    from elasticsearch import Elasticsearch
    from newsflow.store import indices
    from newsflow.store.load import bulk_load

    client = Elasticsearch(sys.argv[1])
    alias = sys.argv[2]
    documents = json.loads(open(sys.argv[3], "rb").read())
    indices.ensure_index(client, alias)
    with indices.backfill_mode(client, alias):
        print("loading", flush=True)
        bulk_load(client, alias, documents, chunk_size=200)
    """
)


def test_a_load_killed_with_sigkill_is_completed_by_the_next_run(
    es_client: Elasticsearch, index_alias: str, base_settings, tmp_path
):
    total = 8_000
    index = ensure_index(es_client, index_alias)
    # Made here (once per session, see docs): the loader's time is the load's.
    documents = tmp_path / "documents.json"
    documents.write_text(json.dumps(docs(total)))
    command = [
        sys.executable,
        "-c",
        LOADER,
        base_settings.effective_es_url,
        index_alias,
        str(documents),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "loading"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once part of the load has landed
        stats = es_client.indices.stats(index=index, metric="indexing")
        if stats["_all"]["primaries"]["indexing"]["index_total"] >= total // 4:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert refresh_interval(es_client, index) == "-1"  # left behind by the killed run
    es_client.indices.refresh(index=index)
    assert 0 < es_client.count(index=index)["count"] < total

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert rerun.returncode == 0, rerun.stderr
    # Ids come from canonical URLs: every article once, none lost, none doubled.
    assert es_client.count(index=index_alias)["count"] == total
    doubled = es_client.search(
        index=index_alias,
        size=0,
        aggs={"ids": {"terms": {"field": "id", "min_doc_count": 2, "size": 10}}},
    )["aggregations"]["ids"]["buckets"]
    assert doubled == []
    normal = load_template()["template"]["settings"]["index"]["refresh_interval"]
    assert refresh_interval(es_client, index) == normal


def test_migration_under_a_search_loop_loses_no_hits(es_client: Elasticsearch, index_alias: str):
    ensure_index(es_client, index_alias)
    bulk_load(es_client, index_alias, docs(3000), chunk_size=500)
    es_client.indices.refresh(index=index_alias)
    totals: list[int] = []
    errors: list[Exception] = []
    stop = threading.Event()

    def search_loop():
        while not stop.is_set():
            try:
                resp = es_client.search(
                    index=index_alias,
                    query={"match": {"body": "ministers"}},
                    size=0,
                    track_total_hits=True,
                )
                totals.append(resp["hits"]["total"]["value"])
            except Exception as exc:
                errors.append(exc)

    loop = threading.Thread(target=search_loop)
    loop.start()
    try:
        done = indices.migrate(es_client, index_alias)
    finally:
        time.sleep(0.3)  # a few searches after the swap too
        stop.set()
        loop.join()
    assert (done.source, done.target, done.copied) == (
        f"{index_alias}-v1",
        f"{index_alias}-v2",
        3000,
    )
    assert not errors
    assert len(totals) > 10 and set(totals) == {3000}
    assert list(indices.alias_indices(es_client, index_alias)) == [f"{index_alias}-v2"]
    assert indices.versions(es_client, index_alias) == [f"{index_alias}-v1", f"{index_alias}-v2"]
    with pytest.raises(IndexSetupError, match="behind the alias"):
        indices.drop_index(es_client, index_alias, f"{index_alias}-v2")
    indices.drop_index(es_client, index_alias, f"{index_alias}-v1")
    assert indices.versions(es_client, index_alias) == [f"{index_alias}-v2"]


def test_stats_report_documents_versions_last_run_facets_and_dead_letters(
    es_client: Elasticsearch, index_alias: str
):
    ensure_index(es_client, index_alias)
    batch = docs(6, "run-stats")
    batch[0]["bogus"] = 1
    load_documents(es_client, index_alias, batch, "run-stats")
    es_client.indices.refresh(index=index_alias)
    data = indices.stats(es_client, index_alias)
    assert data["documents"] == 5 and data["dead_letters"] == 1
    assert data["versions"] == [f"{index_alias}-v1"]
    assert data["last_run"]["run_id"] == "run-stats"
    assert data["top"]["location"] == [{"value": "Oslo", "count": 5}]
    assert data["size_bytes"] > 0
