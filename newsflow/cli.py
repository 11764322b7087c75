"""The ``newsflow`` command: run the pipeline, search, extract, and manage the local node."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from newsflow import es_local
from newsflow.resources import KIBANA_DIR
from newsflow.settings import PROJECT_ROOT, Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
es_app = typer.Typer(no_args_is_help=True, help="The project's local Elasticsearch node.")
app.add_typer(es_app, name="es")
index_app = typer.Typer(no_args_is_help=True, help="The versioned indices behind the alias.")
app.add_typer(index_app, name="index")
deadletter_app = typer.Typer(no_args_is_help=True, help="Documents the cluster refused.")
app.add_typer(deadletter_app, name="deadletter")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)
DEMO_CORPUS = PROJECT_ROOT / "demo" / "corpus"
DEMO_PORT = 8399


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        # Only where and why: pydantic's own text repeats the input, which may be a secret.
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        err.print(f"[red]configuration error:[/red] {escape(reasons)}")
        raise typer.Exit(2) from exc
    except FileNotFoundError as exc:
        err.print(f"[red]configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    # Prefect keeps its database and logs inside the project unless told otherwise.
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # The telemetry heartbeat of the ephemeral server contends for its SQLite file.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Its first start migrates a fresh database; on a busy 2-core machine that takes longer
    # than Prefect's default 20 s.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # Pages that yield no article are reported in the run summary; the extractor's own
    # error lines for them would only repeat that.
    for name in ("trafilatura", "htmldate", "courlan"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return settings


def _fail(message: str, code: int = 1) -> typer.Exit:
    # Elasticsearch's reasons hold [brackets], which rich would read as markup.
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code)


def _ensure_cluster(settings: Settings) -> None:
    """Start the local node when no cluster is configured (no-op when it runs, or when a local
    cluster runs with a node down)."""
    if not settings.uses_local_node:
        return
    try:
        # Quiet when it already runs: commands call this on every use.
        es_local.ensure_usable(
            settings,
            log=lambda m: None if m.startswith("already running") else err.print(f"[dim]{m}[/dim]"),
        )
    except es_local.LocalNodeError as exc:
        raise _fail(str(exc)) from exc


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


def _run_ingest(settings: Settings, sources: list[str], backfill: bool = False) -> dict[str, Any]:
    from newsflow.flows.ingest import ingest  # deferred: Prefect is slow to import
    from newsflow.flows.pipeline import progress_log

    if not sys.stdout.isatty():
        return ingest(sources, settings, backfill)
    with err.status("starting the ingest flow (Prefect)...") as status:
        handler = _Progress(status)
        progress_log.addHandler(handler)
        progress_log.setLevel(logging.INFO)
        try:
            return ingest(sources, settings, backfill)
        finally:
            progress_log.removeHandler(handler)


def _print_summary(summary: dict[str, Any]) -> None:
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
        out.print(_sources_line(summary))


def _sources_line(summary: dict[str, Any]) -> str:
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


@app.command()
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
    settings = _settings()
    sources = source or settings.sources
    if not sources:
        raise _fail(
            "no sources: pass --source or set NEWSFLOW_SOURCES / sources in the config file", 2
        )
    from newsflow.transforms.sources.discover import SourcesFileError, specs_from_args

    try:  # a sources file with a mistake is said here, before anything runs
        specs_from_args(sources)
    except SourcesFileError as exc:
        raise _fail(str(exc), 2) from exc
    # A wrong password or CA is said in one line here, not as tracebacks from inside the flow.
    _client(settings)
    summary = _run_ingest(settings, sources, backfill)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
        err.print(_sources_line(summary))
    else:
        _print_summary(summary)


def _search(settings: Settings, request):
    from newsflow.store.search import search

    return search(_client(settings), settings.index, request)


def _print_result(result) -> None:
    out.print(f"[bold]{result.total}[/bold] articles")
    for hit in result.hits:
        out.print(f"\n[bold]{hit.title}[/bold]\n  {hit.url}")
        out.print(f"  {hit.published or 'undated'} · {hit.source}")
        snippet = hit.snippet.replace("<em>", "[reverse]").replace("</em>", "[/reverse]")
        out.print(f"  {snippet}")
    for name, buckets in result.facets.items():
        if buckets:
            values = ", ".join(f"{b['value']} ({b['count']})" for b in buckets)
            out.print(f"\n[bold]{name}[/bold]: {values}")


@app.command("search")
def search_cmd(
    query: Annotated[
        str, typer.Argument(help="Free text; quotes, +, | and - work as in simple_query_string.")
    ] = "",
    person: Annotated[
        list[str] | None, typer.Option(help="Only articles naming this person.")
    ] = None,
    organization: Annotated[
        list[str] | None, typer.Option(help="Only articles naming this organization.")
    ] = None,
    location: Annotated[
        list[str] | None, typer.Option(help="Only articles naming this location.")
    ] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only articles from this site.")] = None,
    language: Annotated[
        list[str] | None, typer.Option(help="Only articles in this language (ISO code).")
    ] = None,
    subject: Annotated[
        list[str] | None,
        typer.Option(help="Only articles mainly about this entity (named twice, or early)."),
    ] = None,
    since: Annotated[str | None, typer.Option(help="Published on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Published on or before (YYYY-MM-DD).")] = None,
    size: Annotated[int, typer.Option(min=1, max=100, help="Hits to show.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Search the index: hits with highlighted snippets and facet counts."""
    settings = _settings()
    try:
        since_d = date.fromisoformat(since) if since else None
        until_d = date.fromisoformat(until) if until else None
    except ValueError as exc:
        raise _fail(f"--since/--until must be dates like 2026-11-01: {exc}", 2) from exc
    filters = {
        "person": person or [],
        "organization": organization or [],
        "location": location or [],
        "source": source or [],
        "language": language or [],
    }
    from newsflow.search import SearchRequest

    request = SearchRequest(
        query=query,
        filters={k: v for k, v in filters.items() if v},
        subjects=subject or [],
        since=since_d,
        until=until_d,
        size=size,
    )
    try:
        result = _search(settings, request)
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        _print_result(result)


