"""The ``newsflow`` command: run the pipeline, search, extract, manage the local services.

One module per command group; ``common`` holds what they share. This module only assembles
them into ``app``, in the order ``--help`` lists them; ``main`` (the console script
``newsflow.cli:main``) runs it and exits quickly.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading

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


def main() -> None:
    """The console script: run the command, then leave without tearing the interpreter down.

    A command is done once its output is written, its threads have ended and the exit
    handlers have run (Prefect's log and event shipping among them, multiprocessing's
    children, logging's flush). Python then frees every object and module one by one: ~0.8 s
    after a one-page `extract` on this machine (spaCy's vocabulary, the language model's and
    the gazetteer's objects), for nothing the user waits for. So after the same shutdown
    steps Python takes, in its order, the process exits with ``os._exit``. Only here: the
    tests invoke ``app`` in their own process."""
    try:
        app()
        code: int = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # sys.exit("message"): printed, status 1
            print(exc.code, file=sys.stderr)
            code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # joins non-daemon threads, as exit does
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)


__all__ = ["DEMO_CORPUS", "app", "main"]
