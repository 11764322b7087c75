"""CPU of the local node per article loaded, this checkout's articles template against another
commit's, in alternating rounds on the same node.

    .venv/bin/python bench/index_cpu.py --against dc4a12f [--articles 1000] [--rounds 6]

The articles are the documents the workers make of ``bench/pipeline.py``'s pages (the first
``--pages``, transformed once, each loaded again under fresh ids); each round loads them into a
new index made from each template, as the flow does in a backfill run: 100 at a time, stories
looked up and assigned (``assign_stories``), then ``load_documents`` (the unchanged check, bulk
requests), a refresh at the end. The node's CPU is read from ``/proc/<pid>/stat`` before and
after (its JIT compiler's threads reported apart), so other load on the machine does not count;
the first rounds of a freshly started node pay for its JIT warming up. Uses the local node of
``Settings()`` (``NEWSFLOW_LOCAL_ES_PORT``).
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import _es_pid, _jit_seconds, base_pages, page_list  # noqa: E402
from newsflow.settings import Settings  # noqa: E402


def _node_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def documents(pages: int) -> list[dict[str, Any]]:
    """The index documents the workers make of the bench's first ``pages`` pages."""
    from newsflow.transforms.batch.transform import transform_batch, warm_up
    from newsflow.transforms.fetch.download import decode_html
    from newsflow.transforms.models import Page

    settings = Settings()
    raw = base_pages()
    sample = []
    for i, (_, name) in enumerate(page_list(raw, pages)):
        html, encoding = decode_html(raw[name])
        url = f"http://bench/copy/{i}/{name}"
        sample.append(
            Page(url=url, final_url=url, html=html, encoding=encoding, fetched_at=datetime.now(UTC))
        )
    warm_up(settings.spacy_model, settings.cache_dir)
    docs: list[dict[str, Any]] = []
    for start in range(0, len(sample), settings.batch_size):
        result = transform_batch(
            sample[start : start + settings.batch_size],
            model_name=settings.spacy_model,
            min_body_chars=settings.min_body_chars,
            run_id="bench",
        )
        docs += result.documents
    return docs


def template_at(commit: str | None) -> dict[str, Any]:
    """The articles template of ``commit`` (None: this checkout's)."""
    if commit is None:
        return json.loads((ROOT / "mappings" / "articles.json").read_text())
    text = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:mappings/articles.json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(text)


def load_once(client, spec: dict[str, Any], base: list[dict[str, Any]], n: int, pid: int) -> dict:
    """Load ``n`` articles (copies of ``base`` under fresh ids) into a new index made from
    ``spec`` as a backfill run does; the node's CPU and the index's figures."""
    from newsflow.store import indices, load, stories
    from newsflow.transforms.enrich.stories import StoryClusters

    template = indices.template_for_cluster(client, spec)["template"]
    alias = f"bench-index-cpu-{uuid.uuid4().hex[:8]}"
    settings = copy.deepcopy(template["settings"])
    settings["index"]["refresh_interval"] = "-1"  # as in backfill mode
    client.indices.create(index=alias, settings=settings, mappings=template["mappings"])
    client.cluster.health(index=alias, wait_for_status="yellow")
    tag = uuid.uuid4().hex[:8]
    docs = []
    for i in range(n):
        doc = copy.deepcopy(base[i % len(base)])
        doc["id"], doc["url"] = f"{doc['id']}-{tag}-{i}", f"{doc['url']}?{tag}-{i}"
        docs.append(doc)
    clusters = StoryClusters()
    try:
        time.sleep(1)
        cpu, jit, started = _node_cpu(pid), _jit_seconds(pid), time.monotonic()
        for start in range(0, n, 100):
            batch = docs[start : start + 100]
            stories.assign_stories(client, alias, batch, clusters)
            load.load_documents(client, alias, batch, "bench", concurrency=2)
        client.indices.refresh(index=alias)
        time.sleep(2)  # what the node does right after (merges)
        cpu, jit = _node_cpu(pid) - cpu, _jit_seconds(pid) - jit
        stats = client.indices.stats(index=alias, metric="indexing,store")["_all"]["primaries"]
    finally:
        client.indices.delete(index=alias)
    return {
        "ms": cpu * 1000 / n,
        "jit_ms": jit * 1000 / n,
        "index_time_ms": stats["indexing"]["index_time_in_millis"] / n,
        "bytes": stats["store"]["size_in_bytes"] / n,
        "wall": time.monotonic() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="commit whose template is compared")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--pages", type=int, default=400)
    args = parser.parse_args()
    for noisy in ("trafilatura", "htmldate", "courlan", "newsflow", "elastic_transport"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    from newsflow.store.client import make_client

    settings = Settings()
    client = make_client(settings)
    pid = _es_pid(settings)
    if pid is None:
        raise SystemExit("no local node running (newsflow es start)")
    base = documents(args.pages)
    print(f"{len(base)} documents of {args.pages} pages; {args.articles} articles a load")
    variants = {args.against: template_at(args.against), "this checkout": template_at(None)}
    figures: dict[str, list[dict]] = {name: [] for name in variants}
    for r in range(args.rounds):
        names = list(variants) if r % 2 == 0 else list(variants)[::-1]
        for name in names:
            got = load_once(client, variants[name], base, args.articles, pid)
            figures[name].append(got)
            print(
                f"round {r} {name:<14} node {got['ms']:5.2f} ms/article "
                f"(JIT {got['jit_ms']:5.2f}), index_time {got['index_time_ms']:5.2f} ms, "
                f"{got['bytes']:,.0f} bytes on disk",
                flush=True,
            )
    print("\nmedian over the rounds (node CPU ms per article; of which JIT; bytes on disk)")
    for name, runs in figures.items():
        print(
            f"  {name:<14} {statistics.median(r['ms'] for r in runs):5.2f} "
            f"{statistics.median(r['jit_ms'] for r in runs):5.2f} "
            f"{statistics.median(r['bytes'] for r in runs):,.0f}"
        )


if __name__ == "__main__":
    main()