@app.command()
def extract(
    inputs: Annotated[list[str], typer.Argument(help="HTML files or http(s) URLs.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per input line.")
    ] = False,
) -> None:
    """Clean and enrich pages without indexing them: what would the pipeline make of this page?"""
    from newsflow.flows.pipeline import fetch_options
    from newsflow.transforms.clean.extract import clean_pages
    from newsflow.transforms.enrich.entities import enrich_articles
    from newsflow.transforms.fetch.download import fetch_pages

    settings = _settings()
    urls = [i if "://" in i else Path(i).resolve().as_uri() for i in inputs]
    # The same limits, politeness and address guard as a pipeline run.
    pages, failures = fetch_pages(urls, fetch_options(settings))
    articles, clean_failures = clean_pages(pages, min_body_chars=settings.min_body_chars)
    failures += clean_failures
    enriched = {e.article.url: e for e in enrich_articles(articles, settings.spacy_model)}
    # Story fields as the pipeline computes them, the inputs clustered among themselves only.
    from newsflow.transforms.batch.documents import to_document
    from newsflow.transforms.enrich.stories import StoryClusters, assign_documents

    docs = {url: to_document(e, "extract") for url, e in enriched.items()}
    assign_documents(StoryClusters(), list(docs.values()))
    failed = {f.url: f for f in failures}
    for url in urls:
        if url in failed:
            f = failed[url]
            record: dict[str, Any] = {"url": url, "error": f.reason, "stage": f.stage}
        else:
            e = enriched[url]
            a = e.article
            entities: dict[str, list[dict[str, Any]]] = {}
            for ent in e.entities:
                entities.setdefault(ent.type, []).append({"name": ent.name, "count": ent.count})
            record = {
                "url": url,
                "canonical_url": a.canonical_url,
                "title": a.title,
                "body": a.body,
                "authors": a.authors,
                "published": a.published,
                "site_name": a.site_name,
                "language": a.language,
                "entities": entities,
                "quotes": [q.as_dict() for q in e.quotes],
                "story_id": docs[url]["story_id"],
                "story_lead": docs[url]["story_lead"],
                "story_bands": docs[url]["story_bands"],
            }
        if as_json:
            print(json.dumps(record, ensure_ascii=False))
        elif "error" in record:
            out.print(f"[red]{url}[/red]: failed at {record['stage']}: {record['error']}")
        else:
            out.print(f"[bold]{record['title']}[/bold] ({url})")
            out.print(
                f"  {record['published'] or 'undated'} · {record['site_name']} · "
                f"{record['language']} · by {', '.join(record['authors']) or 'unknown'}"
            )
            for etype, ents in record["entities"].items():
                out.print(f"  {etype}: " + ", ".join(f"{x['name']} ({x['count']})" for x in ents))
            for q in record["quotes"]:
                out.print(f"  quote: {escape(str(q['speaker']))}: “{escape(q['text'])}”")
            lead = " (lead)" if record["story_lead"] else ""
            out.print(f"  story: {record['story_id']}{lead}")
            out.print(f"  {record['body'][:300]}…\n")
    if len(failed) == len(urls):
        raise typer.Exit(1)


