"""Run the ingest flow on a schedule under a Prefect server (``PREFECT_API_URL`` set).

    python -m flows.deployments --source urls.txt --cron "0 * * * *"

serves a deployment ``ingest/scheduled`` from this process: the server schedules flow runs and
this process executes them with the same code as ``newsflow run``. Settings (cluster, index,
model) come from the environment of this process, never from flow parameters, so no secret
ends up in Prefect's database.
"""

from __future__ import annotations

import argparse

from prefect import serve

from flows.ingest import ingest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", required=True, help="repeatable")
    parser.add_argument("--cron", default="0 * * * *", help="schedule (default: hourly)")
    parser.add_argument("--name", default="scheduled")
    args = parser.parse_args()
    deployment = ingest.to_deployment(
        name=args.name, cron=args.cron, parameters={"sources": args.source}
    )
    serve(deployment)


if __name__ == "__main__":
    main()
