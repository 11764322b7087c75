"""The ``newsflow`` command: run the pipeline, search, extract, manage the local services.

One module per command group; ``common`` holds what they share. This module only assembles
them into ``app`` (the console script ``newsflow.cli:app``), in the order ``--help`` lists them.
"""

from __future__ import annotations

import typer

from newsflow.cli import (
    config,
    demo,
    es,
    extract,
    flows,
    index,
    kibana,
    prefect_server,
    run,
    search,
    serve,
)

# Importable from here as before the split: the tests serve these pages.
from newsflow.resources import DEMO_CORPUS

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.split("\n", 1)[0])

app.command("run")(run.run)
app.command("search")(search.search_cmd)
app.command("extract")(extract.extract)
app.command("demo")(demo.demo)
app.command("config")(config.config)
app.command("reprocess")(run.reprocess_cmd)
app.command("runs")(run.runs_cmd)
app.command("serve")(serve.serve)
app.add_typer(es.es_app, name="es")
app.add_typer(prefect_server.prefect_app, name="prefect")
app.add_typer(index.index_app, name="index")
app.add_typer(index.deadletter_app, name="deadletter")
app.add_typer(flows.flows_app, name="flows")
app.add_typer(kibana.kibana_app, name="kibana")

__all__ = ["DEMO_CORPUS", "app"]
