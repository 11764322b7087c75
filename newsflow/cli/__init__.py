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

# The status ``main`` exits with; None: not the console script, leave as Python does.
_exit_status: int | None = None


def _exit_now() -> None:
    """The last exit handler: once ``main`` armed it, flush and leave without tearing the
    interpreter down. Does nothing in any other process that imports the CLI (the tests)."""
    if _exit_status is None:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(_exit_status)


# Registered before any other module can register one (the imports come after it): exit
# handlers run last registered first, so this one runs after all the others (see ``main``).
atexit.register(_exit_now)

import typer  # noqa: E402

from newsflow.cli import (  # noqa: E402
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
from newsflow.resources import DEMO_CORPUS  # noqa: E402

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
    the gazetteer's objects), for nothing the user waits for. So the command ends with an
    ordinary ``sys.exit``, Python's own shutdown joins the threads and runs the exit
    handlers, and the last of them, ``_exit_now`` (registered when this module was imported,
    before any other), exits with ``os._exit``. Only here: the tests invoke ``app`` in their
    own process."""
    global _exit_status
    try:
        app()
        code: int = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # sys.exit("message"): printed, status 1
            print(exc.code, file=sys.stderr)
            code = 1
    _exit_status = code
    sys.exit(code)


__all__ = ["DEMO_CORPUS", "app", "main"]
