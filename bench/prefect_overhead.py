"""What Prefect adds per run and per batch, and what the Dask runner gains on this machine.

    .venv/bin/python bench/prefect_overhead.py [--articles 500] [--batch-size 50]

The demo corpus pages are read once and served from 127.0.0.1 as distinct copies (each copy at
its own URL, see bench/pipeline.py). In one process, on the same number of pages:

1. direct: the transforms called without Prefect, with the same overlap as the flow (fetch in a
   thread ahead, clean + NER in newsflow's worker processes, drop repeats, stories, load);
2. the ``ingest`` flow with the thread runner (the default);
3. the ``ingest`` flow with the Dask runner, a local cluster of 2 single-thread workers.

Each configuration gets its own copies (so no transform batch is answered from Prefect's cache)
and its own alias, deleted afterwards. Prefect's ephemeral server start is timed separately with
an empty flow. The last line is ``prefect_overhead_ratio=… per_batch_s=… dask_speedup=…``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Prefect reads these on import: a throw-away home (its result cache too), quiet, no telemetry.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="newsflow-overhead-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from bench.pipeline import DEMO, _own_url, serve  # noqa: E402
from newsflow.settings import Settings  # noqa: E402


def _settings(**over) -> Settings:
    alias = f"bench-overhead-{uuid.uuid4().hex[:8]}"
    return Settings(
        index=alias, allowed_private_networks=["127.0.0.0/8"], archive_enabled=False, **over
    )


def _drop(settings: Settings) -> None:
    from newsflow.store.client import make_client

    client = make_client(settings)
    client.indices.delete(index=f"{settings.index}-*", ignore_unavailable=True)
    client.options(ignore_status=404).indices.delete_index_template(
        name=f"newsflow-{settings.index}"
    )


def run_direct(urls: list[str], settings: Settings) -> dict:
    """The pipeline's steps without Prefect: same functions, same overlap, same bounds."""
    from newsflow.flows.process_pool import cpu_pool
    from newsflow.options import fetch_options
    from newsflow.store import indices, load
    from newsflow.store.client import make_client
    from newsflow.store.stories import assign_stories
    from newsflow.transforms.batch.transform import transform_pages
    from newsflow.transforms.enrich.stories import StoryClusters
    from newsflow.transforms.fetch import download as fetch

    started, cpu = time.perf_counter(), time.process_time()
    run_id = uuid.uuid4().hex
    client = make_client(settings)
    indices.ensure_index(client, settings.index)
    batches = [urls[i : i + settings.batch_size] for i in range(0, len(urls), settings.batch_size)]
    opts = fetch_options(settings)
    seen: dict[str, str] = {}
    clusters = StoryClusters()
    indexed = 0
    workers = min(settings.cpu_workers, len(batches))
    with cpu_pool(workers, settings.spacy_model) as pool, ThreadPoolExecutor(3) as io:
        upcoming = io.submit(fetch.fetch_pages, batches[0], opts)
        transforming: deque = deque()
        loading: deque = deque()

        def finish_transform() -> None:
            result = transforming.popleft().result()
            documents, _ = load.drop_repeats(result.documents, seen)
            assign_stories(client, settings.index, documents, clusters)
            loading.append(
                io.submit(
                    load.load_documents,
                    client,
                    settings.index,
                    documents,
                    run_id,
                    chunk_size=settings.bulk_chunk_size,
                    concurrency=settings.bulk_concurrency,
                )
            )

        for i in range(len(batches)):
            pages, _ = upcoming.result()
            if i + 1 < len(batches):
                upcoming = io.submit(fetch.fetch_pages, batches[i + 1], opts)
            transforming.append(
                pool.submit(
                    transform_pages,
                    pages,
                    model_name=settings.spacy_model,
                    min_body_chars=settings.min_body_chars,
                    run_id=run_id,
                )
            )
            while len(transforming) > workers:
                finish_transform()
        while transforming:
            finish_transform()
        for future in loading:
            indexed += future.result().indexed
    load.refresh(client, settings.index)
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "indexed": indexed,
        "batches": len(batches),
    }


