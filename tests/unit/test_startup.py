"""What a command imports before it does anything: `newsflow extract` must not pay for Prefect
(seconds of start-up on this machine) nor for scipy (datasketch used to pull it in); how the
console script ends: threads and exit handlers first, then out without the teardown."""

from __future__ import annotations

import json
import subprocess
import sys

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
