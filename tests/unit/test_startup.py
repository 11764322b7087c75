"""What a command imports before it does anything: `newsflow extract` must not pay for Prefect
(seconds of start-up on this machine) nor for scipy (datasketch used to pull it in)."""

from __future__ import annotations

import json
import subprocess
import sys

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
