"""The run report: a run summary (and what this run indexed) as Markdown, for the artifact that
every ingest run publishes in Prefect. Plain data in, text out; the query that finds this run's
stories and entities is built and read here, the flow sends it."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from newsflow.transforms.models import COUNT_FIELDS

ENTITY_FACETS = ("person", "organization", "location")
STAGES = COUNT_FIELDS

# Details that differ from URL to URL ("(812 characters)", ": [Errno 111] ...") after the cause.
_DETAIL = re.compile(r"\s*(\(|: |; ).*$", re.S)


def reason_group(reason: str) -> str:
    """The cause of a failure without its per-URL detail: 'HTTP 404', 'connection failed'."""
    return _DETAIL.sub("", reason).strip() or reason


def group_failures(failures: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Failures per (stage, cause), most frequent first, with their URLs in input order."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for f in failures:
        groups[(f["stage"], reason_group(f["reason"]))].append(f["url"])
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [{"stage": s, "reason": r, "count": len(urls), "urls": urls} for (s, r), urls in ordered]


def run_query(run_id: str) -> dict[str, Any]:
    """Documents written by this run (unchanged ones keep the run id that wrote them)."""
    return {"term": {"run_id": run_id}}


def run_aggs(size: int = 10) -> dict[str, Any]:
    """Stories and top entities of the documents a run wrote."""
    aggs: dict[str, Any] = {
        "stories": {"cardinality": {"field": "story_id"}},
        "top_stories": {
            "terms": {"field": "story_id", "size": 5, "min_doc_count": 2},
            "aggs": {"example": {"top_hits": {"size": 1, "_source": ["title", "url"]}}},
        },
    }
    for facet in ENTITY_FACETS:
        aggs[facet] = {"terms": {"field": facet, "size": size}}
    return aggs


def parse_run_aggs(response: dict[str, Any]) -> dict[str, Any]:
    """The search response of ``run_aggs`` as plain data for ``summary_markdown``."""
    aggs = response.get("aggregations", {})
    stories = []
    for bucket in aggs.get("top_stories", {}).get("buckets", []):
        hits = bucket.get("example", {}).get("hits", {}).get("hits", [])
        source = hits[0]["_source"] if hits else {}
        stories.append({"story_id": bucket["key"], "articles": bucket["doc_count"], **source})
    return {
        "documents": response.get("hits", {}).get("total", {}).get("value", 0),
        "stories": aggs.get("stories", {}).get("value", 0),
        "top_stories": stories,
        "entities": {
            facet: [(b["key"], b["doc_count"]) for b in aggs.get(facet, {}).get("buckets", [])]
            for facet in ENTITY_FACETS
        },
    }


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_markdown(
    summary: dict[str, Any],
    indexed: dict[str, Any] | None = None,
    *,
    top_failures: int = 10,
    examples: int = 3,
) -> str:
    """Markdown of a run: counts per stage, failures per cause with example URLs, throughput
    and per-stage CPU/wall seconds, stories and top entities of what the run indexed."""
    seconds = float(summary.get("seconds") or 0)
    done = summary.get("indexed", 0) + summary.get("unchanged", 0)
    lines = [
        f"# {summary.get('flow', 'ingest').capitalize()} run `{summary.get('run_id', '?')}`",
        "",
        f"Index `{summary.get('index', '?')}` ({summary.get('concrete_index', '?')}), "
        f"{seconds:.1f} s, task runner `{summary.get('task_runner', 'workers')}`.",
        "",
        "| " + " | ".join(STAGES) + " |",
        "|" + "---:|" * len(STAGES),
        "| " + " | ".join(str(summary.get(s, 0)) for s in STAGES) + " |",
        "",
        "## Throughput",
        "",
        f"{done / seconds:.2f} articles/s (indexed + unchanged) over the whole run."
        if seconds > 0
        else "No time measured.",
    ]
    if summary.get("archive_failed"):
        lines += [
            "",
            f"**{summary['archive_failed']} pages indexed but not archived** (reprocess cannot "
            f"redo them): {summary.get('archive_error')}",
        ]
    if summary.get("transform_batches"):
        lines.append(
            f"Transform batches: {summary['transform_batches']}, "
            f"{summary.get('transform_cache_hits', 0)} from the cache."
        )
    if summary.get("dask_workers_lost"):
        lost = ", ".join(f"`{worker}`" for worker in summary["dask_workers_lost"])
        lines.append(
            f"Dask workers lost during the run: {lost}; "
            f"{summary.get('transform_rescheduled', 0)} transform batches they held were "
            "rescheduled on other workers."
        )
    stage_seconds = summary.get("stage_seconds") or {}
    if stage_seconds:
        lines += ["", "| stage | CPU s | wall s |", "|---|---:|---:|"]
        lines += [f"| {s} | {t['cpu']} | {t['wall']} |" for s, t in stage_seconds.items()]

    failures = group_failures(summary.get("failures", []))
    lines += ["", f"## Failures ({summary.get('failed', 0)})", ""]
    if not failures:
        lines.append("None.")
    else:
        lines += ["| stage | cause | count | examples |", "|---|---|---:|---|"]
        for group in failures[:top_failures]:
            shown = ", ".join(f"`{_cell(u)}`" for u in group["urls"][:examples])
            more = len(group["urls"]) - examples
            shown += f" and {more} more" if more > 0 else ""
            lines.append(
                f"| {group['stage']} | {_cell(group['reason'])} | {group['count']} | {shown} |"
            )
        if len(failures) > top_failures:
            lines.append(f"\n{len(failures) - top_failures} more causes not shown.")

    if indexed is not None:
        lines += ["", "## New stories", ""]
        lines.append(
            f"{indexed['documents']} articles written by this run, "
            f"{indexed['stories']} distinct stories."
        )
        if indexed["top_stories"]:
            lines += ["", "| story | articles | example |", "|---|---:|---|"]
            for story in indexed["top_stories"]:
                lines.append(
                    f"| `{story['story_id'][:12]}` | {story['articles']} | "
                    f"{_cell(story.get('title', ''))} |"
                )
        lines += ["", "## Top new entities", ""]
        for facet in ENTITY_FACETS:
            names = indexed["entities"].get(facet) or []
            listed = ", ".join(f"{_cell(name)} ({count})" for name, count in names) or "none"
            lines.append(f"- **{facet}**: {listed}")
    return "\n".join(lines) + "\n"
