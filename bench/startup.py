"""Start-up of one-page commands: where the seconds of `newsflow extract` and `newsflow run` go.

    .venv/bin/python bench/startup.py [--runs 5] [--before /path/to/other/checkout]

Serves one demo page (its canonical link removed) from a local HTTP server on 127.0.0.1, at a
new URL for every command so that each run fetches, cleans, enriches and indexes it as a new
article, and starts a local Prefect server of its own (`newsflow prefect start`: temporary
state directory, a free port; stopped at the end). Then, alternating, `N` times each:

- `newsflow extract URL --json`;
- `newsflow run --source URL --json`, whose flow run goes to that Prefect server.

Wall seconds are measured around the subprocess, as a user waits for it; the first command of
each kind is not counted (it creates the index, Prefect's records and the gazetteer cache).
With `--before`, the same commands of another checkout (e.g. `git worktree add ../before main`)
run in the same loop, interleaved, against the same page, server and index, in this
checkout's virtualenv.

The breakdown comes from one more traced run of each command (`--trace`, below), in which
wrappers time, in wall seconds and each without the phases nested in it: the interpreter and
the CLI's imports up to the command, the import of each heavy package (Prefect, spaCy, the
Elasticsearch client...) wherever it happens, compiling modules at import where no bytecode
was written (uv installs none, and PYTHONDONTWRITEBYTECODE stops Python writing it), the
settings, the fetch, the clean step, loading the spaCy models, the gazetteer, NER and quotes,
the documents, the Elasticsearch requests and the wait for a batch sent to a worker process
(its model loading, where it did not overlap the flow's start, and its transform); what is
left is "other" (for `run`: mostly Prefect's flow and task orchestration, its API calls and
its shutdown).

Needs the Elasticsearch node (NEWSFLOW_ES_URL, or the local node); writes into an alias of its
own (deleted at the end). The last line is
``run_vs_extract=<run/extract> extract_s=<median> run_s=<median>`` (this checkout).
"""

from __future__ import annotations

import argparse
import atexit
import functools
import importlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NEWSFLOW = str(Path(sys.executable).with_name("newsflow"))
PAGE = "nordic-wire/gothenburg-port-strike.html"
# The canonical link would give every copy the same id: each URL must be an article of its own.
_CANONICAL = re.compile(rb"<link[^>]+rel=[\"']canonical[\"'][^>]*>|<meta[^>]+og:url[^>]*>", re.I)

# Packages whose first import is timed as a phase of its own (their share, not what they
# import from the other packages listed here).
TIMED_IMPORTS = {
    "prefect": "import prefect",
    "prefect_dask": "import prefect",
    "spacy": "import spaCy",
    "thinc": "import spaCy",
    "elasticsearch": "import elasticsearch",
    "elastic_transport": "import elasticsearch",
    "trafilatura": "import trafilatura",
    "datasketch": "import datasketch/scipy",
    "scipy": "import datasketch/scipy",
    "numpy": "import numpy",
    "pydantic": "import pydantic",
    "pydantic_settings": "import pydantic",
    "pydantic_core": "import pydantic",
}
# (module, attribute, phase): functions (or methods, "Class.method") timed by the trace.
TIMED_CALLS = [
    ("newsflow.cli.common", "load_settings", "settings"),
    ("newsflow.transforms.fetch.download", "fetch_pages", "fetch"),
    ("newsflow.transforms.clean.extract", "clean_pages", "clean"),
    ("newsflow.transforms.enrich.entities", "load_model", "spaCy model (NER)"),
    ("newsflow.transforms.enrich.quotes", "load_parser", "spaCy model (parser)"),
    ("newsflow.transforms.enrich.entities", "gazetteer", "gazetteer"),
    ("newsflow.transforms.enrich.entities", "enrich_articles", "NER + quotes"),
    ("newsflow.transforms.batch.documents", "to_document", "documents + story signature"),
    ("elastic_transport._transport", "Transport.perform_request", "Elasticsearch requests"),
    # The flow's wait for a batch sent to a worker process (its own phases are not traced).
    ("newsflow.flows.process_pool", "run_transform", "waiting for the worker"),
]
PHASE_ORDER = [
    "interpreter + CLI imports",
    "compile .py (no .pyc)",
    "import pydantic",
    "import numpy",
    "import elasticsearch",
    "import trafilatura",
    "import datasketch/scipy",
    "import prefect",
    "import spaCy",
    "settings",
    "fetch",
    "clean",
    "spaCy model (NER)",
    "spaCy model (parser)",
    "gazetteer",
    "NER + quotes",
    "documents + story signature",
    "waiting for the worker",
    "Elasticsearch requests",
    "other",
]
COMMAND_FUNCTIONS = {
    "extract": ("newsflow.cli.extract", "extract"),
    "run": ("newsflow.cli.run", "run"),
}


