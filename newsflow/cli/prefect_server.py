"""``newsflow prefect``: the project's local Prefect server, and which server a command uses."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from newsflow import prefect_local
from newsflow.cli.common import err, fail, load_settings, out
from newsflow.settings import Settings

prefect_app = typer.Typer(
    no_args_is_help=True, help="The project's local Prefect server (UI on 127.0.0.1:4200)."
)


@prefect_app.command("start")
def prefect_start() -> None:
    """Start the local Prefect server in the background; a no-op when it already runs.
    Then `newsflow run`, `demo`, `reprocess` and `flows serve` run their flows on it."""
    settings = load_settings()
    try:
        status = prefect_local.start(settings, log=err.print)
    except prefect_local.LocalPrefectError as exc:
        raise fail(str(exc)) from exc
    _install_crash_detection(status.api_url)
    out.print(status.describe())
    out.print(f"UI: {status.url}")


def _install_crash_detection(api_url: str) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from newsflow.flows.deployments import ensure_crash_detection

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        ensure_crash_detection()


@prefect_app.command("stop")
def prefect_stop() -> None:
    """Stop the local Prefect server (its runs, logs and artifacts stay)."""
    prefect_local.stop(load_settings(), log=out.print)


@prefect_app.command("status")
def prefect_status() -> None:
    """Whether the local Prefect server runs, where, its version and log; exit 1 if not."""
    status = prefect_local.status(load_settings())
    out.print(status.describe())
    if not status.healthy:
        raise typer.Exit(1)


def use_prefect(settings: Settings) -> prefect_local.PrefectApi:
    """Choose the Prefect server this command's flows report to, and say which."""
    # Prefect makes its home when imported, but not the directories above it: in a state
    # directory not made yet, an ephemeral server would find no place for its database and
    # be restarted until its start timed out.
    Path(os.environ.get("PREFECT_HOME", settings.prefect_home)).mkdir(parents=True, exist_ok=True)
    api = prefect_local.choose_api(settings)
    if api.source == "local":
        err.print(f"[dim]Prefect: the local server, {api.url}[/dim]")
    elif api.source == "ephemeral":
        err.print(
            "[dim]Prefect: a temporary server, started for this command (the slow part of a "
            "small run); `newsflow prefect start` keeps one running, every run in its UI[/dim]"
        )
    return api


def flow_run_link(api: prefect_local.PrefectApi, flow_run_id: object) -> str | None:
    """The flow run's page in the Prefect UI; None when its server is a temporary one."""
    if api.url is None:
        return None
    from prefect.settings import get_current_settings

    ui = get_current_settings().ui_url
    return f"{ui}/runs/flow-run/{flow_run_id}" if ui else None
