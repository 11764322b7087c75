"""Latency of a faceted search, straight to Elasticsearch and through the search API.

    .venv/bin/python bench/search_latency.py                 # 100,000 documents, ~5 min
    .venv/bin/python bench/search_latency.py --docs 20000 --requests 200 --keep

The demo corpus is extracted and enriched once with the pipeline's own steps (fetch from
files, clean, enrich, ``to_document``); copies of those documents with distinct ids, URLs,
dates and story ids (republications stay together within a copy) are bulk-loaded into a fresh
alias ``bench-search-<uuid>`` (``ensure_index``, ``bulk_load(concurrency=2)``). Then, in the
same run and over the same rotation of text queries:

* ``es``: the search body the API sends for ``GET /search?collapse=false`` with 6 facet
  fields (text query, 6 terms aggregations plus the story count, highlighting, 20 hits),
  sent with the Python client and timed around the call;
* ``api``: that same search through the API (uvicorn in a subprocess on 127.0.0.1, one
  worker), timed around the HTTP call on a keep-alive connection; ``es`` and ``api``
  requests alternate, so both see the same caches and load;
* ``api default``: ``GET /search`` as the page calls it (collapse by story, all ten facets and
  the story count: two to three Elasticsearch requests per page), for reference;
* requests/s the API sustains for the ``api`` search with 10 concurrent clients (httpx
  AsyncClient, a bounded number of requests).

Prints a table and a last line ``es_p50_ms=.. es_p99_ms=.. api_p50_ms=.. api_p99_ms=..
api_rps_10_clients=..``. The alias is deleted afterwards unless ``--keep``. Figures on a
shared 2-core machine move with whatever else runs there: ES and the API share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsflow.search import SearchRequest, build_query  # noqa: E402
from newsflow.settings import Settings  # noqa: E402
from newsflow.store.client import make_client  # noqa: E402
from newsflow.store.indices import ensure_index  # noqa: E402
from newsflow.store.load import bulk_load  # noqa: E402
from newsflow.transforms.batch.documents import to_document  # noqa: E402

CORPUS = ROOT / "demo" / "corpus"
FACETS = ("person", "organization", "location", "source", "language", "section")
HITS = 20
CLIENTS = 10
# Words and phrases that occur in the demo corpus, so every query matches and highlights.
QUERIES = [
    "port strike",
    "bank",
    "election",
    "climate",
    "minister",
    "energy prices",
    "football",
    "union",
    "government",
    "drought",
    "ferry",
    "rates",
    "storm",
    "museum",
    "chip plant",
    "talks",
    "council",
    "record",
    "company",
    "water",
]


def corpus_documents(settings: Settings) -> list[dict[str, Any]]:
    """The demo pages as index documents, through the pipeline's own steps (no Prefect)."""
    from newsflow.transforms.clean.extract import clean_pages
    from newsflow.transforms.enrich.entities import enrich_articles
    from newsflow.transforms.fetch.download import FetchOptions, fetch_pages

    urls = [p.resolve().as_uri() for p in sorted(CORPUS.glob("*/*.html"))]
    pages, failures = fetch_pages(urls, FetchOptions(user_agent=settings.user_agent))
    articles, failed = clean_pages(pages, min_body_chars=settings.min_body_chars)
    enriched = enrich_articles(articles, settings.spacy_model)
    if not enriched:
        raise SystemExit(f"no demo documents could be built: {failures + failed}")
    return [
        to_document(e, run_id="bench-search", model_name=settings.spacy_model) for e in enriched
    ]