@app.command()
def demo(
    corpus: Annotated[Path, typer.Option(help="Directory of HTML pages to serve.")] = DEMO_CORPUS,
) -> None:
    """Serve the demo corpus on 127.0.0.1, ingest it over HTTP, show a summary and a search."""
    from newsflow.corpus_server import page_urls, serve_directory
    from newsflow.search import SearchRequest

    settings = _settings()
    # The demo serves its pages on 127.0.0.1, which the fetch step's SSRF guard refuses
    # unless allowed explicitly.
    local = [*settings.allowed_private_networks, "127.0.0.0/8"]
    settings = settings.model_copy(update={"allowed_private_networks": local})
    _client(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    url_list = settings.state_dir / "demo-urls.txt"
    # A fixed port keeps URLs (and so ids of pages without a canonical link) stable across runs.
    with serve_directory(corpus, port=DEMO_PORT) as base_url:
        url_list.write_text("\n".join(page_urls(corpus, base_url)) + "\n")
        err.print(f"[dim]serving {corpus} at {base_url}; URL list in {url_list}[/dim]")
        summary = _run_ingest(settings, [str(url_list)])
    _print_summary(summary)
    overview = _search(settings, SearchRequest(size=1))
    facet = next(
        (f for f in ("person", "location", "organization") if overview.facets.get(f)), None
    )
    if facet is None:
        out.print("no facets to show: nothing was indexed")
        return
    value = overview.facets[facet][0]["value"]
    out.print(
        f"\n[bold]Example faceted search[/bold]: newsflow search --{facet} {json.dumps(value)}\n"
    )
    _print_result(_search(settings, SearchRequest(filters={facet: [value]}, size=5)))
    out.print(
        f"\nThe local node keeps running at {settings.effective_es_url}; "
        "try `.venv/bin/newsflow search QUERY --person NAME`, stop it with "
        "`.venv/bin/newsflow es stop`."
    )


@app.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    print(json.dumps(_settings().masked(), indent=2))


NodesOption = Annotated[
    int | None,
    typer.Option(
        "--nodes",
        min=1,
        max=9,
        help="Nodes of the local cluster (default: NEWSFLOW_LOCAL_ES_NODES, 1). Set that "
        "setting for a cluster you keep, so that every command uses it.",
    ),
]


def _es_settings(nodes: int | None) -> Settings:
    settings = _settings()
    return settings if nodes is None else settings.model_copy(update={"local_es_nodes": nodes})


@es_app.command("start")
def es_start(nodes: NodesOption = None) -> None:
    """Install (once) and start the local node, or each node of a local cluster that is not
    running (a node that died is started again); a no-op when all run."""
    settings = _es_settings(nodes)
    try:
        status = es_local.start(settings, log=err.print)
    except es_local.LocalNodeError as exc:
        raise _fail(str(exc)) from exc
    out.print(status.describe())


@es_app.command("stop")
def es_stop(nodes: NodesOption = None) -> None:
    """Stop the local node, or every node of the local cluster (their data stays)."""
    es_local.stop(_es_settings(nodes), log=out.print)


@es_app.command("status")
def es_status(nodes: NodesOption = None) -> None:
    """Where the local node (or each node of the local cluster) runs, its version and health;
    exits with 1 unless the cluster is healthy with every node in it."""
    status = es_local.status(_es_settings(nodes))
    out.print(status.describe())
    if not (status.healthy and status.complete):
        raise typer.Exit(1)


def _client(settings: Settings):
    from newsflow.store.client import ClusterUnavailable, check_cluster, make_client

    _ensure_cluster(settings)
    client = make_client(settings)
    try:
        check_cluster(client, settings.effective_es_url)
    except ClusterUnavailable as exc:
        raise _fail(str(exc)) from exc
    return client


@index_app.command("migrate")
def index_migrate(
    drop_old: Annotated[
        bool, typer.Option(help="Delete the previous index after the swap.")
    ] = False,
) -> None:
    """Build the next index version with the current mapping, copy, check, swap the alias.

    The new index takes NEWSFLOW_INDEX_SHARDS and NEWSFLOW_INDEX_REPLICAS: this is how the
    shard count of an existing alias changes."""
    from newsflow.store.indices import IndexSetupError, drop_index, migrate

    settings = _settings()
    client = _client(settings)
    try:
        done = migrate(
            client, settings.index, shards=settings.index_shards, replicas=settings.index_replicas
        )
        if drop_old:
            drop_index(client, settings.index, done.source)
    except IndexSetupError as exc:
        raise _fail(str(exc)) from exc
    kept = "dropped" if drop_old else f"kept (drop it with `newsflow index drop {done.source}`)"
    out.print(
        f"{settings.index}: {done.source} -> {done.target} (mapping version "
        f"{done.mapping_version}), {done.copied} documents in {done.seconds}s; "
        f"{done.source} {kept}"
    )


@index_app.command("drop")
def index_drop(index: Annotated[str, typer.Argument(help="An old <alias>-v<N> index.")]) -> None:
    """Delete an old index version (never the one behind the alias)."""
    from newsflow.store.indices import IndexSetupError, drop_index

    settings = _settings()
    try:
        drop_index(_client(settings), settings.index, index)
    except IndexSetupError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"dropped {index}")


