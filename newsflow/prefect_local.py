"""The project's own Prefect server, for the demo, the command line and the tests.

``prefect server start`` runs in the background on 127.0.0.1:``prefect_port`` with its home
(the SQLite database of flow runs, task runs, logs and artifacts) in ``<state_dir>/prefect``
and its log in ``<state_dir>/prefect/server.log``. Commands that run flows use it when it
answers and the user has chosen no other server: a run then skips the start of Prefect's
throw-away ephemeral server and stays visible in the UI with its task runs and artifacts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from newsflow.processes import port_open, read_pid, stop_group, tail
from newsflow.settings import Settings

# A pid file naming a process whose command line lacks this is not our server.
COMMAND_MARK = "prefect server start"


class LocalPrefectError(RuntimeError):
    """The local Prefect server cannot be started or stopped; the message says why."""


@dataclass(frozen=True)
class PrefectApi:
    """The Prefect API flows report to; ``url`` None: an ephemeral server of this process."""

    url: str | None
    source: Literal["configured", "local", "ephemeral"]


@dataclass(frozen=True)
class Paths:
    home: Path
    pid_file: Path
    log_file: Path


@dataclass(frozen=True)
class ServerStatus:
    url: str
    running: bool
    pid: int | None
    healthy: bool
    version: str | None
    home: Path
    log_file: Path

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def describe(self) -> str:
        if not self.running:
            return f"local Prefect server: not running (home {self.home})"
        return (
            f"local Prefect server {self.version or '?'} at {self.url}: "
            f"{'healthy' if self.healthy else 'NOT answering'}, "
            f"pid {self.pid}, home {self.home}, log {self.log_file}"
        )


def paths(settings: Settings) -> Paths:
    home = settings.prefect_home
    return Paths(home=home, pid_file=home / "server.pid", log_file=home / "server.log")


def server_url(settings: Settings) -> str:
    """Where the UI is; the API is under ``/api``."""
    return f"http://127.0.0.1:{settings.prefect_port}"


def _get(url: str, timeout: float = 2.0) -> object | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def status(settings: Settings) -> ServerStatus:
    """Whether the project's server runs (its pid file names a live process) and answers."""
    p = paths(settings)
    url = server_url(settings)
    pid = read_pid(p.pid_file, COMMAND_MARK)
    healthy = pid is not None and _get(f"{url}/api/health") is True
    version = _get(f"{url}/api/admin/version") if healthy else None
    return ServerStatus(
        url=url,
        running=pid is not None,
        pid=pid,
        healthy=healthy,
        version=version if isinstance(version, str) else None,
        home=p.home,
        log_file=p.log_file,
    )


def _server_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    # The UI in the browser asks the API at PREFECT_UI_API_URL, which Prefect otherwise
    # derives from PREFECT_API_URL or PREFECT_SERVER_API_PORT, not from `--port`: on any port
    # but 4200 the UI would call another server, or none.
    return env | {
        "PREFECT_HOME": str(settings.prefect_home),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(settings.prefect_port),
        "PREFECT_UI_API_URL": f"{server_url(settings)}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def start(settings: Settings, timeout: float = 180.0, log=print) -> ServerStatus:
    """Start the server unless it runs; wait until its API answers."""
    current = status(settings)
    if current.healthy:
        log(f"already running: {current.describe()}")
        return current
    if current.pid is not None:
        log(f"local Prefect server (pid {current.pid}) is starting; waiting for it")
        return _wait_healthy(settings, current.pid, timeout)
    if port_open(settings.prefect_port):
        raise LocalPrefectError(
            f"port {settings.prefect_port} is taken by another program (not this project's "
            f"server, whose pid file is {paths(settings).pid_file}); set NEWSFLOW_PREFECT_PORT "
            "to another port"
        )
    p = paths(settings)
    p.home.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(settings.prefect_port),
    ]
    log(f"starting the Prefect server on {server_url(settings)} (home {p.home}, log {p.log_file})")
    with p.log_file.open("ab") as out:
        # A new session keeps it alive after the shell that started it exits.
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_server_env(settings),
            start_new_session=True,
            cwd=p.home,
        )
    p.pid_file.write_text(f"{proc.pid}\n")
    return _wait_healthy(settings, proc.pid, timeout, proc)


def _wait_healthy(
    settings: Settings, pid: int, timeout: float, proc: subprocess.Popen | None = None
) -> ServerStatus:
    p = paths(settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            p.pid_file.unlink(missing_ok=True)
            raise LocalPrefectError(
                f"the Prefect server exited with code {proc.returncode} during start-up. "
                f"Last lines of {p.log_file}:\n{tail(p.log_file)}"
            )
        current = status(settings)
        if current.healthy:
            return current
        time.sleep(1.0)
    raise LocalPrefectError(
        f"the Prefect server (pid {pid}) did not answer within {timeout:.0f}s. "
        f"Last lines of {p.log_file}:\n{tail(p.log_file)}"
    )


def stop(settings: Settings, timeout: float = 30.0, log=print) -> bool:
    """Stop the server; return False when it was not running. Its database stays."""
    p = paths(settings)
    pid = read_pid(p.pid_file, COMMAND_MARK)
    if pid is None:
        p.pid_file.unlink(missing_ok=True)
        log("local Prefect server is not running")
        return False
    if stop_group(pid, p.pid_file, timeout, COMMAND_MARK):
        log(f"stopped the local Prefect server (pid {pid})")
    else:
        log(f"the local Prefect server (pid {pid}) did not stop within {timeout:.0f}s; killed it")
    p.pid_file.unlink(missing_ok=True)
    return True


def choose_api(settings: Settings) -> PrefectApi:
    """Point Prefect, in this process and the ones it starts, at the project's server when it
    answers and no server is configured (PREFECT_API_URL in the environment, the Prefect
    profile or prefect.toml); otherwise leave Prefect as it is. Says which server runs the
    flows: the configured one, the local one, or an ephemeral one started per command."""
    from prefect.context import refresh_global_settings_context
    from prefect.settings import get_current_settings

    configured = get_current_settings().api.url
    if configured:
        return PrefectApi(configured, "configured")
    current = status(settings)
    if not current.healthy:
        return PrefectApi(None, "ephemeral")
    os.environ["PREFECT_API_URL"] = current.api_url
    refresh_global_settings_context()  # Prefect read its settings when it was imported
    return PrefectApi(current.api_url, "local")