# --------------------------------------------------------------------------- the trace


class Phases:
    """Wall seconds per phase, each without the phases nested in it (per thread)."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.seconds: dict[str, float] = defaultdict(float)

    def _stack(self) -> list[list[Any]]:
        if not hasattr(self.local, "stack"):
            self.local.stack = []
        return self.local.stack

    def open(self, name: str, started: float | None = None) -> None:
        self._stack().append([name, time.perf_counter() if started is None else started, 0.0])

    def close(self) -> None:
        stack = self._stack()
        name, started, nested = stack.pop()
        wall = time.perf_counter() - started
        with self.lock:
            self.seconds[name] += wall - nested
        if stack:
            stack[-1][2] += wall

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.open(name)
        try:
            yield
        finally:
            self.close()

    def timed(self, fn: Any, name: str) -> Any:
        if getattr(fn, "_bench_phase", None):
            return fn

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.phase(name):
                return fn(*args, **kwargs)

        wrapper._bench_phase = name  # type: ignore[attr-defined]
        return wrapper


class _TimingFinder:
    """Times the first import of the packages in TIMED_IMPORTS and wraps the functions of
    TIMED_CALLS as their modules are imported (never importing anything itself, so the
    command imports what it imports, in its own order)."""

    def __init__(self, phases: Phases) -> None:
        self.phases = phases
        self.calls: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for module, attr, name in TIMED_CALLS:
            self.calls[module].append((attr, name))

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        timed = TIMED_IMPORTS.get(fullname)
        if timed is None and fullname not in self.calls:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "__dict__"):
            return spec
        inner = loader.exec_module
        phases, calls = self.phases, self.calls.get(fullname, [])

        def exec_module(module: Any) -> None:
            if timed:
                with phases.phase(timed):
                    inner(module)
            else:
                inner(module)
            for attr, name in calls:
                owner: Any = module
                *path_, last = attr.split(".")
                for part in path_:
                    owner = getattr(owner, part)
                if hasattr(owner, last):
                    setattr(owner, last, phases.timed(getattr(owner, last), name))

        loader.exec_module = exec_module
        return spec


def _process_started() -> float:
    """``time.perf_counter()`` of this process's start (Linux: /proc/self/stat)."""
    ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return time.perf_counter() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))


def trace(out_file: str, checkout: str, argv: list[str]) -> None:
    """Run the CLI of ``checkout`` with ``argv`` in this process, timing its phases; the phases
    are written to ``out_file`` (JSON) when the process exits."""
    phases = Phases()
    started = _process_started()
    phases.open("interpreter + CLI imports", started)  # closed when the command starts
    sys.meta_path.insert(0, _TimingFinder(phases))
    # Source compiled at import because no bytecode file is there (or it is stale).
    loader = importlib._bootstrap_external.SourceLoader  # type: ignore[attr-defined]
    loader.source_to_code = phases.timed(loader.source_to_code, "compile .py (no .pyc)")
    sys.path.insert(0, checkout)
    module, attr = COMMAND_FUNCTIONS[argv[0]]

    def report() -> None:
        total = time.perf_counter() - started
        seconds = dict(phases.seconds)
        seconds["other"] = total - sum(seconds.values())
        Path(out_file).write_text(json.dumps({"total": total, "seconds": seconds}))

    atexit.register(report)
    cli = importlib.import_module("newsflow.cli")
    command = importlib.import_module(module)
    inner = getattr(command, attr)

    @functools.wraps(inner)
    def entered(*args: Any, **kwargs: Any) -> Any:
        phases.close()  # the interpreter and the imports up to the command
        return inner(*args, **kwargs)

    # The CLI registered the function before it could be wrapped: point the command at it.
    for info in cli.app.registered_commands:
        if info.callback is inner:
            info.callback = entered
    sys.argv = ["newsflow", *argv]
    cli.app()