@index_app.command("stats")
def index_stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Documents, size, versions, last run, top facet values and dead letters of the alias."""
    from newsflow.store.indices import stats

    settings = _settings()
    data = stats(_client(settings), settings.index)
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return
    out.print(
        f"[bold]{data['alias']}[/bold] -> {data['write_index']} (mapping version "
        f"{data['mapping_version']}); versions: {', '.join(data['versions'])}"
    )
    out.print(
        f"{data['documents']} documents, {data['size_bytes'] / 1e6:.1f} MB; "
        f"dead letters: {data['dead_letters']}"
    )
    if data["last_run"]:
        out.print(f"last run {data['last_run']['run_id']} at {data['last_run']['indexed_at']}")
    for name, buckets in data["top"].items():
        if buckets:
            out.print(f"{name}: " + ", ".join(f"{b['value']} ({b['count']})" for b in buckets))


@deadletter_app.command("list")
def deadletter_list(
    size: Annotated[int, typer.Option(min=1, max=1000)] = 20,
) -> None:
    """Show dead-lettered documents with their errors."""
    from newsflow.store.load import dead_letter_index

    settings = _settings()
    client = _client(settings)
    index = dead_letter_index(settings.index)
    if not client.indices.exists(index=index):
        out.print("no dead letters")
        return
    hits = client.search(
        index=index, size=size, sort=[{"failed_at": "desc"}], source_excludes=["document"]
    )["hits"]
    out.print(f"{hits['total']['value']} dead letters")
    for hit in hits["hits"]:
        letter = hit["_source"]
        out.print(
            f"  {letter['url']} (run {letter['run_id']}, {letter['attempts']} attempts): "
            f"{letter['reason']}"
        )


@deadletter_app.command("retry")
def deadletter_retry() -> None:
    """Send dead-lettered documents again (after fixing the mapping or the cause)."""
    import uuid

    from newsflow.store.load import count_dead_letters, retry_dead_letters

    settings = _settings()
    client = _client(settings)
    result = retry_dead_letters(client, settings.index, run_id=f"retry-{uuid.uuid4().hex[:12]}")
    client.indices.refresh(index=settings.index)
    out.print(
        f"re-sent: {result.indexed} indexed, {len(result.rejected)} rejected again; "
        f"{count_dead_letters(client, settings.index)} dead letters left"
    )
    if result.rejected:
        raise typer.Exit(1)


@app.command("reprocess")
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

    settings = _settings()
    try:
        parse_since(since)
    except ValueError as exc:
        raise _fail(f"--since: {exc}", 2) from exc
    _client(settings)
    summary = reprocess_flow(
        since=since, source=source, limit=limit, force=force, settings=settings
    )
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        _print_summary(summary)
        out.print(f"pipeline version {summary['pipeline_version']}")


@app.command("runs")
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

    settings = _settings()
    found = list_runs(_client(settings), settings.index, limit=limit, flow=flow)
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


flows_app = typer.Typer(no_args_is_help=True, help="Prefect deployments of the flows.")
app.add_typer(flows_app, name="flows")


@flows_app.command("serve")
def flows_serve(
    source: Annotated[
        list[str], typer.Option("--source", "-s", help="Sources of the scheduled ingest.")
    ],
    ingest_cron: Annotated[str, typer.Option(help="Ingest schedule (cron, UTC).")] = "0 * * * *",
    maintenance_cron: Annotated[
        str, typer.Option(help="Maintenance schedule (cron, UTC).")
    ] = "30 3 * * *",
) -> None:
    """Serve the deployments (ingest, maintenance on cron; backfill, reprocess on demand) to
    the Prefect server in PREFECT_API_URL and run their flow runs here until stopped."""
    from prefect.settings import PREFECT_API_URL

    from newsflow.flows.deployments import build_deployments, serve_deployments

    _settings()  # a broken configuration is said now, not at the first scheduled run
    if not PREFECT_API_URL.value():
        # Prefect's ephemeral server lives as long as this process and keeps no history.
        err.print(
            "[yellow]PREFECT_API_URL is not set:[/yellow] serving against a temporary Prefect "
            "server; start one with `prefect server start` and set PREFECT_API_URL to keep "
            "schedules and runs"
        )
    serve_deployments(
        build_deployments(source, ingest_cron=ingest_cron, maintenance_cron=maintenance_cron)
    )


kibana_app = typer.Typer(no_args_is_help=True, help="Kibana dashboards for the articles alias.")
app.add_typer(kibana_app, name="kibana")


@kibana_app.command("import")
def kibana_import(
    directory: Annotated[
        Path, typer.Option("--dir", help="Directory of saved-object NDJSON files.")
    ] = KIBANA_DIR,
    overwrite: Annotated[
        bool, typer.Option(help="Replace objects with the same ids (keeps re-imports idempotent).")
    ] = True,
) -> None:
    """Import the data view, saved search, Lens charts and dashboard into Kibana."""
    from newsflow.kibana import (
        KibanaImportError,
        for_index,
        import_saved_objects,
        load_saved_objects,
        to_ndjson,
    )

    settings = _settings()
    if not settings.kibana_url:
        raise _fail("NEWSFLOW_KIBANA_URL is not set (e.g. http://localhost:5601)", 2)
    try:
        objects = for_index(load_saved_objects(directory), settings.index)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc), 2) from exc
    if not objects:
        raise _fail(f"no saved objects in {directory}/*.ndjson", 2)
    try:
        count = import_saved_objects(
            settings.kibana_url,
            to_ndjson(objects),
            api_key=settings.es_api_key.get_secret_value() if settings.es_api_key else None,
            username=settings.es_username,
            password=settings.es_password.get_secret_value() if settings.es_password else None,
            ca_certs=settings.es_ca_certs,
            overwrite=overwrite,
            timeout=settings.es_request_timeout,
        )
    except KibanaImportError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"imported {count} saved objects into Kibana (data view on {settings.index!r})")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Serve the search API (and the search page) over HTTP; docs at /docs."""
    import uvicorn

    from newsflow.api import create_app

    settings = _settings()
    _ensure_cluster(settings)
    # The API logs failures with their request id; without a handler they would be lost.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
