"""The local Prefect server's bookkeeping, without starting one: a port taken by another
program, a pid file left by a server that is gone, a server the user configured.
(tests/integration/test_scheduled.py starts and stops a real one.)"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from newsflow import prefect_local
from newsflow.settings import Settings


def _settings(tmp_path: Path, port: int) -> Settings:
    return Settings(state_dir=tmp_path, prefect_port=port)


def test_a_port_taken_by_another_program_is_refused_with_what_to_do(tmp_path: Path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        settings = _settings(tmp_path, other.getsockname()[1])
        with pytest.raises(prefect_local.LocalPrefectError, match="NEWSFLOW_PREFECT_PORT"):
            prefect_local.start(settings, log=lambda _: None)
    assert not prefect_local.paths(settings).pid_file.exists()


def test_a_pid_file_naming_another_program_is_not_a_running_server(tmp_path: Path):
    """A server that died and whose pid went to another program (this test's) after a
    reboot: not running, and stop does not signal that program."""
    settings = _settings(tmp_path, 1)
    p = prefect_local.paths(settings)
    p.home.mkdir(parents=True)
    p.pid_file.write_text(f"{os.getpid()}\n")
    current = prefect_local.status(settings)
    assert (current.running, current.healthy, current.pid) == (False, False, None)
    assert "not running" in current.describe()
    said: list[str] = []
    assert prefect_local.stop(settings, log=said.append) is False  # we are still alive
    assert said == ["local Prefect server is not running"]
    assert not p.pid_file.exists()


def test_a_server_the_user_configured_is_kept(tmp_path: Path, monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    settings = _settings(tmp_path, 1)
    with temporary_settings(updates={PREFECT_API_URL: "http://prefect.example:4200/api"}):
        api = prefect_local.choose_api(settings)
    assert api == prefect_local.PrefectApi("http://prefect.example:4200/api", "configured")
    assert "PREFECT_API_URL" not in os.environ
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert prefect_local.choose_api(settings) == prefect_local.PrefectApi(None, "ephemeral")
    assert "PREFECT_API_URL" not in os.environ
