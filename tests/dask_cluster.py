"""A Dask cluster of separate OS processes for the runner tests: ``dask scheduler`` and
``dask worker`` commands, as a user starts them on their machines (docs/scaling.md).

Everything listens on 127.0.0.1 on ports chosen by the system. Each worker has a working
directory, temporary directory, Prefect home and newsflow state directory of its own, as it
would on a machine of its own; they share this machine's file system all the same. Each
command runs in a process group of its own, so a worker (nanny and worker process) can be
killed at once as a lost machine would be; every process is stopped when the context ends,
whatever happened in it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

DASK = str(Path(sys.executable).with_name("dask"))
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


@dataclass
class DaskCluster:
    address: str
    root: Path
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)  # by worker name

    def kill_worker(self, name: str) -> None:
        """SIGKILL a worker's nanny and worker process at once (a machine that is lost)."""
        process = self.workers[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")


def _start(command: list[str], cwd: Path, log: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg reaches the nanny's child
        )


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(STOP_TIMEOUT)
            break
        except subprocess.TimeoutExpired:
            continue
    # The group may outlive its leader (a worker process whose nanny died first).
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _scheduler_address(scheduler_file: Path, scheduler: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if scheduler.poll() is not None:
            raise RuntimeError(f"dask scheduler exited {scheduler.returncode}:\n{log.read_text()}")
        with suppress(FileNotFoundError, json.JSONDecodeError):
            return json.loads(scheduler_file.read_text())["address"]
        time.sleep(0.2)
    raise TimeoutError(f"dask scheduler did not start in {START_TIMEOUT:.0f} s:\n{log.read_text()}")


@contextmanager
def dask_cluster(n_workers: int = 2) -> Iterator[DaskCluster]:
    """A scheduler and ``n_workers`` single-thread workers (``w0``, ``w1``, ...), all up."""
    from distributed import Client

    root = Path(tempfile.mkdtemp(prefix="newsflow-dask-"))
    processes: list[subprocess.Popen] = []
    try:
        scheduler_file = root / "scheduler.json"
        command = [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0"]
        command += ["--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file)]
        processes.append(_start(command, root, root / "scheduler.log", dict(os.environ)))
        address = _scheduler_address(scheduler_file, processes[0], root / "scheduler.log")
        cluster = DaskCluster(address, root)
        for i in range(n_workers):
            name = f"w{i}"
            home = root / name
            for sub in ("tmp", "prefect", "state"):
                (home / sub).mkdir(parents=True)
            env = {
                **os.environ,
                "TMPDIR": str(home / "tmp"),
                "PREFECT_HOME": str(home / "prefect"),
                "NEWSFLOW_STATE_DIR": str(home / "state"),
            }
            command = [DASK, "worker", address, "--nthreads", "1", "--name", name]
            command += ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"]
            worker = _start(command, home, root / f"{name}.log", env)
            processes.append(worker)
            cluster.workers[name] = worker
        with Client(address, timeout=START_TIMEOUT) as client:
            client.wait_for_workers(n_workers, timeout=START_TIMEOUT)
        yield cluster
    finally:
        for process in reversed(processes):
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)
