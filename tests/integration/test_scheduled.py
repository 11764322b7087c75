"""Scheduled runs end to end, as a user runs them: the project's own Prefect server
(`newsflow prefect start`), the deployments served by `newsflow flows serve` or deployed from
prefect.yaml onto a process work pool and run by `prefect worker start`, the real
Elasticsearch node, and a news site (a sitemap and its pages) on 127.0.0.1.

Every process is a real one in its own session; what happened is read through the Prefect
server's REST API, the node and the site's request log. One server serves the module (its
start is the slow part); each test has its own alias and deletes its deployments afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from elasticsearch import Elasticsearch, NotFoundError

from newsflow.cli import DEMO_CORPUS
from newsflow.flows.deployments import CRASH_DETECTION, MISSED_HEARTBEATS
from newsflow.settings import Settings
from newsflow.transforms.models import COUNT_FIELDS
from tests.corpora import ROOT
from tests.support import news_site

BIN = Path(sys.executable).parent
NEWSFLOW, PREFECT = str(BIN / "newsflow"), str(BIN / "prefect")
PAGES = sorted(p.relative_to(DEMO_CORPUS).as_posix() for p in DEMO_CORPUS.glob("*/*.html"))
# Prefect's least heartbeat period; the crash detection waits MISSED_HEARTBEATS of them.
HEARTBEAT = 30
POLL = 2
DEPLOYMENT = "ingest/scheduled"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
RETRIED = {429, 503}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrefectServer:
    url: str
    env: dict[str, str]
    state_dir: Path

    def api(self, method: str, path: str, body: dict | None = None) -> Any:
        """One API call; 429 and 503 (the server's SQLite database busy, e.g. while it marks
        a crashed run) are retried as Prefect's own client retries them."""
        for attempt in range(6):
            response = httpx.request(method, f"{self.url}/api{path}", json=body, timeout=60)
            if response.status_code not in RETRIED or attempt == 5:
                break
            time.sleep(2**attempt)
        response.raise_for_status()
        return response.json() if response.content else None

    def runs_of(self, deployment: str) -> list[dict]:
        """Flow runs of the deployment, oldest scheduled first; none before it exists."""
        try:
            found = self.api("GET", f"/deployments/name/{deployment}")
        except httpx.HTTPStatusError as error:
            if error.response.status_code == 404:
                return []
            raise
        return self.api(
            "POST",
            "/flow_runs/filter",
            {"deployments": {"id": {"any_": [found["id"]]}}, "sort": "EXPECTED_START_TIME_ASC"},
        )

    def flow_run(self, flow_run_id: str) -> dict:
        return self.api("GET", f"/flow_runs/{flow_run_id}")


def _newsflow(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NEWSFLOW, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


@pytest.fixture(scope="module")
def prefect_server(
    base_settings: Settings, es_client: Elasticsearch, tmp_path_factory
) -> Iterator[PrefectServer]:
    """The project's server, started and stopped with its own commands, on a free port with
    its state in a temporary directory; flow runs send a heartbeat every HEARTBEAT seconds."""
    state_dir = tmp_path_factory.mktemp("state")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    for key in ("NEWSFLOW_STATE_DIR", "NEWSFLOW_INDEX", "NEWSFLOW_PREFECT_PORT"):
        env.pop(key, None)
    env |= {
        "NEWSFLOW_ES_URL": base_settings.effective_es_url,
        "NEWSFLOW_STATE_DIR": str(state_dir),
        "NEWSFLOW_PREFECT_PORT": str(port),
        "NEWSFLOW_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
        "NEWSFLOW_CPU_WORKERS": "1",  # two cores shared with the server and the node
        "PREFECT_HOME": str(state_dir / "prefect"),
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT),
        # A due run is started within POLL seconds by `flows serve` and by a worker, and a run
        # held back by the deployment's concurrency limit is tried again as soon (all 10-30 s
        # by default, which the tests would spend waiting).
        "PREFECT_RUNNER_POLL_FREQUENCY": str(POLL),
        "PREFECT_WORKER_QUERY_SECONDS": str(POLL),
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": str(POLL),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_CLI_PROMPT": "false",
    }
    started = _newsflow(env, "prefect", "start")
    assert started.returncode == 0, started.stderr
    server = PrefectServer(f"http://127.0.0.1:{port}", env, state_dir)
    try:
        yield server
    finally:
        stopped = _newsflow(env, "prefect", "stop", timeout=120)
        assert "stopped the local Prefect server" in stopped.stdout, stopped.stderr
        assert _newsflow(env, "prefect", "status").returncode == 1


