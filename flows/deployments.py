"""Deployments of the flows with their schedules, served from one process.

    newsflow flows serve --source urls.txt            # or: python -m newsflow.flows.deployments ...

registers with the Prefect server in ``PREFECT_API_URL`` and runs, in this process:

- ``ingest/scheduled``: the sources, on ``--ingest-cron`` (hourly by default);
- ``maintenance/scheduled``: dead-letter retry, index stats, re-enrichment of stale articles,
  on ``--maintenance-cron`` (daily, 03:30 UTC);
- ``backfill/manual`` and ``reprocess/manual``: no schedule, started from the UI or
  ``prefect deployment run``.

``prefect.yaml`` declares the same deployments for ``prefect deploy`` onto a work pool; a test
keeps both in step. Entry points are module paths (``newsflow.flows.ingest.ingest``), found
wherever newsflow is installed, not files of a checkout. Settings (cluster, index,
credentials) come from this process's environment, never from flow parameters, so no secret
ends up in Prefect's database.

A flow run whose process dies is marked Crashed by the process that started it (this one, or
a worker). When that process dies too (the machine or container is gone), only the run's
heartbeats stop: ``ensure_crash_detection`` installs the automation that marks such a run
Crashed, which a self-hosted Prefect server does not have by itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from prefect import serve
from prefect.automations import Automation
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.deployments.runner import RunnerDeployment
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.schedules import Cron, Interval
from prefect.settings import get_current_settings
from prefect.types.entrypoint import EntrypointType

from newsflow.flows.backfill import backfill
from newsflow.flows.ingest import ingest
from newsflow.flows.maintenance import maintenance
from newsflow.flows.reprocess import reprocess

INGEST_CRON = "0 * * * *"
MAINTENANCE_CRON = "30 3 * * *"
TIMEZONE = "UTC"
TAGS = ["newsflow"]
MODULE = EntrypointType.MODULE_PATH
CRASH_DETECTION = "newsflow: crash flow runs whose heartbeats stopped"
T = TypeVar("T")

# Heartbeats a run may miss before it is marked Crashed.
MISSED_HEARTBEATS = 3


def build_deployments(
    sources: list[str],
    *,
    ingest_cron: str = INGEST_CRON,
    maintenance_cron: str = MAINTENANCE_CRON,
    ingest_every: float | None = None,
) -> list[RunnerDeployment]:
    """The deployments ``flows serve`` runs; building them needs no Prefect server.
    ``ingest_every`` (seconds) replaces the ingest cron by an interval, e.g. for a trial."""
    ingest_schedule = (
        Interval(timedelta(seconds=ingest_every), timezone=TIMEZONE)
        if ingest_every
        else Cron(ingest_cron, timezone=TIMEZONE)
    )
    made = [
        ingest.to_deployment(
            name="scheduled",
            entrypoint_type=MODULE,
            schedules=[ingest_schedule],
            parameters={"sources": list(sources)},
            # A slow hour must not start a second run over the same sources.
            concurrency_limit=1,
            description="Fetch, clean, enrich and index the sources.",
            tags=TAGS,
        ),
        maintenance.to_deployment(
            name="scheduled",
            entrypoint_type=MODULE,
            schedules=[Cron(maintenance_cron, timezone=TIMEZONE)],
            parameters={"reenrich": True},
            concurrency_limit=1,
            description="Retry dead letters, re-enrich stale articles, record index stats.",
            tags=TAGS,
        ),
        backfill.to_deployment(
            name="manual",
            entrypoint_type=MODULE,
            parameters={"sources": list(sources)},
            concurrency_limit=1,
            description="Load a date range from sitemaps, URL lists or WARC files; resumable.",
            tags=TAGS,
        ),
        reprocess.to_deployment(
            name="manual",
            entrypoint_type=MODULE,
            concurrency_limit=1,
            description="Clean, enrich and load again from the page archive (no web access).",
            tags=TAGS,
        ),
    ]
    return [_called_sync(deployment) for deployment in made]


def _called_sync(made: T | Coroutine[Any, Any, T]) -> T:
    """The result of one of Prefect's sync-compatible calls (``to_deployment``,
    ``Automation.create``): a value when called outside an event loop, as here, and a
    coroutine inside one."""
    if not isinstance(made, Coroutine):
        return made
    made.close()
    raise RuntimeError("Prefect objects are built outside an event loop (the call is async there)")


def crash_detection(heartbeat_seconds: int) -> Automation:
    """The automation that marks a flow run Crashed when no event of it (heartbeat or state)
    came for ``MISSED_HEARTBEATS`` heartbeat periods (Prefect's documented zombie-run rule)."""
    return Automation(
        name=CRASH_DETECTION,
        description=f"Flow runs send a heartbeat every {heartbeat_seconds}s "
        "(PREFECT_FLOWS_HEARTBEAT_FREQUENCY); a run silent for "
        f"{MISSED_HEARTBEATS * heartbeat_seconds}s lost its process and is marked Crashed.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.*"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=MISSED_HEARTBEATS * heartbeat_seconds),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message="No heartbeat from the flow run's process: it died with its machine "
                "or container.",
            )
        ],
    )


def ensure_crash_detection() -> Automation | None:
    """Create, or update in place, ``crash_detection`` on the server in PREFECT_API_URL for
    this process's heartbeat frequency; None when heartbeats are turned off.

    One already there as wanted is left alone: an update gives its trigger a new id, and the
    server forgets the silent runs the old one was timing, which would then never be marked
    Crashed. The deployments are served again just after a machine died, with its runs silent."""
    seconds = get_current_settings().flows.heartbeat_frequency
    if seconds is None:
        return None
    wanted = crash_detection(seconds)
    with get_client(sync_client=True) as client:
        found = client.read_automations_by_name(name=CRASH_DETECTION)
    if not found:
        return _called_sync(wanted.create())
    wanted.id = found[0].id
    if not _same_rule(found[0], wanted):
        _called_sync(wanted.update())
    return wanted


def _same_rule(found: AutomationCore, wanted: AutomationCore) -> bool:
    """True when the automation on the server does what ``wanted`` describes."""
    fields = {"description", "enabled", "trigger", "actions"}
    return found.model_dump(include=fields) == wanted.model_dump(include=fields)


def serve_deployments(deployments: list[RunnerDeployment]) -> None:
    """Register the deployments and the crash detection, then run the flow runs here until
    interrupted."""
    ensure_crash_detection()
    serve(*deployments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", required=True, help="repeatable")
    parser.add_argument("--cron", default=INGEST_CRON, help="ingest schedule (default: hourly)")
    parser.add_argument(
        "--maintenance-cron", default=MAINTENANCE_CRON, help="maintenance schedule (daily)"
    )
    args = parser.parse_args()
    serve_deployments(
        build_deployments(
            args.source, ingest_cron=args.cron, maintenance_cron=args.maintenance_cron
        )
    )


if __name__ == "__main__":
    main()
