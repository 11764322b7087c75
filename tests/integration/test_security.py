"""Index security against a real secured node: TLS + a least-privilege file-realm user, clear
auth and TLS failures, API-key headers, and credentials that never reach logs or Prefect state.

The node (tests/secure_node.py) runs on 127.0.0.1:9201 beside the main test node. API keys live
in the ``.security`` index, which this distribution cannot create, so API-key auth is checked
against a local server that records request headers and answers 401.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from elasticsearch import AuthorizationException
from pydantic import ValidationError

from newsflow.cli import DEMO_CORPUS
from newsflow.corpus_server import page_urls
from newsflow.settings import Settings
from newsflow.store.client import (
    ClusterUnavailable,
    check_cluster,
    explain_error,
    make_client,
    redact_url,
)
from tests.secure_node import SecureNode, secure_node

NEWSFLOW = [sys.executable, "-m", "newsflow"]
USERNAME = "newsflow"
PASSWORD = f"canary-pw-{secrets.token_hex(8)}"
WRONG_PASSWORD = f"{PASSWORD}-wrong"  # contains the canary, so one scan finds both
API_KEY_SECRET = f"canary-key-{secrets.token_hex(8)}"
API_KEY = base64.b64encode(f"canary-id:{API_KEY_SECRET}".encode()).decode()
# Every form a credential could be written in: as given, or as sent in a header.
CANARIES = {
    "password": PASSWORD,
    "basic-auth header": base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode(),
    "wrong basic-auth header": base64.b64encode(f"{USERNAME}:{WRONG_PASSWORD}".encode()).decode(),
    "API key": API_KEY,
    "API key secret": API_KEY_SECRET,
}
PAGES = 6


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    state_dir: Path


@dataclass(frozen=True)
class Secured:
    node: SecureNode
    recorder_url: str
    recorded: list[dict[str, str]]  # headers of every request the recorder got
    index: str
    runs: dict[str, Run]  # "ok", "bad-password", "api-key"


class _Deny401(BaseHTTPRequestHandler):
    """Answers every request as Elasticsearch does a bad credential, recording its headers."""

    protocol_version = "HTTP/1.1"
    recorded: list[dict[str, str]]  # header names lower-cased: clients differ in case

    def log_message(self, format, *args):
        pass

    def _deny(self):
        self.recorded.append({k.lower(): v for k, v in self.headers.items()})
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps(
            {
                "error": {
                    "type": "security_exception",
                    "reason": "unable to authenticate with provided credentials",
                },
                "status": 401,
            }
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("WWW-Authenticate", "ApiKey")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _deny


@contextmanager
def _recorder() -> Iterator[tuple[str, list[dict[str, str]]]]:
    recorded: list[dict[str, str]] = []
    handler = type("Handler", (_Deny401,), {"recorded": recorded})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorded
    finally:
        server.shutdown()
        server.server_close()


def _env(state_dir: Path, **newsflow: str) -> dict[str, str]:
    """The environment of a user who set only these NEWSFLOW_* variables.

    No PREFECT_* from the test session: PREFECT_HOME then lands in <state_dir>/prefect, where
    the leak scan looks, and INFO puts every run log into Prefect's database too.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSFLOW_", "PREFECT_"))}
    env |= {f"NEWSFLOW_{k.upper()}": v for k, v in newsflow.items()}
    return env | {
        "NEWSFLOW_STATE_DIR": str(state_dir),
        "NEWSFLOW_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",  # the pages come from a local site
        "PREFECT_LOGGING_LEVEL": "INFO",
        # Three of these start side by side with the node; 120 s is tight on a busy 2-core box.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
    }


