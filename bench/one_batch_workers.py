"""A run of one batch: one worker process, or every core's, for a batch of N pages?

    .venv/bin/python bench/one_batch_workers.py [--pages 1 30 100] [--repeats 3]

Each trial is a fresh process doing what ``newsflow run`` does around its CPU stage, without
Elasticsearch or a Prefect server: start one worker ahead (``process_pool.start_workers``,
loading the model), import Prefect meanwhile, then hand the batch (demo pages, cycled, each
at a URL of its own) to ``cpu_pool`` with 1 worker (what ``runners.cpu_stage`` gives a run of
one batch) or with ``--cores`` workers, cut into that many parts as ``run_transform`` does.
Wall seconds from the start to the pool's shutdown (which waits for a worker still loading).
The trials alternate, so a change of the machine's load falls on both; the last line gives
the medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pages(n: int) -> list:
    from newsflow.transforms.fetch.download import decode_html
    from newsflow.transforms.models import Page

    files = sorted((ROOT / "demo" / "corpus").glob("*/*.html"))
    pages = []
    for i in range(n):
        path = files[i % len(files)]
        html, encoding = decode_html(path.read_bytes())
        url = f"http://demo{i}.test/{path.parent.name}/{path.name}"
        now = datetime.now(UTC)
        pages.append(Page(url=url, final_url=url, html=html, encoding=encoding, fetched_at=now))
    return pages


def trial(pages: int, workers: int, cores: int, cache_dir: str) -> None:
    """One timed trial in this process; prints its wall seconds."""
    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from newsflow.flows import process_pool
    from newsflow.settings import Settings

    settings = Settings(cache_dir=cache_dir, cpu_workers=cores)
    with process_pool.start_workers(settings):
        import prefect.flows  # noqa: F401  # the flow process's own start, meanwhile

        batch = _pages(pages)
        with process_pool.cpu_pool(workers, settings.spacy_model, settings.cache_dir) as pool:
            result = process_pool.run_transform(batch, settings, "bench", pool, parts=workers)
    assert len(result.documents) == pages, result.failures
    print(f"{time.perf_counter() - started:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[1, 30, 100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2, help="workers of the 'all' trials")
    parser.add_argument(
        "--cache-dir", default=str(Path(tempfile.gettempdir()) / "newsflow-one-batch-cache")
    )
    args = parser.parse_args()
    samples: dict[tuple[int, int], list[float]] = defaultdict(list)
    for _ in range(args.repeats):
        for pages in args.pages:
            for workers in (1, args.cores):
                command = [sys.executable, __file__, "--trial", str(pages), str(workers)]
                command += [str(args.cores), args.cache_dir]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                samples[pages, workers].append(float(done.stdout.split()[-1]))
                print(f"pages={pages} workers={workers} {samples[pages, workers][-1]:.2f}s")
    for (pages, workers), values in sorted(samples.items()):
        runs = " ".join(f"{v:.2f}" for v in values)
        print(
            f"pages={pages:<4} workers={workers}  median {statistics.median(values):6.2f}s ({runs})"
        )


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--trial":
        trial(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        main()
