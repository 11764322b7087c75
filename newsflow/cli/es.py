"""``newsflow es``: the project's local Elasticsearch node, or local cluster of nodes."""

from __future__ import annotations

from typing import Annotated

import typer

from newsflow import es_local
from newsflow.cli.common import err, fail, load_settings, out
from newsflow.settings import Settings

es_app = typer.Typer(no_args_is_help=True, help="The project's local Elasticsearch node.")

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
    settings = load_settings()
    return settings if nodes is None else settings.model_copy(update={"local_es_nodes": nodes})


@es_app.command("start")
def es_start(nodes: NodesOption = None) -> None:
    """Install (once) and start the local node, or each node of a local cluster that is not
    running (a node that died is started again); a no-op when all run."""
    settings = _es_settings(nodes)
    try:
        status = es_local.start(settings, log=err.print)
    except es_local.LocalNodeError as exc:
        raise fail(str(exc)) from exc
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