def _start_run(state_dir: Path, listing: Path, **newsflow: str) -> subprocess.Popen:
    state_dir.mkdir(parents=True)
    return subprocess.Popen(
        [*NEWSFLOW, "run", "--source", str(listing), "--json"],
        env=_env(state_dir, **newsflow),
        cwd=state_dir,  # no stray newsflow.yaml from the checkout
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _cli(args: list[str], state_dir: Path, **newsflow: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*NEWSFLOW, *args],
        env=_env(state_dir, **newsflow),
        cwd=state_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def secured(site: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """The node, the 401 recorder and three `newsflow run`s, each started once, overlapped.

    Each run spends most of its time starting Prefect, the failing two also ~17 s in
    prepare-index's retry delays; the API-key run needs no node, so it starts first. If the
    node does not start, every test here fails with its log tail.
    """
    tmp = tmp_path_factory.mktemp("security")
    listing = tmp / "urls.txt"
    listing.write_text("\n".join(page_urls(DEMO_CORPUS, site)[:PAGES]) + "\n")
    index = f"test-{uuid.uuid4().hex[:10]}"
    with ExitStack() as stack:
        recorder_url, recorded = stack.enter_context(_recorder())
        procs = {
            "api-key": _start_run(
                tmp / "api-key", listing, es_url=recorder_url, es_api_key=API_KEY, index=index
            )
        }
        stack.callback(lambda: [_kill(p) for p in procs.values()])
        node = stack.enter_context(secure_node(PASSWORD, username=USERNAME))
        tls = {"es_url": node.url, "es_ca_certs": str(node.ca_certs), "index": index}
        for name, password in (("ok", PASSWORD), ("bad-password", WRONG_PASSWORD)):
            procs[name] = _start_run(
                tmp / name, listing, es_username=USERNAME, es_password=password, **tls
            )
        runs = {}
        for name, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=300)
            runs[name] = Run(proc.returncode, stdout, stderr, tmp / name)
        yield Secured(node, recorder_url, recorded, index, runs)


def _settings(secured: Secured, **update) -> Settings:
    base = {
        "es_url": secured.node.url,
        "es_api_key": None,  # it would win over the user, should the environment set one
        "es_username": USERNAME,
        "es_password": PASSWORD,
        "es_ca_certs": secured.node.ca_certs,
        "index": secured.index,
    }
    return Settings(**(base | update))


def _found(data: bytes) -> list[str]:
    """Which canaries ``data`` holds, by name (never the canary itself)."""
    return [name for name, canary in CANARIES.items() if canary.encode() in data]


def _unusable(settings: Settings) -> str:
    """The message of the ``ClusterUnavailable`` that checking this cluster raises."""
    with pytest.raises(ClusterUnavailable) as caught:
        check_cluster(make_client(settings), settings.effective_es_url)
    return str(caught.value)


def test_pipeline_runs_over_tls_as_a_least_privileged_user(secured: Secured):
    ok = secured.runs["ok"]
    assert ok.returncode == 0, ok.stderr[-3000:]
    summary = json.loads(ok.stdout)
    assert (summary["discovered"], summary["indexed"], summary["failures"]) == (PAGES, PAGES, [])
    client = make_client(_settings(secured))
    assert client.count(index=secured.index)["count"] == PAGES


def test_pipeline_user_can_do_nothing_else(secured: Secured):
    client = make_client(_settings(secured))
    forbidden = {
        "delete its own index": lambda: client.indices.delete(index=f"{secured.index}-v1"),
        "create an index outside test-*": lambda: client.indices.create(index="other-index"),
        "change cluster settings": lambda: client.cluster.put_settings(
            persistent={"cluster.routing.allocation.enable": "all"}
        ),
    }
    for what, call in forbidden.items():
        with pytest.raises(AuthorizationException) as caught:
            call()
        assert explain_error(caught.value).startswith("permission denied (HTTP 403: "), what


def test_bad_password_fails_with_a_clear_message(secured: Secured, tmp_path: Path):
    url = secured.node.url
    expected = f"Elasticsearch at {url} is not usable: authentication failed (HTTP 401); "
    assert _unusable(_settings(secured, es_password=WRONG_PASSWORD)).startswith(expected)

    bad_run = secured.runs["bad-password"]
    assert bad_run.returncode != 0
    assert expected in " ".join(bad_run.stderr.split())  # rich wraps long lines

    search = _cli(
        ["search", "x"],
        tmp_path,
        es_url=url,
        es_ca_certs=str(secured.node.ca_certs),
        es_username=USERNAME,
        es_password=WRONG_PASSWORD,
    )
    assert search.returncode == 1
    assert " ".join(search.stderr.split()).startswith(f"error: {expected}")
    assert "Traceback" not in search.stderr
    assert _found((search.stdout + search.stderr).encode()) == []


def test_unknown_ca_fails_with_a_clear_message(secured: Secured, tmp_path: Path):
    url = secured.node.url
    expected = (
        f"Elasticsearch at {url} is not usable: TLS certificate verify failed: "
        "unable to get local issuer certificate (unknown CA); set NEWSFLOW_ES_CA_CERTS"
    )
    assert _unusable(_settings(secured, es_ca_certs=secured.node.other_ca_certs)).startswith(
        expected
    )
    # No CA configured: the system store does not know the node's private CA either.
    assert _unusable(_settings(secured, es_ca_certs=None)).startswith(expected)

    search = _cli(
        ["search", "x"],
        tmp_path,
        es_url=url,
        es_ca_certs=str(secured.node.other_ca_certs),
        es_username=USERNAME,
        es_password=PASSWORD,
    )
    assert search.returncode == 1
    assert " ".join(search.stderr.split()).startswith(f"error: {expected}")
    assert "Traceback" not in search.stderr


def test_a_password_inside_the_url_is_refused_and_not_repeated():
    url = f"http://{USERNAME}:{PASSWORD}@127.0.0.1:1"
    with pytest.raises(ValidationError) as info:
        Settings(es_url=url, es_api_key=None)
    reasons = "; ".join(e["msg"] for e in info.value.errors())
    assert "must not hold credentials" in reasons
    assert _found(reasons.encode()) == []
    # Should a URL with credentials reach the client anyway, errors mask the password.
    assert redact_url(url) == f"http://{USERNAME}:***@127.0.0.1:1"


def test_api_key_is_sent_as_an_apikey_authorization_header(secured: Secured):
    header = f"ApiKey {API_KEY}"
    # The CLI run sent it on every attempt of prepare-index, and failed saying why.
    run = secured.runs["api-key"]
    assert secured.recorded, run.stderr[-3000:]
    assert {h.get("authorization") for h in secured.recorded} == {header}
    expected = (
        f"Elasticsearch at {secured.recorder_url} is not usable: authentication failed "
        "(HTTP 401); check NEWSFLOW_ES_USERNAME and NEWSFLOW_ES_PASSWORD, or NEWSFLOW_ES_API_KEY"
    )
    assert run.returncode != 0
    assert expected in " ".join(run.stderr.split())

    before = len(secured.recorded)
    assert _unusable(Settings(es_url=secured.recorder_url, es_api_key=API_KEY)) == expected
    sent = secured.recorded[before:]
    assert sent and all(h.get("authorization") == header for h in sent)


def test_credentials_never_reach_output_logs_or_prefect_state(secured: Secured):
    leaks: list[str] = []
    for name, run in secured.runs.items():
        # The good run went through Prefect; the failing ones stop at the cluster check,
        # before any flow run is recorded.
        db = run.state_dir / "prefect" / "prefect.db"
        assert db.is_file() == (run.returncode == 0), f"{name}: Prefect's database"
        leaks += [f"{name} stdout: {what}" for what in _found(run.stdout.encode())]
        leaks += [f"{name} stderr: {what}" for what in _found(run.stderr.encode())]
        scanned = b""
        for path in sorted(run.state_dir.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                scanned += data
                leaks += [f"{path}: {what}" for what in _found(data)]
        if run.returncode == 0:
            # The scan saw the run's records (SQLite, its WAL, logs), not an empty home.
            assert b"prepare-index" in scanned, f"{name}: {run.stderr[-3000:]}"
        else:
            assert "authentication failed" in " ".join(run.stderr.split()), name
    # Names the file and the form only: the assertion message must not print the canary.
    assert leaks == []


def test_failed_runs_print_the_reason_without_a_traceback(secured: Secured):
    for name in ("bad-password", "api-key"):
        stderr = secured.runs[name].stderr
        assert "Traceback" not in stderr and "╭" not in stderr, name
        assert "error: Elasticsearch at " in stderr, name
