"""``newsflow serve``: the search API and the search page over HTTP."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from newsflow.cli.common import ensure_cluster, load_settings


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Serve the search API (and the search page) over HTTP; docs at /docs."""
    import uvicorn

    from newsflow.api import create_app

    settings = load_settings()
    ensure_cluster(settings)
    # The API logs failures with their request id; without a handler they would be lost.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
