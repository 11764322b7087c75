"""The maintenance flow against the real node: dead-letter retry, re-enrichment of stale
articles (from the archive, else from the indexed body), index stats, run recorded."""

from __future__ import annotations

import shutil

import pytest
from elasticsearch import Elasticsearch

from newsflow.cli import DEMO_CORPUS
from newsflow.flows.ingest import ingest
from newsflow.flows.maintenance import maintenance
from newsflow.settings import Settings
from newsflow.store.archive import Archive
from newsflow.store.load import count_dead_letters, dead_letter_index, load_documents
from newsflow.store.runs import list_runs, runs_index
from newsflow.transforms import versions
from newsflow.transforms.batch.documents import document_id
from tests.support import alias_table

pytestmark = pytest.mark.usefixtures("prefect_harness")

PAGES = [
    "nordic-wire/gothenburg-port-strike.html",
    "harbour-gazette/storm-isolde-power-cuts.html",
    "metro-chronicle/city-budget.html",
]


@pytest.fixture
def loaded(settings: Settings, es_client: Elasticsearch, tmp_path):
    """Three demo pages ingested (archived too), plus two dead letters: one whose cause gets
    fixed, one that stays bad. Yields (settings, documents by url)."""
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in PAGES:
        source = DEMO_CORPUS / name
        if not source.is_file():
            pytest.fail(f"demo page {name} is gone; pick another")
        shutil.copy(source, pages / source.name)
    settings = settings.model_copy(
        update={"archive_url": str(tmp_path / "archive"), "cpu_workers": 1}
    )
    summary = ingest([str(pages)], settings)
    assert summary["indexed"] == len(PAGES), summary["failures"]
    es_client.indices.refresh(index=settings.index)
    hits = es_client.search(index=settings.index, size=10)["hits"]["hits"]
    docs = {h["_source"]["url"]: h["_source"] for h in hits}

    template = next(iter(docs.values()))
    fixable = template | {
        "url": "https://example.test/late-fix",
        "canonical_url": "https://example.test/late-fix",
        "id": document_id("https://example.test/late-fix"),
        "published": "not a date",
    }
    hopeless = template | {
        "url": "https://example.test/hopeless",
        "canonical_url": "https://example.test/hopeless",
        "id": document_id("https://example.test/hopeless"),
        "unexpected_field": "the strict mapping refuses this",
    }
    rejected = load_documents(es_client, settings.index, [fixable, hopeless], "run-dl")
    assert len(rejected.rejected) == 2
    # The cause is fixed (here: in the stored letter) before maintenance runs.
    es_client.update(
        index=dead_letter_index(settings.index),
        id=fixable["id"],
        doc={"document": fixable | {"published": "2026-10-05"}},
        refresh=True,
    )
    yield settings, docs
    for name in (runs_index(settings.index), dead_letter_index(settings.index)):
        es_client.options(ignore_status=404).indices.delete(index=name)


def test_maintenance_retries_dead_letters_and_reports_stats(loaded, es_client):
    settings, docs = loaded
    summary = maintenance(settings=settings)
    assert summary["dead_letters"] == {"before": 2, "indexed": 1, "rejected": 1, "left": 1}
    assert summary["indexed"] == 1
    assert [f["url"] for f in summary["failures"]] == ["https://example.test/hopeless"]
    assert "strict_dynamic_mapping_exception" in summary["failures"][0]["reason"]
    fixed = es_client.get(index=settings.index, id=document_id("https://example.test/late-fix"))
    assert fixed["_source"]["published"] == "2026-10-05"
    letter = es_client.get(
        index=dead_letter_index(settings.index), id=document_id("https://example.test/hopeless")
    )
    assert letter["_source"]["attempts"] == 2
    assert summary["stats"]["documents"] == len(docs) + 1
    assert summary["stats"]["dead_letters"] == 1
    assert summary["reenriched"] == {}
    (run,) = list_runs(es_client, settings.index, flow="maintenance")
    assert run["run_id"] == summary["run_id"] and run["indexed"] == 1 and run["failed"] == 1


def test_maintenance_reenriches_stale_articles_from_archive_or_index(loaded, es_client, tmp_path):
    settings, docs = loaded
    urls = sorted(docs)
    # One page's archive entry is gone: that article is re-enriched from its indexed body.
    archive = Archive(settings.archive_url)
    archive.fs.rm(archive.index_path(urls[0]))
    # A newer enrichment: another alias table (the same names, other bytes).
    settings = settings.model_copy(update={"aliases_path": alias_table(tmp_path / "aliases.json")})
    current = versions.enrichment_version(settings.spacy_model, settings.aliases_path)

    summary = maintenance(reenrich=True, settings=settings)
    # The fixed dead letter comes back at the old version first, so it is stale too.
    assert summary["reenriched"] == {"stale": 4, "from_archive": 2, "from_index": 2}
    assert summary["failed"] == 1  # only the hopeless dead letter
    es_client.indices.refresh(index=settings.index)
    hits = es_client.search(index=settings.index, size=20)["hits"]["hits"]
    assert len(hits) == len(docs) + 1  # rewritten in place, nothing added
    for hit in hits:
        doc = hit["_source"]
        assert doc["enrichment_version"] == current, doc["url"]
        assert doc["pipeline_version"] == versions.pipeline_version(
            settings.spacy_model, settings.aliases_path
        )
        if doc["url"] in docs:
            old = docs[doc["url"]]
            assert (doc["title"], doc["body"]) == (old["title"], old["body"])
            assert doc["person"] == old["person"] and doc["location"] == old["location"]
    # Nothing is stale any more: a second pass finds no work.
    again = maintenance(reenrich=True, retry_dead_letters=False, settings=settings)
    assert again["reenriched"] == {"stale": 0, "from_archive": 0, "from_index": 0}
    assert count_dead_letters(es_client, settings.index) == 1
