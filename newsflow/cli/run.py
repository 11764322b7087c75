"""``newsflow run``, ``reprocess`` and ``runs``: pipeline runs and their summaries."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from newsflow.cli.common import client, err, fail, load_settings, out
from newsflow.cli.prefect_server import flow_run_link, use_prefect
from newsflow.settings import Settings


class _Progress(logging.Handler):
    """Draws per-stage counts and the rate while the flow runs (terminal only)."""

    def __init__(self, status) -> None:
        super().__init__()
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        c: dict[str, Any] = getattr(record, "counts", {})
        rate = c.get("indexed", 0) / max(getattr(record, "elapsed", 1.0), 1e-6)
        stages = ("discovered", "fetched", "cleaned", "enriched", "indexed", "failed")
        counts = " · ".join(f"{stage} {c.get(stage)}" for stage in stages)
        self.status.update(f"{record.getMessage()}: {counts} · {rate:.1f} articles/s")


def run_ingest(
    settings: Settings, sources: list[str], backfill: bool = False
) -> tuple[dict[str, Any], str | None]:
    """Run the ingest flow, with a progress line when stdout is a terminal; the summary and
    the run's page in the Prefect UI (None with a temporary Prefect server)."""
    from newsflow.flows.ingest import ingest  # deferred: Prefect is slow to import
    from newsflow.flows.pipeline import progress_log

    api = use_prefect(settings)
    if not sys.stdout.isatty():
        state = ingest(sources, settings, backfill, return_state=True)
    else:
        with err.status("starting the ingest flow (Prefect)...") as status:
            handler = _Progress(status)
            progress_log.addHandler(handler)
            progress_log.setLevel(logging.INFO)
            try:
                state = ingest(sources, settings, backfill, return_state=True)
            finally:
                progress_log.removeHandler(handler)
    summary = state.result()  # raises what the flow raised
    return summary, flow_run_link(api, state.state_details.flow_run_id)


def print_summary(summary: dict[str, Any]) -> None:
    """A run's counts as a table, then its failures and skips one per line."""
    table = Table(
        title=f"run {summary['run_id']} into {summary['index']} "
        f"({summary['concrete_index']}) in {summary['seconds']}s"
    )
    from newsflow.transforms.models import COUNT_FIELDS as stages

    for stage in stages:
        table.add_column(stage, justify="right")
    table.add_row(*(str(summary[k]) for k in stages))
    out.print(table)
    for f in summary["failures"]:
        out.print(f"  [red]failed[/red] at {f['stage']}: {f['url']} — {f['reason']}")
    for s in summary["skips"]:
        out.print(f"  [yellow]skipped[/yellow] at {s['stage']}: {s['url']} — {s['reason']}")
    if "article_fetches" in summary:  # ingest runs; reprocess and backfill have no sources
        out.print(sources_line(summary))


def sources_line(summary: dict[str, Any]) -> str:
    """One line on what the sources gave: new articles, already indexed, unchanged feeds."""
    fetches, from_warc = summary.get("article_fetches", 0), summary.get("from_warc", 0)
    parts = [
        f"{summary.get('already_indexed', 0)} already indexed",
        f"{summary.get('not_modified', 0)} sources not modified",
    ]
    if from_warc:
        parts.insert(0, f"{from_warc} pages from WARC")
    if fetches == 0 and from_warc == 0:
        return "nothing new: 0 article fetches (" + ", ".join(parts) + ")"
    return f"{fetches} article fetches (" + ", ".join(parts) + ")"


def run(
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            "-s",
            help="YAML sources file, feed, sitemap, WARC file, URL-list file, directory of HTML "
            "files, or page URL; the kind is guessed (repeatable).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object.")
    ] = False,
    backfill: Annotated[
        bool, typer.Option(help="Large load: refreshes off until the end (restored on failure).")
    ] = False,
) -> None:
    """Run the ingest flow over the sources and print the run summary."""
    settings = load_settings()
    sources = source or settings.sources
    if not sources:
        raise fail(
            "no sources: pass --source or set NEWSFLOW_SOURCES / sources in the config file", 2
        )
    from newsflow.flows.process_pool import start_workers

    # A worker loads the model while the sources are checked, Prefect is imported and the
    # flow run starts; a mistake found before the flow ends it.
    with start_workers(settings):
        from newsflow.transforms.sources.discover import SourcesFileError, specs_from_args

        try:  # a sources file with a mistake is said here, before anything runs
            specs_from_args(sources)
        except SourcesFileError as exc:
            raise fail(str(exc), 2) from exc
        # A wrong password or CA is said in one line here, not as tracebacks from the flow.
        client(settings)
        summary, link = run_ingest(settings, sources, backfill)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
        err.print(sources_line(summary))
    else:
        print_summary(summary)
    if link:
        err.print(f"the run in the Prefect UI: {link}")


def reprocess_cmd(
    since: Annotated[
        str | None, typer.Option(help="Only pages fetched on or after (YYYY-MM-DD).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Only pages from this host.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most N pages, newest first.")] = None,
    force: Annotated[
        bool, typer.Option(help="Also pages already indexed with the current pipeline version.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Clean, enrich and load again from the page archive, without touching the web."""
    from newsflow.flows.reprocess import parse_since
    from newsflow.flows.reprocess import reprocess as reprocess_flow

    settings = load_settings()
    try:
        parse_since(since)
    except ValueError as exc:
        raise fail(f"--since: {exc}", 2) from exc
    client(settings)
    api = use_prefect(settings)
    state = reprocess_flow(
        since=since, source=source, limit=limit, force=force, settings=settings, return_state=True
    )
    summary = state.result()  # raises what the flow raised
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print_summary(summary)
        out.print(f"pipeline version {summary['pipeline_version']}")
    link = flow_run_link(api, state.state_details.flow_run_id)
    if link:
        err.print(f"the run in the Prefect UI: {link}")


def runs_cmd(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Runs to show.")] = 20,
    flow: Annotated[
        str | None, typer.Option(help="Only runs of this flow (ingest, reprocess...).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list of run records.")] = False,
) -> None:
    """Recent flow runs with their counts, from the runs index (<alias>-runs)."""
    from newsflow.store.runs import list_runs
    from newsflow.transforms.models import COUNT_FIELDS

    settings = load_settings()
    found = list_runs(client(settings), settings.index, limit=limit, flow=flow)
    if as_json:
        print(json.dumps(found, ensure_ascii=False))
        return
    if not found:
        out.print(f"no runs recorded for {settings.index}")
        return
    # One line per run: a table of ten count columns does not fit a terminal.
    out.print(f"[bold]{len(found)}[/bold] latest runs into {settings.index}")
    for r in found:
        counts = ", ".join(f"{r[name]} {name}" for name in COUNT_FIELDS if r.get(name) is not None)
        out.print(
            f"{r['finished_at'][:19].replace('T', ' ')}  {r['flow']:<11} {r['run_id'][:12]}  "
            f"{r['seconds']:.1f}s  {counts}  [dim]{r.get('pipeline_version') or ''}[/dim]"
        )
