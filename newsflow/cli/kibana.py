"""``newsflow kibana``: the saved objects (data view, search, charts, dashboard) in Kibana."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from newsflow.cli.common import fail, load_settings, out
from newsflow.resources import KIBANA_DIR

kibana_app = typer.Typer(no_args_is_help=True, help="Kibana dashboards for the articles alias.")


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

    settings = load_settings()
    if not settings.kibana_url:
        raise fail("NEWSFLOW_KIBANA_URL is not set (e.g. http://localhost:5601)", 2)
    try:
        objects = for_index(load_saved_objects(directory), settings.index)
    except (OSError, ValueError) as exc:
        raise fail(str(exc), 2) from exc
    if not objects:
        raise fail(f"no saved objects in {directory}/*.ndjson", 2)
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
        raise fail(str(exc)) from exc
    out.print(f"imported {count} saved objects into Kibana (data view on {settings.index!r})")
