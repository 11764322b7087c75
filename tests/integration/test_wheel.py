"""The wheel as a user installs it: built, installed into a fresh environment, run elsewhere.

Nothing here may reach the checkout: the installed ``newsflow`` runs from other working
directories with ``PYTHONPATH`` and the ``NEWSFLOW_*`` settings of the test session removed.
Installing needs PyPI (or uv's cache); the local node it starts listens on its own port, with
its own state directory, and never touches the session's node.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsflow.cli import DEMO_CORPUS
from tests.corpora import ROOT

UV = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
PAGE = DEMO_CORPUS / "nordic-wire" / "gothenburg-port-strike.html"
LOCAL_PORT = 9250  # a second node; the session's runs on 9200


def _call(command: list[str | Path], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=600, **kwargs
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _call([UV, "build", "--wheel", "--out-dir", out, ROOT])
    [built] = out.glob("newsflow-*.whl")
    return built


@pytest.fixture(scope="module")
def newsflow(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``newsflow`` script of a fresh environment holding the wheel and its locked deps."""
    venv = tmp_path_factory.mktemp("env") / "venv"
    _call([UV, "venv", "--quiet", "--python", sys.executable, venv])
    python = venv / "bin" / "python"
    _call(
        [
            UV,
            "pip",
            "install",
            "--quiet",
            "--python",
            python,
            wheel,
            "-c",
            ROOT / "requirements.lock",
        ]
    )
    return venv / "bin" / "newsflow"


def _environment(**newsflow: str) -> dict[str, str]:
    """This process's environment without what points at the checkout or the session's node."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NEWSFLOW_", "PYTHON", "PREFECT_", "VIRTUAL_ENV"))
    }
    return kept | newsflow


def _newsflow(script: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(script), *args],
        cwd=cwd,
        env=_environment(**env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_wheel_holds_the_data_files_and_no_generic_top_level_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {name.split("/", 1)[0] for name in names} == {"newsflow", "newsflow-0.1.0.dist-info"}
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "mappings", "plugins", "newsflow/api/static"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    expected = {name if name.startswith("newsflow/") else f"newsflow/{name}" for name in tracked}
    assert {"newsflow/mappings/aliases.json", "newsflow/api/static/index.html"} <= expected
    assert any(n.startswith("newsflow/mappings/kibana/") for n in expected)
    assert any(n.endswith(".java") for n in expected)
    assert expected - names == set()


def test_installed_extract_works_from_anywhere_despite_a_top_level_transforms(newsflow, tmp_path):
    # Generic names on the path must not be picked up: these packages fail when imported.
    shadow = tmp_path / "shadow"
    for name in ("transforms", "flows"):
        (shadow / name).mkdir(parents=True)
        (shadow / name / "__init__.py").write_text(
            f"raise ImportError('the top-level {name} package was imported')\n"
        )
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(PAGE, work / "article.html")
    done = _newsflow(newsflow, "extract", "article.html", cwd=work, PYTHONPATH=str(shadow))
    assert done.returncode == 0, done.stderr
    assert "Dockworkers strike at Gothenburg" in done.stdout
    assert "person: Anders Lindgren" in done.stdout
    assert "organization: Swedish Dockworkers' Union" in done.stdout


def test_installed_state_dir_is_in_the_working_directory(newsflow, tmp_path):
    done = _newsflow(newsflow, "config", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state_dir"] == str(tmp_path / ".newsflow")


def test_installed_demo_says_the_corpus_is_not_installed(newsflow, tmp_path):
    # An unreachable cluster: the missing corpus must be said before any cluster is used.
    done = _newsflow(newsflow, "demo", cwd=tmp_path, NEWSFLOW_ES_URL="http://127.0.0.1:1")
    assert done.returncode == 2
    assert "demo corpus" in done.stderr and "--corpus" in done.stderr


@pytest.fixture
def state_dir() -> Iterator[Path]:
    # Not under pytest's 0700 tmp root: a root run starts the node as an unprivileged user.
    path = Path(tempfile.mkdtemp(prefix="newsflow-wheel-state-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_installed_es_start_status_stop_on_a_port_of_its_own(newsflow, state_dir, tmp_path):
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", LOCAL_PORT)) != 0, f"port {LOCAL_PORT} is taken"
    node = {
        "NEWSFLOW_STATE_DIR": str(state_dir),
        "NEWSFLOW_LOCAL_ES_PORT": str(LOCAL_PORT),
        "NEWSFLOW_LOCAL_ES_HEAP": "256m",
    }
    try:
        started = _newsflow(newsflow, "es", "start", cwd=tmp_path, **node)
        assert started.returncode == 0, started.stderr
        assert f"at http://127.0.0.1:{LOCAL_PORT}: healthy" in started.stdout
        status = _newsflow(newsflow, "es", "status", cwd=tmp_path, **node)
        assert status.returncode == 0 and str(state_dir) in status.stdout
    finally:
        stopped = _newsflow(newsflow, "es", "stop", cwd=tmp_path, **node)
    assert stopped.returncode == 0 and "stopped local Elasticsearch" in stopped.stdout
    after = _newsflow(newsflow, "es", "status", cwd=tmp_path, **node)
    assert after.returncode == 1 and "not running" in after.stdout
    # The analysis plugin was compiled from the sources inside the installed package.
    assert list((state_dir / "plugin-build").glob("analysis-newsflow-*.zip"))