# --------------------------------------------------------------------------- the bench


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def one_page_site(html: bytes) -> Iterator[str]:
    """The page at every path (robots.txt: none); yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/robots.txt":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Bench:
    def __init__(self, base_url: str, env: dict[str, str], work: Path) -> None:
        self.base_url, self.env, self.work = base_url, env, work
        self.count = 0

    def url(self) -> str:
        self.count += 1
        return f"{self.base_url}/page-{self.count}-{uuid.uuid4().hex[:6]}.html"

    def argv(self, kind: str) -> list[str]:
        url = self.url()
        return ["extract", url, "--json"] if kind == "extract" else ["run", "-s", url, "--json"]

    def timed(self, checkout: Path, kind: str) -> float:
        """Wall seconds of one command of ``checkout``, launched as the console script does."""
        # The console script: newsflow.cli:main where the checkout has it, else :app.
        launch = (
            f"import sys; sys.path.insert(0, {str(checkout)!r}); sys.argv[0] = 'newsflow'; "
            "from newsflow import cli; getattr(cli, 'main', cli.app)()"
        )
        command = [sys.executable, "-c", launch, *self.argv(kind)]
        started = time.perf_counter()
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, cwd=checkout)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command[3:])} failed:\n{done.stderr[-3000:]}")
        return wall

    def traced(self, checkout: Path, kind: str) -> dict[str, Any]:
        out = self.work / f"trace-{uuid.uuid4().hex}.json"
        command = [sys.executable, __file__, "--trace", str(out), str(checkout), *self.argv(kind)]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, cwd=checkout)
        if done.returncode != 0:
            raise SystemExit(f"traced {kind} failed:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def _table(traces: dict[str, dict[str, Any]], medians: dict[str, float]) -> None:
    names = list(traces)
    print(f"\n{'phase (wall s, traced run)':<30}" + "".join(f"{n:>18}" for n in names))
    for phase in PHASE_ORDER:
        values = [traces[n]["seconds"].get(phase, 0.0) for n in names]
        if any(abs(v) >= 0.005 for v in values):
            print(f"{phase:<30}" + "".join(f"{v:18.2f}" for v in values))
    print(f"{'total (traced)':<30}" + "".join(f"{traces[n]['total']:18.2f}" for n in names))
    print(f"{'median wall (untraced)':<30}" + "".join(f"{medians[n]:18.2f}" for n in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="counted runs of each command")
    parser.add_argument("--before", type=Path, help="another checkout, timed in the same loop")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from newsflow.settings import Settings
    from newsflow.store.client import make_client

    checkouts = {"after": ROOT} if args.before is None else {"before": args.before, "after": ROOT}
    work = Path(tempfile.mkdtemp(prefix="newsflow-startup-"))
    alias = f"bench-startup-{uuid.uuid4().hex[:8]}"
    settings = Settings(index=alias)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "NEWSFLOW_INDEX": alias,
        "NEWSFLOW_ES_URL": settings.effective_es_url,
        "NEWSFLOW_ARCHIVE_ENABLED": "false",
        "NEWSFLOW_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
        "NEWSFLOW_STATE_DIR": str(work / "state"),
        "NEWSFLOW_CACHE_DIR": str(work / "cache"),
        "NEWSFLOW_PREFECT_PORT": str(_free_port()),
    }
    html = _CANONICAL.sub(b"", (ROOT / "demo" / "corpus" / PAGE).read_bytes())
    load = os.getloadavg()
    print(
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
    )
    subprocess.run([NEWSFLOW, "prefect", "start"], env=env, check=True, cwd=ROOT)
    samples: dict[str, list[float]] = defaultdict(list)
    traces: dict[str, dict[str, Any]] = {}
    try:
        with one_page_site(html) as base_url:
            bench = Bench(base_url, env, work)
            kinds = [(name, kind) for name in checkouts for kind in ("extract", "run")]
            for name, kind in kinds:
                wall = bench.timed(checkouts[name], kind)
                print(f"{name:<6} {kind:<7} first run (not counted) {wall:6.2f}s")
            for i in range(args.runs):
                for name, kind in kinds:
                    wall = bench.timed(checkouts[name], kind)
                    samples[f"{name} {kind}"].append(wall)
                    print(f"{name:<6} {kind:<7} run {i + 1}: {wall:6.2f}s")
            for name, kind in kinds:
                traces[f"{name} {kind}"] = bench.traced(checkouts[name], kind)
    finally:
        subprocess.run([NEWSFLOW, "prefect", "stop"], env=env, cwd=ROOT)
        client = make_client(settings)
        client.indices.delete(index=f"{alias}-*", ignore_unavailable=True)
        client.options(ignore_status=404).indices.delete_index_template(name=f"newsflow-{alias}")
        shutil.rmtree(work, ignore_errors=True)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    for key, values in samples.items():
        runs = " ".join(f"{v:.2f}" for v in values)
        print(f"{key:<15} median {medians[key]:6.2f}s  (runs: {runs})")
    _table(traces, medians)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    extract_s, run_s = medians["after extract"], medians["after run"]
    print(f"run_vs_extract={run_s / extract_s:.2f} extract_s={extract_s:.2f} run_s={run_s:.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--trace":
        trace(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        main()
