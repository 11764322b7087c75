"""Runs that go wrong: a run killed mid-way and started again, a source that is down all along.
Real flow, real Elasticsearch, pages served from 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from elasticsearch import ApiError, Elasticsearch, NotFoundError
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from bench.pipeline import DEMO, _own_url, page_list, serve
from newsflow.cli import DEMO_CORPUS
from newsflow.corpus_server import page_urls
from newsflow.flows.ingest import ingest
from newsflow.settings import Settings
from tests.corpora import ROOT

NEWSFLOW = str(Path(sys.executable).with_name("newsflow"))


def _count(es: Elasticsearch, alias: str) -> int:
    try:
        return es.count(index=alias)["count"]
    except NotFoundError:
        return 0  # the run has not created its index yet
    except ApiError as exc:
        if exc.meta.status == 503:  # created, but its shard not started yet (a busy node)
            return 0
        raise


def _run_env(settings: Settings, prefect_home: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return inherited | {
        "NEWSFLOW_INDEX": settings.index,
        "NEWSFLOW_BATCH_SIZE": "20",
        "NEWSFLOW_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
        "NEWSFLOW_ARCHIVE_ENABLED": "false",
        # Both runs share Prefect's home, where the transform results are kept.
        "PREFECT_HOME": str(prefect_home),
    }


def test_a_run_killed_midway_is_completed_by_the_next_with_each_article_once(
    settings: Settings, es_client: Elasticsearch, tmp_path: Path, record_property
):
    pages = {p.relative_to(DEMO).as_posix(): _own_url(p.read_bytes()) for p in DEMO.rglob("*.html")}
    # ~140 pages in 7 batches: killed once 2 are in, the run has 5 to go, seconds of work.
    articles = 3 * len(pages)
    server, base = serve(pages, copies=3)
    urls = [f"{base}/copy/{n}/{name}" for n, name in page_list(pages, articles)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    command = [NEWSFLOW, "run", "--source", str(listing), "--json"]
    env = _run_env(settings, tmp_path / "prefect")
    try:
        # Own session: SIGKILL reaches the flow, its worker processes and Prefect's server.
        first = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 600
        while _count(es_client, settings.index) < 40 and first.poll() is None:
            assert time.monotonic() < deadline, "the first run indexed nothing in 10 minutes"
            time.sleep(0.5)
        assert first.poll() is None, "the first run ended before it could be killed"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        es_client.indices.refresh(index=settings.index)
        partial = _count(es_client, settings.index)
        assert 40 <= partial < len(urls)

        second = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900
        )
    finally:
        server.shutdown()
    assert second.returncode == 0, second.stderr[-2000:]
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    for key in ("transform_batches", "transform_cache_hits", "indexed", "unchanged", "seconds"):
        record_property(key, summary[key])  # figures for the report (--junitxml)
    record_property("indexed_before_kill", partial)
    assert summary["failures"] == []
    assert summary["indexed"] + summary["unchanged"] == len(urls)
    # What the killed run had cleaned and enriched is not done again...
    assert summary["transform_cache_hits"] >= partial // 20, summary
    assert summary["transform_batches"] == len(urls) // 20 + (len(urls) % 20 > 0)
    # ...and what it had loaded is not loaded twice.
    assert summary["unchanged"] >= partial
    es_client.indices.refresh(index=settings.index)
    assert es_client.count(index=settings.index)["count"] == len(urls)
    repeated = es_client.search(
        index=settings.index,
        size=0,
        aggs={"urls": {"terms": {"field": "url", "min_doc_count": 2, "size": 10}}},
    )
    assert repeated["aggregations"]["urls"]["buckets"] == []


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.usefixtures("prefect_harness")
def test_a_source_that_is_down_all_along_does_not_stop_the_others_and_the_report_shows_it(
    settings: Settings, site: str, tmp_path: Path, es_client: Elasticsearch
):
    with socket.socket() as sock:  # a port nothing listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    down = [f"http://127.0.0.1:{closed_port}/news/{i}.html" for i in range(3)]
    down.append("http://newsflow-down.invalid/news/today.html")
    good = page_urls(DEMO_CORPUS, site)[:6]
    (tmp_path / "down.txt").write_text("\n".join(down) + "\n")
    (tmp_path / "good.txt").write_text("\n".join(good) + "\n")
    records = _Records()
    flow_logger = logging.getLogger("prefect.flow_runs")
    flow_logger.addHandler(records)
    try:
        state = ingest(
            [str(tmp_path / "down.txt"), str(tmp_path / "good.txt")],
            settings.model_copy(update={"batch_size": 5}),  # down and good share a batch
            return_state=True,
        )
    finally:
        flow_logger.removeHandler(records)
    summary = state.result()
    assert summary["indexed"] == len(good)
    assert es_client.count(index=settings.index)["count"] == len(good)
    assert {(f["url"], f["stage"]) for f in summary["failures"]} == {(u, "fetch") for u in down}

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    assert [a.key for a in artifacts] == ["ingest-summary"]
    report = artifacts[0].data
    assert f"| {len(down) + len(good)} | 6 | 6 | 6 | 6 | 0 | 0 | {len(down)} |" in report
    failures = report.split("## Failures", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in failures.splitlines() if line.startswith("| fetch |")]
    assert sum(int(row.split("|")[3]) for row in rows) == len(down)
    assert any(f"`{down[0]}`" in row for row in rows)
    assert "## Top new entities" in report and "- **person**: none" not in report

    failed = [r for r in records.records if getattr(r, "url", None) in down]
    assert {r.url for r in failed} == set(down)
    for record in failed:
        assert (record.run_id, record.stage) == (summary["run_id"], "fetch")
        assert record.source in {"127.0.0.1", "newsflow-down.invalid"}
