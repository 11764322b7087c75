"""The backfill flow against the real node: WARC captures in a date range and URL sources,
resumable (what is indexed already is skipped), refreshes back on afterwards."""

from __future__ import annotations

import io
import shutil

import pytest
from elasticsearch import Elasticsearch
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsflow.cli import DEMO_CORPUS
from newsflow.flows.backfill import backfill
from newsflow.flows.ingest import ingest
from newsflow.settings import Settings
from newsflow.store.archive import Archive
from newsflow.store.load import dead_letter_index
from newsflow.store.runs import list_runs, runs_index

pytestmark = pytest.mark.usefixtures("prefect_harness")

PAGES = [
    "nordic-wire/gothenburg-port-strike.html",
    "harbour-gazette/storm-isolde-power-cuts.html",
    "metro-chronicle/city-budget.html",
]


@pytest.fixture
def local(settings: Settings, es_client: Elasticsearch, tmp_path):
    yield settings.model_copy(update={"archive_url": str(tmp_path / "archive"), "cpu_workers": 1})
    for name in (runs_index(settings.index), dead_letter_index(settings.index)):
        es_client.options(ignore_status=404).indices.delete(index=name)


def _warc(path, captures: list[tuple[str, str, str]]):
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for page, url, when in captures:
            body = (DEMO_CORPUS / page).read_bytes()
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(body),
                    http_headers=headers,
                    warc_headers_dict={"WARC-Date": when},
                )
            )
    return str(path)


def _refresh_interval(es_client: Elasticsearch, alias: str) -> str | None:
    found = es_client.indices.get_settings(index=alias, name="index.refresh_interval")
    (settings,) = found.body.values()
    return settings["settings"].get("index", {}).get("refresh_interval")


def test_warc_backfill_loads_the_date_range_once(local, es_client, tmp_path):
    warc = _warc(
        tmp_path / "crawl.warc.gz",
        [
            (PAGES[0], "https://wire.example/port-strike", "2026-10-02T09:00:00Z"),
            (PAGES[1], "https://gazette.example/storm", "2026-10-03T23:30:00Z"),
            (PAGES[2], "https://chronicle.example/budget", "2026-09-01T12:00:00Z"),
        ],
    )
    first = backfill([warc], since="2026-10-01", until="2026-10-03", settings=local)
    assert (first["discovered"], first["indexed"], first["failures"]) == (2, 2, [])
    assert first["outside_range"] == 1
    es_client.indices.refresh(index=local.index)
    hits = es_client.search(index=local.index, size=10)["hits"]["hits"]
    assert sorted(h["_source"]["url"] for h in hits) == [
        "https://gazette.example/storm",
        "https://wire.example/port-strike",
    ]
    fetched = {h["_source"]["url"]: h["_source"]["fetched_at"] for h in hits}
    assert fetched["https://wire.example/port-strike"].startswith("2026-10-02T09:00:00")
    assert Archive(local.archive_url).get("https://gazette.example/storm") is not None
    assert _refresh_interval(es_client, local.index) != "-1"  # backfill mode undone

    # Started again (say, after a crash): nothing is redone.
    again = backfill([warc], since="2026-10-01", until="2026-10-03", settings=local)
    assert (again["already_indexed"], again["indexed"]) == (2, 0)
    recorded = {r["run_id"] for r in list_runs(es_client, local.index, flow="backfill")}
    assert {first["run_id"], again["run_id"]} <= recorded


def test_url_backfill_skips_what_is_indexed(local, es_client, tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in PAGES:
        shutil.copy(DEMO_CORPUS / name, pages / (DEMO_CORPUS / name).name)
    # One of them was ingested before (as the URL the directory source yields for it).
    first = tmp_path / "first.txt"
    first.write_text((pages / (DEMO_CORPUS / PAGES[0]).name).resolve().as_uri() + "\n")
    assert ingest([str(first)], local)["indexed"] == 1
    summary = backfill(sources=[str(pages)], settings=local)
    assert summary["already_indexed"] == 1
    assert summary["indexed"] == 2 and summary["failures"] == []
    es_client.indices.refresh(index=local.index)
    assert es_client.count(index=local.index)["count"] == 3
    assert _refresh_interval(es_client, local.index) != "-1"
