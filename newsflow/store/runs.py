"""Run history in Elasticsearch (``<alias>-runs``): one document per flow run with its summary.

Prefect keeps runs in its own database, which is thrown away in ephemeral mode and differs per
machine; this index is where ``newsflow runs`` reads, so every machine sees the same history.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from newsflow.store.indices import ensure_index_from_file
from newsflow.transforms.batch.report import parse_run_aggs, run_aggs, run_query
from newsflow.transforms.models import COUNT_FIELDS

log = logging.getLogger(__name__)

MAX_LISTED = 1000  # failures (and skips) kept per run document


def runs_index(alias: str) -> str:
    return f"{alias}-runs"


def ensure_runs_index(client: Elasticsearch, alias: str) -> str:
    return ensure_index_from_file(client, runs_index(alias), "runs.json")


def run_document(
    flow: str,
    summary: dict[str, Any],
    prefect_flow_run_id: str | None = None,
    *,
    pipeline_version: str | None = None,
) -> dict[str, Any]:
    """The runs-index document of a flow's summary: counts as fields, the rest kept whole.
    ``pipeline_version`` (``transforms/versions.py``) is the run's, for summaries that do not
    say it."""
    finished = datetime.now(UTC)
    seconds = float(summary.get("seconds") or 0.0)
    summary = dict(summary)
    for key in ("failures", "skips"):
        # A run with a dead source lists every URL; the counts say how many, a sample is enough.
        items = summary.get(key) or []
        if len(items) > MAX_LISTED:
            summary[key] = items[:MAX_LISTED]
            summary[f"{key}_not_listed"] = len(items) - MAX_LISTED
    doc: dict[str, Any] = {
        "run_id": summary["run_id"],
        "flow": flow,
        "index": summary.get("index"),
        "started_at": (finished - timedelta(seconds=seconds)).isoformat(),
        "finished_at": finished.isoformat(),
        "seconds": seconds,
        "pipeline_version": summary.get("pipeline_version") or pipeline_version,
        "prefect_flow_run_id": prefect_flow_run_id,
        "summary": summary,
    }
    for name in COUNT_FIELDS:
        value = summary.get(name)
        doc[name] = int(value) if isinstance(value, int | float) else None
    return doc


def record_run(
    client: Elasticsearch,
    alias: str,
    flow: str,
    summary: dict[str, Any],
    prefect_flow_run_id: str | None = None,
    *,
    pipeline_version: str | None = None,
) -> bool:
    """Store a run's summary; returns False (and logs why) when the cluster refuses it, since
    the run itself has finished and its data is loaded by then."""
    try:
        index = ensure_runs_index(client, alias)
        client.index(
            index=index,
            id=summary["run_id"],
            document=run_document(
                flow, summary, prefect_flow_run_id, pipeline_version=pipeline_version
            ),
            # Searchable when the run ends (`newsflow runs` right after): refreshed now, a
            # one-document refresh of a small index, rather than "wait_for", which waited for
            # the next periodic refresh (~0.7 s of a one-page run, bench/startup.py).
            refresh=True,
        )
    except (ApiError, TransportError) as exc:
        log.warning(
            "run %s (%s): could not record the summary in %s: %s",
            summary.get("run_id"),
            flow,
            runs_index(alias),
            exc,
        )
        return False
    return True


def list_runs(
    client: Elasticsearch, alias: str, limit: int = 20, flow: str | None = None
) -> list[dict[str, Any]]:
    """Most recent runs first (empty when no run was ever recorded)."""
    index = runs_index(alias)
    if not client.indices.exists(index=index):
        return []
    query = {"term": {"flow": flow}} if flow else {"match_all": {}}
    resp = client.search(index=index, size=limit, query=query, sort=[{"finished_at": "desc"}])
    return [hit["_source"] for hit in resp["hits"]["hits"]]


def run_report(client: Elasticsearch, alias: str, run_id: str) -> dict[str, Any] | None:
    """What the index holds of one run (its new stories and top entities, for the run's
    Markdown report), or None when the index cannot be asked: the run is done by then."""
    try:
        response = client.search(index=alias, size=0, query=run_query(run_id), aggs=run_aggs())
    except (ApiError, TransportError) as exc:
        log.warning("run report of %s: cannot read its stories and entities: %s", run_id, exc)
        return None
    return parse_run_aggs(response.body)
