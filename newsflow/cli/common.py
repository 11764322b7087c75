"""What every command shares: the consoles, the settings, errors, and the cluster client."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from newsflow import es_local
from newsflow.settings import Settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def load_settings() -> Settings:
    """The settings, or exit 2 with where and why they are wrong; also Prefect's environment."""
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
    # Flow and task run logs from INFO up go to the Prefect server (its UI shows them with the
    # run); the terminal shows warnings and errors only.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
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


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the error and return the exit to raise."""
    # Elasticsearch's reasons hold [brackets], which rich would read as markup.
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code)


def ensure_cluster(settings: Settings) -> None:
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
        raise fail(str(exc)) from exc


def client(settings: Settings) -> Elasticsearch:
    """A client of a reachable cluster (the local node started when needed), or exit 1."""
    from newsflow.store.client import ClusterUnavailable, check_cluster, make_client

    ensure_cluster(settings)
    es = make_client(settings)
    try:
        check_cluster(es, settings.effective_es_url)
    except ClusterUnavailable as exc:
        raise fail(str(exc)) from exc
    return es
