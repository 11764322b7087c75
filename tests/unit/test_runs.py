"""The runs-index document of a flow summary."""

from __future__ import annotations

from datetime import datetime

from newsflow.store.runs import MAX_LISTED, run_document
from newsflow.transforms.models import COUNT_FIELDS


def _summary(failures: int) -> dict:
    counts = {name: i for i, name in enumerate(COUNT_FIELDS)}
    listed = [{"url": "https://x.example/gone", "stage": "fetch", "reason": "HTTP 404"}]
    return counts | {
        "run_id": "r1",
        "index": "articles",
        "seconds": 90.5,
        "failures": listed * failures,
        "skips": [],
    }


def test_counts_become_fields_and_the_summary_is_kept():
    doc = run_document("ingest", _summary(3), "prefect-id", pipeline_version="clean-1+enrich-2")
    assert {name: doc[name] for name in COUNT_FIELDS} == {
        name: i for i, name in enumerate(COUNT_FIELDS)
    }
    assert (doc["run_id"], doc["flow"], doc["prefect_flow_run_id"]) == (
        "r1",
        "ingest",
        "prefect-id",
    )
    started = datetime.fromisoformat(doc["started_at"])
    finished = datetime.fromisoformat(doc["finished_at"])
    assert round((finished - started).total_seconds(), 1) == 90.5
    assert doc["pipeline_version"] == "clean-1+enrich-2"  # ingest's summary does not say it
    assert len(doc["summary"]["failures"]) == 3 and "failures_not_listed" not in doc["summary"]


def test_a_huge_failure_list_is_cut_to_a_sample_with_the_rest_counted():
    summary = _summary(MAX_LISTED + 250)
    doc = run_document("ingest", summary)
    assert len(doc["summary"]["failures"]) == MAX_LISTED
    assert doc["summary"]["failures_not_listed"] == 250
    assert len(summary["failures"]) == MAX_LISTED + 250  # the caller's summary is untouched
