"""Deployments of the flows with their schedules, served from one process.

    newsflow flows serve --source urls.txt            # or: python -m newsflow.flows.deployments ...

registers with the Prefect server in ``PREFECT_API_URL`` and runs, in this process:

- ``ingest/scheduled``: the sources, on ``--ingest-cron`` (hourly by default);
- ``maintenance/scheduled``: dead-letter retry, index stats, re-enrichment of stale articles,
  on ``--maintenance-cron`` (daily, 03:30 UTC);
- ``backfill/manual`` and ``reprocess/manual``: no schedule, started from the UI or
  ``prefect deployment run``.

``prefect.yaml`` declares the same deployments for ``prefect deploy`` onto a work pool; a test
keeps both in step. Settings (cluster, index, credentials) come from this process's
environment, never from flow parameters, so no secret ends up in Prefect's database.
"""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from typing import Any

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from newsflow.flows.backfill import backfill
from newsflow.flows.ingest import ingest
from newsflow.flows.maintenance import maintenance
from newsflow.flows.reprocess import reprocess

INGEST_CRON = "0 * * * *"
MAINTENANCE_CRON = "30 3 * * *"
TIMEZONE = "UTC"
TAGS = ["newsflow"]


def build_deployments(
    sources: list[str],
    *,
    ingest_cron: str = INGEST_CRON,
    maintenance_cron: str = MAINTENANCE_CRON,
) -> list[RunnerDeployment]:
    """The deployments ``flows serve`` runs; building them needs no Prefect server."""
    made = [
        ingest.to_deployment(
            name="scheduled",
            schedules=[Cron(ingest_cron, timezone=TIMEZONE)],
            parameters={"sources": list(sources)},
            # A slow hour must not start a second run over the same sources.
            concurrency_limit=1,
            description="Fetch, clean, enrich and index the sources.",
            tags=TAGS,
        ),
        maintenance.to_deployment(
            name="scheduled",
            schedules=[Cron(maintenance_cron, timezone=TIMEZONE)],
            parameters={"reenrich": True},
            concurrency_limit=1,
            description="Retry dead letters, re-enrich stale articles, record index stats.",
            tags=TAGS,
        ),
        backfill.to_deployment(
            name="manual",
            parameters={"sources": list(sources)},
            concurrency_limit=1,
            description="Load a date range from sitemaps, URL lists or WARC files; resumable.",
            tags=TAGS,
        ),
        reprocess.to_deployment(
            name="manual",
            concurrency_limit=1,
            description="Clean, enrich and load again from the page archive (no web access).",
            tags=TAGS,
        ),
    ]
    return [_built(deployment) for deployment in made]


def _built(made: RunnerDeployment | Coroutine[Any, Any, RunnerDeployment]) -> RunnerDeployment:
    """A deployment built by ``to_deployment``: it returns one when called outside an event
    loop, as here, and a coroutine inside one."""
    if isinstance(made, RunnerDeployment):
        return made
    made.close()
    raise RuntimeError("deployments are built outside an event loop (to_deployment is async there)")


def serve_deployments(deployments: list[RunnerDeployment]) -> None:
    """Register the deployments and run their flow runs here until interrupted."""
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
