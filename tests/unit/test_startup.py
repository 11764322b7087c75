"""What a command imports before it does anything: `newsflow extract` must not pay for Prefect
(seconds of start-up on this machine) nor for scipy (datasketch used to pull it in); how the
console script ends: threads and exit handlers first, then out without the teardown."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time

import pytest

# Everything `newsflow extract` imports on its way to the first page.
EXTRACT_PATH = """
import json, sys
import newsflow.cli
from newsflow.cli import extract
from newsflow.options import fetch_options
from newsflow.transforms.batch.transform import transform_pages
from newsflow.transforms.enrich.stories import StoryClusters, assign_documents, signature
from newsflow.transforms.fetch.download import fetch_pages
signature("one two three four five six seven eight nine ten eleven twelve thirteen")
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_extract_path_imports_neither_prefect_nor_scipy():
    # A fresh interpreter: this test process has imported whatever other tests needed.
    done = subprocess.run(
        [sys.executable, "-c", EXTRACT_PATH], capture_output=True, text=True, check=True
    )
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "newsflow" in modules
    assert not modules & {"prefect", "datasketch", "scipy"}


# What the flow process of `newsflow run` imports and does with stories: it reads the workers'
# signatures back, clusters them and indexes their keys, and computes none.
FLOW_PATH = """
import json, sys
import newsflow.cli.run, newsflow.flows.ingest
from newsflow.transforms.enrich.stories import StoryClusters, StoryMember, assign_documents
docs = [{"id": f"d{i}", "url": f"https://example.com/{i}", "story_signature": SIGNATURE,
         "story_bands": BANDS} for i in range(2)]
clusters = StoryClusters()
assignments = clusters.assign([StoryMember.from_source(d) for d in docs])
print(json.dumps([sorted({name.split(".")[0] for name in sys.modules}),
                  [a.story_id for a in assignments]]))
"""


def test_the_flow_process_compares_signatures_without_importing_numpy():
    from newsflow.transforms.enrich.stories import signature

    sig = signature(" ".join(f"word{i}" for i in range(40)))
    assert sig is not None
    code = FLOW_PATH.replace("SIGNATURE", repr(sig.encode())).replace("BANDS", repr(sig.bands))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules, story_ids = json.loads(done.stdout.strip().splitlines()[-1])
    assert "numpy" not in modules and "prefect" in modules
    assert story_ids == ["d0", "d0"]  # two copies of one signature: one story


def test_newsflow_run_starts_its_worker_before_importing_the_transform_code():
    # `newsflow run` imports the pool to start a worker at once; the worker loads the clean
    # and enrich code, which the flow's process, handing its batches over, does not need.
    code = "import json, sys, newsflow.flows.process_pool; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "newsflow.flows.process_pool" in modules
    assert not modules & {
        "newsflow.transforms.batch.transform",
        "newsflow.transforms.clean.extract",
        "newsflow.transforms.enrich.entities",
        "trafilatura",
    }


# The console script as pip writes it, with what a command leaves behind: a thread still
# working, an exit handler of its own (as Prefect's and logging's), output not yet flushed,
# and an object whose finaliser only a full interpreter teardown would run.
CONSOLE_SCRIPT = """
import atexit, sys, threading, time
from newsflow.cli import app, main

class TornDown:
    def __del__(self):
        sys.__stdout__.write("torn down\\n")

@app.command("probe")
def probe(status: int = 0) -> None:
    def late() -> None:
        time.sleep(0.3)
        sys.stdout.write("thread done\\n")
    threading.Thread(target=late).start()
    atexit.register(lambda: sys.stdout.write("handler ran\\n"))
    sys.stdout.write("output")
    sys.modules["__main__"].kept = TornDown()
    raise SystemExit(status)

sys.argv = ["newsflow", "probe", "--status", sys.argv[1]]
sys.exit(main())
"""


@pytest.mark.parametrize("status", [0, 3])
def test_the_console_script_ends_threads_and_handlers_then_skips_the_teardown(status):
    done = subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT, str(status)], capture_output=True, text=True
    )
    assert done.returncode == status, done.stderr
    # The thread is waited for, then the command's handler runs, the output is flushed, and
    # the process exits before Python frees its objects one by one.
    assert done.stdout == "outputthread done\nhandler ran\n"


class _Engine:
    """The part of Prefect's flow run engine its heartbeat thread uses."""

    heartbeat_seconds = 30
    flow_run = None  # no state to look at: the thread beats until told to stop
    logger = logging.getLogger("test-heartbeats")

    def __init__(self) -> None:
        self.beats = 0

    def _build_heartbeat_event_template(self) -> tuple[None, None]:
        return None, None

    def _emit_flow_run_heartbeat(self, resource: object, related: object) -> None:
        self.beats += 1


def test_a_flow_run_ends_without_waiting_for_its_heartbeat_thread():
    # newsflow's flows switch the wait off when imported.
    from prefect import flow_engine

    import newsflow.flows.pipeline  # noqa: F401

    engine = _Engine()
    before = set(threading.enumerate())
    with flow_engine._send_heartbeats(engine):
        (thread,) = set(threading.enumerate()) - before
        deadline = time.monotonic() + 10
        while not engine.beats and time.monotonic() < deadline:
            time.sleep(0.01)
        assert engine.beats == 1  # and now it sleeps, in one-second steps
    # The run's end did not wait for the step under way...
    assert thread.is_alive()
    # ...and the thread stops at the end of it, with no heartbeat after the run.
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert engine.beats == 1


# A flow run's parameters as each of newsflow's flows records them, in a fresh interpreter.
RECORDED_PARAMETERS = """
import json, sys
from pathlib import Path
from newsflow.flows.backfill import backfill
from newsflow.flows.ingest import ingest
from newsflow.flows.maintenance import maintenance
from newsflow.flows.reprocess import reprocess
from newsflow.settings import Settings

settings = Settings(es_password="secret", aliases_path=Path("aliases.json"), index="news")
calls = [
    (ingest, {"sources": ["a.txt", "https://a.example/"], "settings": settings, "backfill": True}),
    (backfill, {"sources": None, "since": "2026-01-01", "until": None, "settings": settings}),
    (reprocess, {"since": None, "source": "example.org", "limit": 5, "force": False}),
    (maintenance, {"retry_dead_letters": True, "reenrich_limit": None, "settings": settings}),
]
recorded = [flow.serialize_parameters(parameters) for flow, parameters in calls]
imported = "fastapi" in sys.modules
from fastapi.encoders import jsonable_encoder  # what Prefect's own Flow records
expected = [{k: jsonable_encoder(v) for k, v in parameters.items()} for _, parameters in calls]
print(json.dumps({"imported": imported, "same": recorded == expected, "recorded": recorded}))
"""


def test_flow_runs_record_their_parameters_as_prefect_does_without_importing_fastapi():
    done = subprocess.run(
        [sys.executable, "-c", RECORDED_PARAMETERS], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["same"], result["recorded"]
    assert not result["imported"]
    settings = result["recorded"][0]["settings"]
    assert settings["es_password"] == "**********" and settings["index"] == "news"
