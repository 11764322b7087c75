"""``newsflow es``: the project's local Elasticsearch node."""

from __future__ import annotations

import typer

from newsflow import es_local
from newsflow.cli.common import err, fail, load_settings, out

es_app = typer.Typer(no_args_is_help=True, help="The project's local Elasticsearch node.")


@es_app.command("start")
def es_start() -> None:
    """Install (once) and start the local node; a no-op when it already runs."""
    settings = load_settings()
    try:
        status = es_local.start(settings, log=err.print)
    except es_local.LocalNodeError as exc:
        raise fail(str(exc)) from exc
    out.print(status.describe())


@es_app.command("stop")
def es_stop() -> None:
    """Stop the local node (its data stays)."""
    es_local.stop(load_settings(), log=out.print)


@es_app.command("status")
def es_status() -> None:
    """Where the local node runs, its version and health."""
    status = es_local.status(load_settings())
    out.print(status.describe())
    if not status.healthy:
        raise typer.Exit(1)