def copies(base: list[dict[str, Any]], total: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``total`` documents: copies of ``base`` with their own id, URL, date and story id."""
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for n in range(total):
        copy, doc = divmod(n, len(base))
        src = base[doc]
        url = f"{src['url']}?copy={copy}"
        published = start + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
        yield {
            **src,
            "id": hashlib.sha256(url.encode()).hexdigest()[:40],
            "url": url,
            "canonical_url": f"{src['canonical_url']}?copy={copy}",
            "published": published.isoformat(),
            "story_id": f"{src['story_id']}-{copy}",
        }


def load(client: Elasticsearch, alias: str, docs: list[dict[str, Any]], total: int) -> float:
    ensure_index(client, alias)
    started = time.perf_counter()
    result = bulk_load(client, alias, copies(docs, total), chunk_size=500, concurrency=2)
    client.indices.refresh(index=alias)
    seconds = time.perf_counter() - started
    count = client.count(index=alias)["count"]
    if result.rejected or count != total:
        raise SystemExit(f"loaded {count}/{total}; rejected {len(result.rejected)}")
    return seconds


def search_request(query: str) -> SearchRequest:
    """What the API builds for ``/search?q=..&collapse=false&size=20&facet=<6 fields>``."""
    return SearchRequest(
        query=query,
        size=HITS,
        sort="relevance",
        facets=FACETS,
        count_stories=True,
        html=True,
        timeout="24000ms",
    )


def api_params(query: str) -> list[tuple[str, str]]:
    return [
        ("q", query),
        ("size", str(HITS)),
        ("collapse", "false"),
        *(("facet", f) for f in FACETS),
    ]


@dataclass
class Timing:
    name: str
    samples: list[float]

    def pct(self, p: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples) * 1000


def time_es_and_api(
    client: Elasticsearch, alias: str, base: str, n: int, warmup: int
) -> tuple[Timing, Timing]:
    """The same search straight to Elasticsearch and through the API, alternating request by
    request so both see the same caches and the same load from the rest of the machine."""
    es, api = [], []
    with httpx.Client(base_url=base, timeout=60) as http:
        for i in range(warmup + n):
            query = QUERIES[i % len(QUERIES)]
            body = build_query(search_request(query))
            started = time.perf_counter()
            resp = client.search(index=alias, **body)
            es_elapsed = time.perf_counter() - started
            assert resp["hits"]["hits"] and "highlight" in resp["hits"]["hits"][0]
            started = time.perf_counter()
            answer = http.get("/search", params=api_params(query))
            api_elapsed = time.perf_counter() - started
            answer.raise_for_status()
            assert len(answer.json()["hits"]) == len(resp["hits"]["hits"][:HITS])
            if i >= warmup:
                es.append(es_elapsed)
                api.append(api_elapsed)
    return Timing("es (python client)", es), Timing("api (same search)", api)


def time_api_default(base: str, n: int, warmup: int) -> Timing:
    """``GET /search`` as the search page sends it (collapsed stories, all facets)."""
    samples = []
    with httpx.Client(base_url=base, timeout=60) as http:
        for i in range(warmup + n):
            params = [("q", QUERIES[i % len(QUERIES)]), ("size", str(HITS))]
            started = time.perf_counter()
            resp = http.get("/search", params=params)
            elapsed = time.perf_counter() - started
            resp.raise_for_status()
            if i >= warmup:
                samples.append(elapsed)
    return Timing("api default", samples)


async def throughput(base: str, total: int, clients: int, max_seconds: float) -> float:
    """Requests/s for ``total`` requests spread over ``clients`` concurrent connections
    (stops early after ``max_seconds``)."""
    done = 0
    deadline = time.perf_counter() + max_seconds
    counter = iter(range(total))

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal done
        for i in counter:
            if time.perf_counter() > deadline:
                return
            resp = await http.get("/search", params=api_params(QUERIES[i % len(QUERIES)]))
            resp.raise_for_status()
            done += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        return done / (time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_api(alias: str, port: int) -> subprocess.Popen:
    env = os.environ | {"NEWSFLOW_INDEX": alias}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API did not start:\n{proc.stderr.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the API did not answer /health within 60 s")


def serve(port: int) -> None:
    import uvicorn

    from newsflow.api import create_app

    uvicorn.run(create_app(Settings()), host="127.0.0.1", port=port, log_level="warning")


def drop(client: Elasticsearch, alias: str) -> None:
    client.indices.delete(index=f"{alias}-v*", ignore_unavailable=True, allow_no_indices=True)
    client.options(ignore_status=404).indices.delete_index_template(name=f"newsflow-{alias}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents to load")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per path")
    parser.add_argument("--warmup", type=int, default=40, help="untimed requests first")
    parser.add_argument(
        "--rps-requests", type=int, default=1000, help="requests for the 10-client run"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench alias")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the API subprocess
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    settings = Settings()
    client = make_client(settings)
    alias = f"bench-search-{uuid.uuid4().hex[:12]}"
    api = None
    try:
        t0 = time.perf_counter()
        base_docs = corpus_documents(settings)
        print(f"built {len(base_docs)} demo documents in {time.perf_counter() - t0:.1f}s")
        seconds = load(client, alias, base_docs, args.docs)
        print(f"loaded {args.docs} documents into {alias} in {seconds:.1f}s")
        port = free_port()
        api = start_api(alias, port)
        base = f"http://127.0.0.1:{port}"
        timings = [
            *time_es_and_api(client, alias, base, args.requests, args.warmup),
            time_api_default(base, args.requests // 2, args.warmup // 2),
        ]
        rps = asyncio.run(throughput(base, args.rps_requests, CLIENTS, max_seconds=120))
    finally:
        if api is not None:
            api.terminate()
            try:
                api.wait(timeout=10)
            except subprocess.TimeoutExpired:
                api.kill()
        if not args.keep:
            drop(client, alias)
    print(
        f"\n{args.docs} documents; search: text query, {len(FACETS)} facet aggregations, "
        f"highlighting, {HITS} hits; {len(QUERIES)} queries in rotation"
    )
    print(f"{'path':<22}{'n':>6}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for t in timings:
        print(
            f"{t.name:<22}{len(t.samples):>6}{t.pct(50):>10.1f}{t.pct(90):>10.1f}"
            f"{t.pct(99):>10.1f}{t.mean:>10.1f}"
        )
    print(f"api (same search), {CLIENTS} concurrent clients: {rps:.1f} requests/s")
    if args.keep:
        print(f"kept alias {alias}")
    es, api_t = timings[0], timings[1]
    print(
        f"es_p50_ms={es.pct(50):.1f} es_p99_ms={es.pct(99):.1f} api_p50_ms={api_t.pct(50):.1f} "
        f"api_p99_ms={api_t.pct(99):.1f} api_rps_10_clients={rps:.1f}"
    )


if __name__ == "__main__":
    main()
