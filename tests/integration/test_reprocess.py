"""Re-processing from the page archive: ingest the demo corpus over HTTP, take the site down,
re-run clean + enrich from the archive into the real node; `newsflow runs` shows the runs."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import SimpleHTTPRequestHandler
from typing import ClassVar
from urllib.parse import urlsplit

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from newsflow.cli import DEMO_CORPUS, app
from newsflow.corpus_server import page_urls, serve_directory
from newsflow.flows.ingest import ingest
from newsflow.flows.reprocess import reprocess
from newsflow.settings import Settings
from newsflow.store.archive import KEPT_HEADERS, Archive
from newsflow.store.runs import list_runs, runs_index
from newsflow.transforms import versions
from tests.conftest import fresh_alias
from tests.support import alias_table

pytestmark = pytest.mark.usefixtures("prefect_harness")


class _Counting(SimpleHTTPRequestHandler):
    """Serves the corpus and counts every request, per path."""

    requests: ClassVar[Counter] = Counter()
    lock = threading.Lock()

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        with self.lock:
            self.requests[self.path] += 1
        return super().do_GET()


@pytest.fixture(scope="module")
def corpus(base_settings: Settings, es_client: Elasticsearch, tmp_path_factory, prefect_harness):
    """The demo corpus ingested over HTTP into a fresh alias with its own archive; the site is
    down afterwards. Yields (settings, summary, urls, port)."""
    with fresh_alias(es_client) as alias:
        settings = base_settings.model_copy(
            update={"index": alias, "archive_url": str(tmp_path_factory.mktemp("archive"))}
        )
        _Counting.requests.clear()
        with serve_directory(DEMO_CORPUS, handler_class=_Counting) as base_url:
            urls = page_urls(DEMO_CORPUS, base_url)
            url_list = tmp_path_factory.mktemp("sources") / "urls.txt"
            url_list.write_text("\n".join(urls) + "\n")
            summary = ingest([str(url_list)], settings)
        yield settings, summary, urls, urlsplit(base_url).port
        for name in (runs_index(alias), f"{alias}-deadletter"):
            es_client.options(ignore_status=404).indices.delete(index=name)


def _versions(es_client: Elasticsearch, alias: str) -> dict[str, int]:
    es_client.indices.refresh(index=alias)
    resp = es_client.search(
        index=alias, size=0, aggs={"v": {"terms": {"field": "pipeline_version"}}}
    )
    return {b["key"]: b["doc_count"] for b in resp["aggregations"]["v"]["buckets"]}


def _documents(es_client: Elasticsearch, alias: str) -> dict[str, dict]:
    es_client.indices.refresh(index=alias)
    hits = es_client.search(index=alias, size=1000, query={"match_all": {}})["hits"]["hits"]
    return {h["_id"]: h["_source"] for h in hits}


def test_ingest_archives_every_fetched_page(corpus, es_client):
    settings, summary, urls, _ = corpus
    assert summary["fetched"] == summary["indexed"] == len(urls)
    archive = Archive(settings.archive_url)
    records = {r.url: r for r in archive.records()}
    assert set(records) == set(urls)
    first = records[urls[0]]
    assert first.status == 200 and first.final_url == urls[0]
    # Only the headers that matter, and only if the fetch step hands them over.
    assert set(first.headers) <= set(KEPT_HEADERS)
    assert "<html" in archive.read_html(first).lower()
    current = versions.pipeline_version(settings.spacy_model, settings.aliases_path)
    assert _versions(es_client, settings.index) == {current: len(urls)}


def test_reprocess_rewrites_from_the_archive_without_any_http_request(corpus, es_client, tmp_path):
    settings, _, urls, port = corpus
    before = _documents(es_client, settings.index)
    old_version = versions.pipeline_version(settings.spacy_model, settings.aliases_path)
    # A newer enrichment: another alias table (the same names, other bytes).
    local = settings.model_copy(
        update={"cpu_workers": 1, "aliases_path": alias_table(tmp_path / "aliases.json")}
    )
    new_version = versions.pipeline_version(local.spacy_model, local.aliases_path)
    assert new_version != old_version
    _Counting.requests.clear()
    # The site is down; a sentinel on its port would see any request the re-process made.
    with serve_directory(DEMO_CORPUS, port=port, handler_class=_Counting) as sentinel:
        assert urlsplit(sentinel).port == port
        partial = reprocess(limit=5, settings=local)
        assert _versions(es_client, settings.index) == {old_version: len(urls) - 5, new_version: 5}
        rest = reprocess(settings=local)
    assert sum(_Counting.requests.values()) == 0

    assert (partial["discovered"], partial["indexed"], partial["failures"]) == (5, 5, [])
    # The second run picks up what the first left: the 5 done are not redone.
    assert rest["discovered"] == len(urls)
    assert (rest["unchanged"], rest["indexed"]) == (5, len(urls) - 5)
    assert rest["failures"] == [] and rest["pipeline_version"] == new_version

    after = _documents(es_client, settings.index)
    assert set(after) == set(before)  # same documents, none added or lost
    for doc_id, doc in after.items():
        old = before[doc_id]
        assert doc["pipeline_version"] == new_version
        assert doc["enrichment_version"] == versions.enrichment_version(
            local.spacy_model, local.aliases_path
        )
        assert (doc["title"], doc["body"], doc["url"]) == (old["title"], old["body"], old["url"])
        assert doc["person"] == old["person"] and doc["location"] == old["location"]
        assert doc["fetched_at"] == old["fetched_at"]  # the archived fetch, not a new one
    recorded = {r["run_id"]: r for r in list_runs(es_client, settings.index, flow="reprocess")}
    assert recorded[rest["run_id"]]["indexed"] == len(urls) - 5
    assert recorded[partial["run_id"]]["pipeline_version"] == new_version


def test_reprocess_filters_by_source_and_date(corpus, es_client):
    settings, _, urls, _ = corpus
    host = urlsplit(urls[0]).hostname
    nothing = reprocess(since="2999-01-01", settings=settings)
    assert nothing["discovered"] == 0 and nothing["indexed"] == 0
    other = reprocess(source="elsewhere.example", settings=settings)
    assert other["discovered"] == 0
    three = reprocess(source=host, limit=3, settings=settings)
    assert three["discovered"] == 3
    assert three["indexed"] + three["unchanged"] == 3 and three["failures"] == []


def test_runs_command_lists_the_ingest_run_with_its_counts(corpus, monkeypatch):
    settings, summary, urls, _ = corpus
    monkeypatch.setenv("NEWSFLOW_INDEX", settings.index)
    result = CliRunner().invoke(app, ["runs", "--json", "--limit", "50"])
    assert result.exit_code == 0, result.output
    runs = {r["run_id"]: r for r in json.loads(result.stdout)}
    run = runs[summary["run_id"]]
    assert run["flow"] == "ingest"
    assert (run["discovered"], run["fetched"], run["indexed"], run["failed"]) == (
        len(urls),
        len(urls),
        len(urls),
        0,
    )
    assert run["summary"]["stage_seconds"] == summary["stage_seconds"]
    table = CliRunner().invoke(app, ["runs", "--flow", "ingest"])
    assert table.exit_code == 0 and summary["run_id"][:12] in table.stdout


def test_reprocess_command_runs_the_flow_with_its_filters(corpus, monkeypatch):
    settings = corpus[0]
    monkeypatch.setenv("NEWSFLOW_INDEX", settings.index)
    monkeypatch.setenv("NEWSFLOW_ARCHIVE_URL", settings.archive_url)
    bad = CliRunner().invoke(app, ["reprocess", "--since", "last week"])
    assert bad.exit_code == 2 and "--since" in bad.output
    result = CliRunner().invoke(app, ["reprocess", "--since", "2999-01-01", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["discovered"], summary["indexed"], summary["failed"]) == (0, 0, 0)
    assert summary["pipeline_version"] == versions.pipeline_version(settings.spacy_model)


def test_reprocess_keeps_every_article_in_its_story(corpus, es_client):
    """Re-processing runs the same pipeline as ingest, story assignment included: copies of a
    wire story that shared a story before ``reprocess --force`` still share it after."""
    settings = corpus[0]
    before = {i: d["story_id"] for i, d in _documents(es_client, settings.index).items()}
    members = Counter(before.values())
    assert any(n >= 2 for n in members.values())  # the demo corpus has wire copies
    summary = reprocess(force=True, settings=settings)
    assert summary["failures"] == [] and summary["discovered"] == len(before)
    after = {i: d["story_id"] for i, d in _documents(es_client, settings.index).items()}
    assert after == before