def run_flow(urls: list[str], settings: Settings) -> dict:
    from newsflow.flows.ingest import ingest

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(urls) + "\n")
    try:
        started, cpu = time.perf_counter(), time.process_time()
        summary = ingest([listing.name], settings)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        os.unlink(listing.name)
    return {
        "seconds": wall,
        "cpu": cpu,
        "inside": summary["seconds"],
        "indexed": summary["indexed"],
        "failed": summary["failed"],
        "batches": summary["transform_batches"],
        "cache_hits": summary["transform_cache_hits"],
        "stage_seconds": summary["stage_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    for noisy in ("trafilatura", "htmldate", "courlan", "distributed"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)

    from prefect import flow

    pages = {p.relative_to(DEMO).as_posix(): _own_url(p.read_bytes()) for p in DEMO.rglob("*.html")}
    names = sorted(pages)
    copies = -(-args.articles // len(names))
    server, base = serve(pages, copies=3 * copies)

    def urls(config: int) -> list[str]:
        # Copies [config * copies, (config + 1) * copies): distinct URLs for each configuration.
        first = config * copies * len(names)
        return [
            f"{base}/copy/{(first + i) // len(names)}/{names[(first + i) % len(names)]}"
            for i in range(args.articles)
        ]

    @flow(name="empty")
    def empty() -> None:
        return None

    cores = len(os.sched_getaffinity(0))
    print(
        f"{args.articles} pages per configuration ({len(names)} demo pages as copies), "
        f"batches of {args.batch_size}, {cores} cores"
    )
    started = time.perf_counter()
    empty()
    server_start = time.perf_counter() - started
    started = time.perf_counter()
    empty()
    empty_run = time.perf_counter() - started
    print(
        f"Prefect: ephemeral server start + first flow {server_start:.1f}s, empty flow run "
        f"{empty_run:.2f}s"
    )

    results = {}
    try:
        for config, (label, runner, extra) in enumerate(
            [
                ("direct (no Prefect)", run_direct, {}),
                ("flow, thread runner", run_flow, {"task_runner": "workers"}),
                ("flow, Dask 2 workers", run_flow, {"task_runner": "dask", "dask_workers": 2}),
            ]
        ):
            settings = _settings(batch_size=args.batch_size, **extra)
            try:
                results[label] = result = runner(urls(config), settings)
            finally:
                _drop(settings)
            inside = f", {result['inside']:.1f}s inside the flow" if "inside" in result else ""
            print(
                f"{label:<22} {result['seconds']:7.1f}s{inside}, flow process CPU "
                f"{result['cpu']:.1f}s, {result['indexed']} indexed, "
                f"{args.articles / result['seconds']:.2f} pages/s, {result['batches']} batches"
                + (f", {result['cache_hits']} cache hits" if "cache_hits" in result else "")
            )
    finally:
        server.shutdown()

    direct = results["direct (no Prefect)"]
    threads = results["flow, thread runner"]
    dask = results["flow, Dask 2 workers"]
    per_run = threads["seconds"] - threads["inside"]
    per_batch = (threads["inside"] - direct["seconds"]) / threads["batches"]
    print(
        f"\nper run: {per_run:.2f}s outside the flow body (flow run, states) + "
        f"{server_start:.1f}s server start when no Prefect server runs"
    )
    print(
        f"per batch: {per_batch:.3f}s (flow body minus direct, over {threads['batches']} "
        "batches: task runs, states, result persistence)"
    )
    cpu_per_batch = (threads["cpu"] - direct["cpu"]) / threads["batches"]
    print(
        f"per batch, CPU of the flow process: {cpu_per_batch:.3f}s (less sensitive to a busy "
        "machine than wall time; Prefect's server process not included)"
    )
    print(f"stage seconds, thread runner: {threads['stage_seconds']}")
    print(f"stage seconds, Dask runner:   {dask['stage_seconds']}")
    print(
        f"\nprefect_overhead_ratio={threads['seconds'] / direct['seconds']:.2f} "
        f"per_batch_s={per_batch:.3f} per_batch_cpu_s={cpu_per_batch:.3f} "
        f"dask_speedup={threads['seconds'] / dask['seconds']:.2f}"
    )


if __name__ == "__main__":
    main()