@pytest.fixture
def server(prefect_server: PrefectServer) -> Iterator[PrefectServer]:
    """The module's server; the deployments a test made are deleted after it."""
    yield prefect_server
    for deployment in prefect_server.api("POST", "/deployments/filter", {}):
        prefect_server.api("DELETE", f"/deployments/{deployment['id']}")


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A long-running process in its own session, stopped (SIGTERM, then SIGKILL) after."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def _serve(server: PrefectServer, env: dict[str, str], source: str, every: int, log: Path):
    command = [NEWSFLOW, "flows", "serve", "--source", source, "--ingest-every", str(every)]
    return _process(command, env, log)


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def _wait(check: Callable[[], Any], timeout: float, what: str, log: Path) -> Any:
    """``check()`` until it returns something true; fails with ``what`` and the log's end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1.0)
    pytest.fail(f"{what} not within {timeout:.0f}s; last lines of {log}:\n{_tail(log)}")


def _completed_runs(server: PrefectServer, n: int, log: Path, after: float = 0) -> list[dict]:
    """The first ``n`` runs of the ingest deployment scheduled after ``after`` (epoch s), once
    all of them completed; fails as soon as one of them ends otherwise."""

    def check() -> list[dict] | None:
        runs = [r for r in server.runs_of(DEPLOYMENT) if _epoch(r["expected_start_time"]) > after]
        done = [r for r in runs if r["state_type"] in FINAL][:n]
        for r in done:
            assert r["state_type"] == "COMPLETED", (r["state"], _tail(log))
        return done if len(done) == n else None

    return _wait(check, 900, f"{n} completed runs of {DEPLOYMENT}", log)


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


def _summaries(es: Elasticsearch, alias: str) -> dict[str, dict]:
    """Run summaries recorded in the runs index, by Prefect flow run id."""
    es.indices.refresh(index=f"{alias}-runs")
    hits = es.search(index=f"{alias}-runs", size=100)["hits"]["hits"]
    return {h["_source"]["prefect_flow_run_id"]: h["_source"]["summary"] for h in hits}


def _artifact(server: PrefectServer, flow_run_id: str) -> str:
    """The ``ingest-summary`` Markdown artifact of a flow run, read through the API."""
    found = server.api(
        "POST",
        "/artifacts/filter",
        {
            "artifacts": {
                "key": {"any_": ["ingest-summary"]},
                "flow_run_id": {"any_": [flow_run_id]},
            }
        },
    )
    assert [a["type"] for a in found] == ["markdown"], found
    return found[0]["data"]


def _count_row(summary: dict) -> str:
    return "| " + " | ".join(str(summary[name]) for name in COUNT_FIELDS) + " |"


def _count(es: Elasticsearch, alias: str) -> int:
    try:
        es.indices.refresh(index=alias)
        return es.count(index=alias)["count"]
    except NotFoundError:
        return 0


def _assert_each_article_once(es: Elasticsearch, alias: str, urls: list[str]) -> None:
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, size=len(urls) + 10, source=["url"])["hits"]["hits"]
    assert sorted(h["_source"]["url"] for h in hits) == sorted(urls)


def _check_schedule_result(
    server: PrefectServer, es: Elasticsearch, alias: str, site, runs: list[dict]
) -> None:
    """What both ways of scheduling must give: the first run indexed the site's pages, the
    second found the sitemap unchanged (304) and fetched nothing; each run's summary is
    recorded and published as its ingest-summary artifact."""
    # In the order they ran: a runner that polls late finds both runs due, and the limit of one
    # run at a time may let the later-scheduled one go first.
    ran = sorted(runs, key=lambda r: _epoch(r["start_time"]))
    first, second = (_summaries(es, alias)[r["id"]] for r in ran)
    assert first["failures"] == []
    assert (first["article_fetches"], first["indexed"]) == (len(site.pages), len(site.pages))
    assert (second["article_fetches"], second["fetched"], second["indexed"]) == (0, 0, 0)
    assert second["not_modified"] == 1
    # What the site saw: each page requested once, by the first run.
    assert sorted(site.article_requests) == sorted(f"/{p}" for p in site.pages)
    _assert_each_article_once(es, alias, site.page_urls())
    for run, summary in zip(runs, (first, second), strict=True):
        markdown = _artifact(server, run["id"])
        assert summary["run_id"] in markdown
        assert _count_row(summary) in markdown


def test_a_second_start_says_so_and_the_server_marks_silent_runs_crashed(
    prefect_server: PrefectServer,
):
    pid = (prefect_server.state_dir / "prefect" / "server.pid").read_text().strip()
    again = _newsflow(prefect_server.env, "prefect", "start")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr
    assert (prefect_server.state_dir / "prefect" / "server.pid").read_text().strip() == pid
    status = _newsflow(prefect_server.env, "prefect", "status")
    assert status.returncode == 0
    assert f"{prefect_server.url}: healthy, pid {pid}" in status.stdout
    assert prefect_server.api("GET", "/health") is True
    # The UI in a browser calls this server's API, whatever its port.
    ui = httpx.get(f"{prefect_server.url}/ui-settings", timeout=60).json()
    assert ui["api_url"] == f"{prefect_server.url}/api"
    # The automation a self-hosted server lacks: a run that stopped sending heartbeats is
    # marked Crashed after MISSED_HEARTBEATS periods.
    automations = prefect_server.api("POST", "/automations/filter", {})
    (crash,) = [a for a in automations if a["name"] == CRASH_DETECTION]
    assert crash["trigger"]["after"] == ["prefect.flow-run.heartbeat"]
    assert crash["trigger"]["within"] == MISSED_HEARTBEATS * HEARTBEAT
    assert [a["state"] for a in crash["actions"]] == ["CRASHED"]


def test_newsflow_run_sends_its_flow_run_to_the_local_server(
    server: PrefectServer, es_client: Elasticsearch, index_alias: str, tmp_path: Path
):
    """A command started while the project's server runs uses it, not a temporary server:
    the run, its task runs and its ingest-summary artifact are there, and the command
    prints the run's page in the UI."""
    env = server.env | {"NEWSFLOW_INDEX": index_alias}
    (tmp_path / "pages").mkdir()
    shutil.copy(DEMO_CORPUS / PAGES[-1], tmp_path / "pages")
    started = time.monotonic()
    ran = _newsflow(env, "run", "--source", str(tmp_path / "pages"), "--json")
    print(f"newsflow run, one page, on the local server: {time.monotonic() - started:.1f}s")
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["indexed"] == 1
    assert "Prefect: the local server" in ran.stderr
    link = re.search(rf"{re.escape(server.url)}/runs/flow-run/([0-9a-f-]{{36}})", ran.stderr)
    assert link, ran.stderr
    flow_run = server.flow_run(link[1])
    assert flow_run["state_type"] == "COMPLETED"
    assert _summaries(es_client, index_alias)[flow_run["id"]]["run_id"] == summary["run_id"]
    tasks = server.api(
        "POST", "/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run["id"]]}}}
    )
    names = {t["name"].rsplit("-", 1)[0] for t in tasks}
    assert {"prepare-index", "discover", "fetch", "transform", "load"} <= names, names
    assert _count_row(summary) in _artifact(server, flow_run["id"])
    # Its log is on the server, from INFO up; the terminal showed none of it.
    logs = server.api("POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run["id"]]}}})
    done = f"ingest run {summary['run_id']} done: 1 discovered, 1 indexed"
    assert any(done in entry["message"] for entry in logs), [e["message"] for e in logs]
    assert done not in ran.stderr
    page = httpx.get(link[0], headers={"Accept": "text/html"}, timeout=60)
    assert page.status_code == 200 and "<html" in page.text  # the UI serves the run's page


def test_served_deployments_run_on_schedule_and_the_next_run_fetches_nothing(
    server: PrefectServer, es_client: Elasticsearch, index_alias: str, tmp_path: Path
):
    env = server.env | {"NEWSFLOW_INDEX": index_alias}
    log = tmp_path / "serve.log"
    started = time.monotonic()
    with news_site(PAGES[:4]) as site, _serve(server, env, site.sitemap_url, 8, log):
        runs = _completed_runs(server, 2, log)
    print(f"serve: two scheduled runs in {time.monotonic() - started:.0f}s")
    _check_schedule_result(server, es_client, index_alias, site, runs)


def test_prefect_yaml_deployed_to_a_process_pool_runs_on_a_worker(
    server: PrefectServer, es_client: Elasticsearch, index_alias: str, tmp_path: Path
):
    env = server.env | {"NEWSFLOW_INDEX": index_alias, "PREFECT_API_URL": f"{server.url}/api"}
    log = tmp_path / "worker.log"
    started = time.monotonic()

    def prefect(*args: str) -> None:
        done = subprocess.run(
            [PREFECT, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    pools = {p["name"] for p in server.api("POST", "/work_pools/filter", {})}
    if "newsflow" not in pools:
        prefect("work-pool", "create", "newsflow", "--type", "process")
    with news_site(PAGES[4:8]) as site:
        # The project's prefect.yaml as it is; only the sources and a short interval added.
        prefect(
            "deploy",
            "--prefect-file",
            str(ROOT / "prefect.yaml"),
            "--name",
            DEPLOYMENT,
            "--interval",
            "8",
            "--params",
            json.dumps({"sources": [site.sitemap_url]}),
        )
        stored = server.api("GET", f"/deployments/name/{DEPLOYMENT}")
        assert stored["work_pool_name"] == "newsflow"
        assert stored["entrypoint"] == "newsflow.flows.ingest:ingest"
        with _process([PREFECT, "worker", "start", "--pool", "newsflow"], env, log):
            runs = _completed_runs(server, 2, log)
    print(f"worker: deploy and two scheduled runs in {time.monotonic() - started:.0f}s")
    _check_schedule_result(server, es_client, index_alias, site, runs)


def _flow_run_process(parent: int, flow_run_id: str) -> psutil.Process | None:
    """The process running the flow run: a descendant of ``parent`` with its id in its
    environment (how Prefect hands the run to the process it starts)."""
    for proc in psutil.Process(parent).children(recursive=True):
        try:
            if proc.environ().get("PREFECT__FLOW_RUN_ID") == flow_run_id:
                return proc
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return None


def _running_run(server: PrefectServer, log: Path) -> dict:
    def check() -> dict | None:
        running = [r for r in server.runs_of(DEPLOYMENT) if r["state_type"] == "RUNNING"]
        return running[0] if running else None

    return _wait(check, 600, f"a running run of {DEPLOYMENT}", log)


def _kill_midway(
    es: Elasticsearch, alias: str, total: int, run: dict, server: PrefectServer, kill, log: Path
) -> int:
    """Wait until the run has indexed some but not all articles, call ``kill``, and return
    how many articles the node holds once what was in flight has landed."""

    def some_indexed() -> bool:
        assert server.flow_run(run["id"])["state_type"] == "RUNNING", _tail(log)
        return _count(es, alias) > 0

    _wait(some_indexed, 600, "the first articles of the run", log)
    assert _count(es, alias) < total, "the run indexed everything before it could be killed"
    assert server.flow_run(run["id"])["state_type"] == "RUNNING"
    kill()
    time.sleep(3)  # a bulk request the node had received is still applied
    partial = _count(es, alias)
    assert 0 < partial < total
    return partial


def _check_completed_after_crash(
    server: PrefectServer, es: Elasticsearch, alias: str, site, crashed: dict, partial: int, log
) -> None:
    """The next run after the crashed one completes the work, each article indexed once."""
    (after,) = _completed_runs(server, 1, log, after=_epoch(crashed["expected_start_time"]))
    summary = _summaries(es, alias)[after["id"]]
    assert summary["failures"] == []
    # The crashed run's validators were never saved: the sitemap is read again in full, and
    # what the crashed run had indexed is found in the index, not loaded again.
    assert summary["already_indexed"] == partial
    assert summary["indexed"] == len(site.pages) - partial
    _assert_each_article_once(es, alias, site.page_urls())


def test_a_run_whose_process_is_killed_is_crashed_and_the_next_run_completes_it(
    server: PrefectServer, es_client: Elasticsearch, index_alias: str, tmp_path: Path
):
    """SIGKILL the flow run's process: the serving process, which started it, marks the run
    Crashed at once; its worker processes go with it; the next scheduled run finishes."""
    env = server.env | {"NEWSFLOW_INDEX": index_alias, "NEWSFLOW_BATCH_SIZE": "2"}
    log = tmp_path / "serve.log"
    pages = PAGES[8:20]
    started = time.monotonic()
    with news_site(pages, delay=1.0) as site, _serve(server, env, site.sitemap_url, 10, log) as sp:
        run = _running_run(server, log)
        proc = _wait(lambda: _flow_run_process(sp.pid, run["id"]), 60, "its process", log)
        children = proc.children(recursive=True)
        partial = _kill_midway(es_client, index_alias, len(pages), run, server, proc.kill, log)
        site.delay = 0.0  # slow only to keep the killed run going: the next one need not be
        crashed = _wait(
            lambda: (r := server.flow_run(run["id"]))["state_type"] == "CRASHED" and r,
            60,
            "the killed run marked Crashed",
            log,
        )
        print(f"killed with {partial} of {len(pages)} indexed: {crashed['state']['message']}")
        assert "-9" in crashed["state"]["message"], crashed["state"]
        _, alive = psutil.wait_procs(children, timeout=60)
        for leftover in alive:
            leftover.kill()
        assert alive == [], "processes of the killed run were left running"
        _check_completed_after_crash(server, es_client, index_alias, site, crashed, partial, log)
    print(f"killed run: crashed, then completed by the next in {time.monotonic() - started:.0f}s")


def test_a_run_whose_machine_dies_is_crashed_by_its_missing_heartbeats(
    server: PrefectServer, es_client: Elasticsearch, index_alias: str, tmp_path: Path
):
    """SIGKILL the serving process with the flow run's (a machine or container gone): nothing
    is left to report the crash, the run's heartbeats stop, and the project's automation marks
    it Crashed, also when the deployments are served again at once (a restarted container,
    which installs the automation again); the next scheduled run then finishes the work."""
    env = server.env | {"NEWSFLOW_INDEX": index_alias, "NEWSFLOW_BATCH_SIZE": "2"}
    log = tmp_path / "serve.log"
    pages = PAGES[20:32]
    started = time.monotonic()
    with news_site(pages, delay=1.0) as site:
        with _serve(server, env, site.sitemap_url, 10, log) as sp:
            run = _running_run(server, log)
            partial = _kill_midway(
                es_client,
                index_alias,
                len(pages),
                run,
                server,
                lambda: os.killpg(sp.pid, signal.SIGKILL),
                log,
            )
            sp.wait(timeout=30)
        site.delay = 0.0  # slow only to keep the killed run going: the next one need not be
        assert server.flow_run(run["id"])["state_type"] == "RUNNING"  # nobody said otherwise
        killed_at = time.monotonic()
        with _serve(server, env, site.sitemap_url, 10, log):
            crashed = _wait(
                lambda: (r := server.flow_run(run["id"]))["state_type"] == "CRASHED" and r,
                (MISSED_HEARTBEATS + 2) * HEARTBEAT,
                "the silent run marked Crashed",
                log,
            )
            print(
                f"heartbeats: {partial} of {len(pages)} indexed, marked Crashed "
                f"{time.monotonic() - killed_at:.0f}s after the kill: "
                f"{crashed['state']['message']}"
            )
            assert "heartbeat" in crashed["state"]["message"]
            _check_completed_after_crash(
                server, es_client, index_alias, site, crashed, partial, log
            )
    print(f"machine died: crashed, then completed in {time.monotonic() - started:.0f}s")
