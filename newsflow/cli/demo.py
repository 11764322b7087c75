"""``newsflow demo``: ingest the demo corpus from a local web server, then search it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from newsflow.cli.common import client, err, fail, load_settings, out
from newsflow.cli.run import print_summary, run_ingest
from newsflow.cli.search import print_result, run_search
from newsflow.resources import DEMO_CORPUS

DEMO_PORT = 8399


def _corpus_dir(corpus: Path | None) -> Path:
    """The directory to serve: the one given, else the checkout's demo corpus; exit 2 with
    what to do when there is none (an installed package does not ship the corpus)."""
    if corpus is None:
        if DEMO_CORPUS is None:
            raise fail(
                "the demo corpus (demo/corpus) is part of the source checkout, not of the "
                "installed package: run `make demo` in a checkout, or pass --corpus DIR "
                "(a directory of HTML pages)",
                2,
            )
        corpus = DEMO_CORPUS
    if not corpus.is_dir():
        raise fail(f"--corpus {corpus}: not a directory", 2)
    return corpus


def demo(
    corpus: Annotated[
        Path | None,
        typer.Option(
            help="Directory of HTML pages to serve (default: demo/corpus of the source checkout)."
        ),
    ] = None,
) -> None:
    """Serve the demo corpus on 127.0.0.1, ingest it over HTTP, show a summary and a search."""
    from newsflow.corpus_server import page_urls, serve_directory
    from newsflow.search import SearchRequest

    corpus = _corpus_dir(corpus)
    settings = load_settings()
    # The demo serves its pages on 127.0.0.1, which the fetch step's SSRF guard refuses
    # unless allowed explicitly.
    local = [*settings.allowed_private_networks, "127.0.0.0/8"]
    settings = settings.model_copy(update={"allowed_private_networks": local})
    client(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    url_list = settings.state_dir / "demo-urls.txt"
    # A fixed port keeps URLs (and so ids of pages without a canonical link) stable across runs.
    with serve_directory(corpus, port=DEMO_PORT) as base_url:
        url_list.write_text("\n".join(page_urls(corpus, base_url)) + "\n")
        err.print(f"[dim]serving {corpus} at {base_url}; URL list in {url_list}[/dim]")
        summary, link = run_ingest(settings, [str(url_list)])
    print_summary(summary)
    overview = run_search(settings, SearchRequest(size=1))
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
    print_result(run_search(settings, SearchRequest(filters={facet: [value]}, size=5)))
    out.print(
        f"\nThe local node keeps running at {settings.effective_es_url}; "
        "try `.venv/bin/newsflow search QUERY --person NAME`, stop it with "
        "`.venv/bin/newsflow es stop`."
    )
    if link:
        out.print(
            f"The Prefect server keeps running too; the run, its task runs, logs and "
            f"ingest-summary artifact: {link}; stop it with `.venv/bin/newsflow prefect stop`."
        )
