"""``newsflow flows``: the Prefect deployments of the flows, served from this process."""

from __future__ import annotations

from typing import Annotated

import typer

from newsflow.cli.common import err, load_settings
from newsflow.cli.prefect_server import use_prefect

flows_app = typer.Typer(no_args_is_help=True, help="Prefect deployments of the flows.")


@flows_app.command("serve")
def flows_serve(
    source: Annotated[
        list[str], typer.Option("--source", "-s", help="Sources of the scheduled ingest.")
    ],
    ingest_cron: Annotated[str, typer.Option(help="Ingest schedule (cron, UTC).")] = "0 * * * *",
    ingest_every: Annotated[
        float | None,
        typer.Option(min=1, help="Ingest every N seconds instead (a trial, a test)."),
    ] = None,
    maintenance_cron: Annotated[
        str, typer.Option(help="Maintenance schedule (cron, UTC).")
    ] = "30 3 * * *",
) -> None:
    """Serve the deployments (ingest, maintenance on their schedules; backfill, reprocess on
    demand) to the Prefect server and run their flow runs here until stopped: the server in
    PREFECT_API_URL, else the local one of `newsflow prefect start`."""
    from newsflow.flows.deployments import build_deployments, serve_deployments

    settings = load_settings()  # a broken configuration is said now, not at the first run
    if use_prefect(settings).source == "ephemeral":
        # Prefect's ephemeral server lives as long as this process and keeps no history.
        err.print(
            "[yellow]no Prefect server:[/yellow] serving against a temporary one; start "
            "`newsflow prefect start` (or set PREFECT_API_URL) to keep schedules and runs"
        )
    serve_deployments(
        build_deployments(
            source,
            ingest_cron=ingest_cron,
            maintenance_cron=maintenance_cron,
            ingest_every=ingest_every,
        )
    )
