"""Wall time of `newsflow run` over one page, with and without the local Prefect server.

    .venv/bin/python bench/run_overhead.py [--runs 3]

Runs the command as a user does (a subprocess, `--json`) over a directory holding one demo page,
alternating: with the project's Prefect server running (`newsflow prefect start`, on a port of
its own, state in a temporary directory) and without one (Prefect's ephemeral server, which the
command starts for itself; its home is kept across runs, as in a checkout). A first run of each
kind is not counted: it indexes the page and creates Prefect's databases. CPU seconds are the
command's with its children, plus the local server's while it serves the run. Needs the
Elasticsearch node (NEWSFLOW_ES_URL, or the local node). The last line is
``run_ephemeral_s=… run_local_server_s=…`` (medians).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsflow.resources import DEMO_CORPUS  # noqa: E402
from newsflow.settings import Settings  # noqa: E402
from newsflow.store.client import make_client  # noqa: E402

NEWSFLOW = str(Path(sys.executable).with_name("newsflow"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu(server: psutil.Process | None) -> float:
    """CPU seconds of this process's waited-for children, plus the local server's."""
    own = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent = own.ru_utime + own.ru_stime
    if server is not None:
        times = server.cpu_times()
        spent += times.user + times.system
    return spent


def _timed(
    command: list[str], env: dict[str, str], server: psutil.Process | None
) -> tuple[float, float]:
    """Wall and CPU seconds of one command: its own, its children's, and what the local
    Prefect server spent meanwhile (``server``), which serves the run."""
    before = _cpu(server)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return wall, _cpu(server) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="counted runs of each kind")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsflow-run-overhead-"))
    page = work / "page"
    page.mkdir()
    shutil.copy(next(DEMO_CORPUS.glob("*/*.html")), page)
    alias = f"bench-run-{uuid.uuid4().hex[:8]}"
    settings = Settings(index=alias)
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    base |= {
        "NEWSFLOW_INDEX": alias,
        "NEWSFLOW_ES_URL": settings.effective_es_url,
        "NEWSFLOW_ARCHIVE_ENABLED": "false",
        # The ephemeral server's first start creates its database: minutes on a busy machine.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600",
    }
    server_port = _free_port()
    envs = {
        "local": base
        | {"NEWSFLOW_STATE_DIR": str(work / "served"), "NEWSFLOW_PREFECT_PORT": str(server_port)},
        # Nothing listens on this port: the command falls back to an ephemeral server.
        "ephemeral": base
        | {"NEWSFLOW_STATE_DIR": str(work / "alone"), "NEWSFLOW_PREFECT_PORT": str(_free_port())},
    }
    command = [NEWSFLOW, "run", "--source", str(page), "--json"]
    started = time.perf_counter()
    subprocess.run([NEWSFLOW, "prefect", "start"], env=envs["local"], check=True, cwd=ROOT)
    print(f"local Prefect server started in {time.perf_counter() - started:.1f}s")
    pid_file = work / "served" / "prefect" / "server.pid"
    servers = {"local": psutil.Process(int(pid_file.read_text())), "ephemeral": None}
    samples: dict[str, list[tuple[float, float]]] = {"ephemeral": [], "local": []}
    try:
        for kind, env in envs.items():
            wall, _ = _timed(command, env, servers[kind])
            print(f"{kind:<9} first run (not counted) {wall:6.1f}s")
        for i in range(args.runs):
            for kind, env in envs.items():
                wall, cpu = _timed(command, env, servers[kind])
                samples[kind].append((wall, cpu))
                print(f"{kind:<9} run {i + 1}: {wall:6.1f}s wall, {cpu:5.1f}s CPU")
    finally:
        subprocess.run([NEWSFLOW, "prefect", "stop"], env=envs["local"], cwd=ROOT)
        client = make_client(settings)
        client.indices.delete(index=f"{alias}-*", ignore_unavailable=True)
        client.options(ignore_status=404).indices.delete_index_template(name=f"newsflow-{alias}")
        shutil.rmtree(work, ignore_errors=True)
    median = {k: statistics.median(w for w, _ in v) for k, v in samples.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in samples.items()}
    for kind in samples:
        print(f"{kind:<9} median {median[kind]:6.1f}s wall, {cpu[kind]:5.1f}s CPU")
    print(f"run_ephemeral_s={median['ephemeral']:.1f} run_local_server_s={median['local']:.1f}")


if __name__ == "__main__":
    main()
