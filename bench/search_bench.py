"""Faceted search at 1,000,000 articles: the API's default search against plain Elasticsearch.

    make bench-search                                   # build once (~30-60 min), then measure
    .venv/bin/python bench/search_bench.py --build-only # only build (or reuse) the index
    .venv/bin/python bench/search_bench.py --docs 100000 --requests 200
    .venv/bin/python bench/search_bench.py --api        # also through the API over HTTP

The bench runs on a node of its own, never on the shared one: ``--state-dir`` (default
``/work/search-state``, or ``$SEARCH_BENCH_STATE_DIR``) holds a local Elasticsearch started
through ``newsflow es start`` with ``NEWSFLOW_STATE_DIR``, ``NEWSFLOW_LOCAL_ES_PORT`` (9280),
``NEWSFLOW_LOCAL_ES_TRANSPORT_PORT`` (9480) and ``NEWSFLOW_LOCAL_ES_HEAP`` (4g). The node is
left running (``--stop`` stops it, its data stay for the next run).

Index: the 46 pages of ``demo/corpus`` and the 130 real pages of
``tests/data/extraction-benchmark``, extracted and enriched once with the pipeline's own
steps (``clean_pages``, ``enrich_articles``, ``to_document``), then recombined into
``--docs`` documents with distinct ids and URLs: stories whose sizes follow a skewed
(Zipf-like) distribution, each story one base text republished by several sources within a few
days, start dates spread over two years; each document keeps its base page's entities and gets
a few more drawn (Zipf) from pools made by recombining the corpus's own names (first names with
surnames, place names with organisation words), so facets have a realistic head and long tail.
Sources, sections and authors are drawn the same way. The alias ``bench-search-<docs>`` is kept
and reused when it holds the right number of documents (``--rebuild`` builds it again); after
the load it is force-merged to one segment (``--no-merge`` skips that).

Measured, in one run, alternating request by request so both see the same caches and load:

* ``default``: ``GET /search?q=..`` through the API exactly as the search page calls it (stories
  collapsed, all ten facets, the story count, the weekly histogram, highlights): the
  Elasticsearch requests the API sends for it (``newsflow.store.search.run_search``), timed
  around the whole page;
* ``plain``: one Elasticsearch request with the same query, filters, highlights and terms
  aggregations (all ten facets), no collapsing, no story count, no histogram.

Each of the 500 (+40 warm-up) pairs is a different request: 20 text queries in rotation, from
the second round on excluding a word no article holds, one per round: every request matches what
the query matches in the whole index, and no two are the same, so Elasticsearch's request cache
never answers a repeat. Then, alone: ``/entities`` suggestions (``build_suggest_query``), a
date-sorted collapsed search, and requests/s of the default search with 10 concurrent clients (a
thread pool, a bounded number of requests). Both timed paths call Elasticsearch from this
process with the project's client, so the ratio is the price of the default search itself, not
of HTTP. The table shows ``os.getloadavg()`` before and after each part: on a shared 2-core
machine the figures move with whatever else runs. Last line: ``default_vs_plain_p50=<x>
default_vs_plain_p99=<y>``.

With ``--api``, the price of HTTP and the API's own work too: the search API runs in a
subprocess (uvicorn, one worker, on a free port of 127.0.0.1, against the bench node), and

* ``default, in process`` and ``default over HTTP``: the same default searches, alternating,
  once through ``run_search`` as above and once as ``GET /search`` on a keep-alive connection
  (httpx), timed around the HTTP call;
* requests/s of ``GET /search`` with 10 concurrent HTTP clients (httpx AsyncClient, a bounded
  number of requests, two minutes at most).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsflow.search import (  # noqa: E402
    ALL_FACET_FIELDS,
    ENTITY_TYPES,
    SearchRequest,
    build_query,
    build_suggest_query,
)
from newsflow.settings import Settings  # noqa: E402
from newsflow.store.indices import ensure_index, write_index  # noqa: E402
from newsflow.store.search import search as run_search  # noqa: E402

DEMO = ROOT / "demo" / "corpus"
BENCHMARK = ROOT / "tests" / "data" / "extraction-benchmark" / "html"
DEFAULT_STATE = Path(os.environ.get("SEARCH_BENCH_STATE_DIR", "/work/search-state"))
PORT = 9280
TRANSPORT_PORT = 9480
HEAP = "4g"
START = datetime(2024, 12, 1, tzinfo=UTC)
SPAN_DAYS = 730  # two years
HITS = 10  # the API's default page size
TIMEOUT = "24000ms"
CLIENTS = 10
# Words that occur in the demo corpus and the benchmark pages, from common to rare.
QUERIES = [
    "government",
    "election",
    "minister",
    "climate",
    "bank",
    "energy prices",
    "police",
    "union",
    "company",
    "port strike",
    "football",
    "council",
    "water",
    "president",
    "storm",
    "museum",
    "court",
    "talks",
    "record",
    "school",
]
SECTIONS = ("world", "business", "sport", "culture", "science", "opinion", "local", "tech")
PREFIXES = ["a", "jo", "mar", "new", "b", "pa", "un", "ch", "l", "s", "ber", "de"]


# --- the node ---------------------------------------------------------------------------------


def node_env(state_dir: Path) -> dict[str, str]:
    """The environment that points ``newsflow es`` and ``Settings`` at the bench node."""
    return os.environ | {
        "NEWSFLOW_STATE_DIR": str(state_dir),
        "NEWSFLOW_LOCAL_ES_PORT": str(PORT),
        "NEWSFLOW_LOCAL_ES_TRANSPORT_PORT": str(TRANSPORT_PORT),
        "NEWSFLOW_LOCAL_ES_HEAP": HEAP,
        "NEWSFLOW_ES_URL": f"http://127.0.0.1:{PORT}",
    }


def newsflow_es(state_dir: Path, command: str) -> None:
    """``newsflow es <command>`` for the bench node (its own state dir, port and heap)."""
    exe = Path(sys.executable).with_name("newsflow")
    subprocess.run([str(exe), "es", command], env=node_env(state_dir), check=True)


# --- documents --------------------------------------------------------------------------------


def base_documents(settings: Settings, cache: Path) -> list[dict[str, Any]]:
    """The real pages as index documents, through the pipeline's own steps (no Prefect);
    kept in ``cache`` so that a continued build recombines exactly the same documents."""
    if cache.is_file():
        return list(json.loads(cache.read_text()))
    from newsflow.transforms.clean.extract import clean_pages
    from newsflow.transforms.enrich.entities import enrich_articles
    from newsflow.transforms.fetch.download import decode_html
    from newsflow.transforms.models import Page

    now = datetime.now(UTC)
    pages = []
    sources = [(p, p.read_bytes()) for p in sorted(DEMO.glob("*/*.html"))]
    sources += [(p, gzip.decompress(p.read_bytes())) for p in sorted(BENCHMARK.glob("*.gz"))]
    for path, raw in sources:
        text, encoding = decode_html(raw)
        url = f"https://{path.parent.name}.bench.example/{path.name.removesuffix('.gz')}"
        pages.append(Page(url, url, text, encoding, now))
    articles, failed = clean_pages(pages, min_body_chars=settings.min_body_chars)
    enriched = enrich_articles(articles, settings.spacy_model)
    print(f"{len(pages)} pages, {len(enriched)} documents, {len(failed)} refused", flush=True)
    from newsflow.transforms.batch.documents import to_document

    model = settings.spacy_model
    docs = [to_document(e, run_id="bench-search", model_name=model) for e in enriched]
    cache.write_text(json.dumps(docs, ensure_ascii=False))
    return docs


def zipf_picker(rng: random.Random, pool: list[str], s: float = 1.1) -> Callable[[], str]:
    """Draw from ``pool`` with Zipf weights (rank r has weight 1/r^s): a head and a long tail."""
    weights = list(itertools.accumulate(1 / (r**s) for r in range(1, len(pool) + 1)))
    shuffled = pool[:]
    rng.shuffle(shuffled)

    def pick() -> str:
        return rng.choices(shuffled, cum_weights=weights)[0]

    return pick


def story_size(rng: random.Random) -> int:
    """Skewed story sizes: most articles stand alone, a few stories are republished widely
    (Pareto, alpha 1.5, capped at 400: two in three alone, mean about 2.5)."""
    return min(400, int(rng.paretovariate(1.5)))


def pools(base: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Facet value pools recombined from the corpus's own names."""
    values: dict[str, set[str]] = {t: set() for t in (*ENTITY_TYPES, "section", "source")}
    for doc in base:
        for t in ENTITY_TYPES:
            values[t].update(doc.get(t) or [])
        if doc.get("section"):
            values["section"].add(doc["section"])
        values["source"].add(doc["source"])
    people = sorted(values["person"])
    firsts = sorted({p.split()[0] for p in people if " " in p})
    lasts = sorted({p.split()[-1] for p in people if " " in p})
    places = sorted(values["location"])
    org_words = sorted({w for o in values["organization"] for w in o.split() if w.istitle()})
    out = {
        "person": people + [f"{f} {last}" for f in firsts for last in lasts][:60_000],
        "organization": sorted(values["organization"])
        + [f"{p} {w}" for p in places for w in org_words][:20_000],
        "location": places + [f"{p} {q}" for p in places[:60] for q in ("North", "Bay", "Port")],
        "group": sorted(values["group"]) or ["Europeans"],
        "event": sorted(values["event"]) or ["Olympics"],
        "product": sorted(values["product"]) or ["iPhone"],
        "section": [*sorted(values["section"]), *SECTIONS],
        "source": [
            *sorted(values["source"]),
            *(f"{a}-{b}.example" for a in firsts[:40] for b in ("news", "post", "times", "daily")),
        ],
        "author": [f"{f} {last}" for f in firsts[:80] for last in lasts[-80:]],
    }
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}


def documents(base: list[dict[str, Any]], total: int, seed: int = 22) -> Iterator[dict[str, Any]]:
    """``total`` documents recombined from ``base`` (see the module docstring)."""
    rng = random.Random(seed)
    pool = pools(base)
    pick = {k: zipf_picker(rng, v) for k, v in pool.items()}
    n = 0
    story = 0
    while n < total:
        story += 1
        size = min(story_size(rng), total - n)
        src = base[rng.randrange(len(base))]
        story_id = hashlib.sha256(f"story-{story}".encode()).hexdigest()[:40]
        begins = START + timedelta(minutes=rng.randrange(0, SPAN_DAYS * 24 * 60))
        extra = {t: [pick[t]() for _ in range(rng.randint(0, 3))] for t in ENTITY_TYPES[:3]}
        for member in range(size):
            url = f"{src['url']}?n={n}"
            published = begins + timedelta(minutes=rng.randrange(0, 4 * 24 * 60) if member else 0)
            doc = {
                **src,
                "id": hashlib.sha256(url.encode()).hexdigest()[:40],
                "url": url,
                "canonical_url": url,
                "published": published.isoformat(),
                "published_day": published.date().isoformat(),
                "story_id": story_id,
                "story_lead": member == 0,
                "source": pick["source"](),
                "section": pick["section"](),
                "authors": [pick["author"]() for _ in range(rng.randint(0, 2))],
            }
            entities = list(src["entities"])
            for t in ENTITY_TYPES[:3]:
                # Story-wide extras plus one of the article's own now and then.
                mine = extra[t] + ([pick[t]()] if rng.random() < 0.3 else [])
                names = list(dict.fromkeys([*src.get(t, []), *mine]))
                doc[t] = names
                entities += [
                    {"name": name, "type": t, "count": 1, "first_offset": 1000}
                    for name in mine
                    if name not in src.get(t, [])
                ]
            doc["entities"] = entities
            n += 1
            yield doc


# --- building the index -----------------------------------------------------------------------


def doc_count(client: Elasticsearch, alias: str) -> int | None:
    if not client.indices.exists_alias(name=alias):
        return None
    client.indices.refresh(index=alias)
    return int(client.count(index=alias)["count"])


def bulk(
    client: Elasticsearch, index: str, docs: Iterator[dict[str, Any]], total: int, skip: int = 0
) -> None:
    """Pre-serialised NDJSON ``_bulk`` requests of 1,000 documents, two at a time."""
    started = time.perf_counter()
    done = skip
    lock = threading.Lock()
    errors: list[Any] = []

    def chunks() -> Iterator[str]:
        while True:
            lines = []
            for doc in itertools.islice(docs, 1000):
                lines.append(json.dumps({"index": {"_index": index, "_id": doc["id"]}}))
                lines.append(json.dumps(doc, ensure_ascii=False))
            if not lines:
                return
            yield "\n".join(lines) + "\n"

    def send(body: str) -> None:
        nonlocal done
        resp = client.options(request_timeout=300).bulk(operations=body)
        with lock:
            done += len(resp["items"])
            if resp["errors"]:
                errors.extend(i for i in resp["items"] if i["index"].get("error"))
            if done % 20_000 == 0:
                rate = (done - skip) / (time.perf_counter() - started)
                print(f"  {done:,}/{total:,} ({rate:.0f} docs/s), load {load()}", flush=True)

    with ThreadPoolExecutor(2) as pool:
        pending: list[Any] = []
        for body in chunks():
            pending.append(pool.submit(send, body))
            if len(pending) >= 4:
                pending.pop(0).result()
        for f in pending:
            f.result()
    if errors:
        raise SystemExit(f"{len(errors)} documents rejected, first: {errors[0]}")


def build(
    client: Elasticsearch, settings: Settings, alias: str, total: int, merge: bool, state: Path
) -> None:
    """Build ``alias`` with ``total`` documents (refresh off during the load), then force-merge.
    An index left part-built by an interrupted build is continued: the documents are the same
    (same seed, same ids), so the last few chunks are simply written again."""
    have = doc_count(client, alias) or 0
    skip = max(0, have - 8000) if have < total else 0
    if not skip:
        client.indices.delete(index=f"{alias}-v*", ignore_unavailable=True, allow_no_indices=True)
    t0 = time.perf_counter()
    base = base_documents(settings, state / "bench-search-base.json")
    t_base = time.perf_counter() - t0
    index = ensure_index(client, alias, replicas=0)
    client.indices.put_settings(
        index=index, settings={"index": {"refresh_interval": "-1", "translog.durability": "async"}}
    )
    t1 = time.perf_counter()
    if skip:
        print(f"continuing a part-built index from document {skip:,}", flush=True)
    bulk(client, index, itertools.islice(documents(base, total), skip, None), total, skip)
    client.indices.put_settings(
        index=index, settings={"index": {"refresh_interval": "1s", "translog.durability": None}}
    )
    client.options(request_timeout=3600).indices.refresh(index=index)
    t_load = time.perf_counter() - t1
    t_merge = 0.0
    if merge:
        t2 = time.perf_counter()
        client.options(request_timeout=7200).indices.forcemerge(index=index, max_num_segments=1)
        t_merge = time.perf_counter() - t2
    info = {
        "docs": total,
        "base_documents": len(base),
        "base_seconds": round(t_base, 1),
        "load_seconds": round(t_load, 1),
        "merge_seconds": round(t_merge, 1),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    client.indices.put_mapping(index=index, meta={**_meta(client, index), "bench": info})
    print(f"built {alias}: {json.dumps(info)}", flush=True)


def finish_partial(client: Elasticsearch, alias: str, merge: bool) -> None:
    """Make an interrupted build searchable as it is (refreshes back on, one refresh, the
    force-merge) and record how far it got: the load time is counted from the index's
    creation."""
    index = write_index(client, alias)
    if index is None:
        raise SystemExit(f"no index behind {alias}")
    meta = _meta(client, index)
    if "bench" in meta:
        return  # finished already
    created = client.indices.get_settings(index=index, name="index.creation_date")
    load_seconds = time.time() - int(created[index]["settings"]["index"]["creation_date"]) / 1000
    client.indices.put_settings(
        index=index, settings={"index": {"refresh_interval": "1s", "translog.durability": None}}
    )
    client.options(request_timeout=3600).indices.refresh(index=index)
    t0 = time.perf_counter()
    if merge:
        client.options(request_timeout=7200).indices.forcemerge(index=index, max_num_segments=1)
    info = {
        "docs": int(client.count(index=alias)["count"]),
        "partial": True,
        "base_seconds": 0,
        "load_seconds": round(load_seconds, 1),
        "merge_seconds": round(time.perf_counter() - t0, 1),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    client.indices.put_mapping(index=index, meta={**meta, "bench": info})
    print(f"finished a part-built {alias}: {json.dumps(info)}", flush=True)


def _meta(client: Elasticsearch, index: str) -> dict[str, Any]:
    return dict(client.indices.get_mapping(index=index)[index]["mappings"].get("_meta", {}))


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- measuring --------------------------------------------------------------------------------


def default_request(
    query: str, sort: str | None = None, since: date | None = None
) -> SearchRequest:
    """What ``GET /search?q=<query>[&since=..]`` builds (newsflow.api.app.search's defaults)."""
    return SearchRequest(
        query=query,
        since=since,
        size=HITS,
        sort=sort,  # type: ignore[arg-type]
        collapse=True,
        facets=ALL_FACET_FIELDS,
        count_stories=True,
        html=True,
        timeout=TIMEOUT,
        histogram=True,
    )


def plain_body(query: str, since: date | None = None) -> dict[str, Any]:
    """The same query, filters, highlights and terms aggregations in one request: no collapse,
    no story count, no histogram."""
    req = replace(
        default_request(query, since=since), collapse=False, count_stories=False, histogram=False
    )
    return build_query(req)


def variant(i: int) -> tuple[str, date | None]:
    """The ``i``-th search of a run: a text query from the rotation, from its second round on
    excluding a word no article holds ("-zzround3"): the whole index is searched for what the
    query matches every time (a default search has no date filter), yet no two requests are
    the same and no cache answers a repeat. (A ``since`` filter did this before, and matched
    nothing on an index built without ``published_day``.)"""
    rounds = i // len(QUERIES)
    query = QUERIES[i % len(QUERIES)]
    return (f"{query} -zzround{rounds}" if rounds else query), None


@dataclass
class Timing:
    name: str
    samples: list[float]
    load: str = ""

    def pct(self, p: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples) * 1000


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def alternate(
    names: tuple[str, str],
    pair: Callable[[int], tuple[Callable[[], Any], Callable[[], Any]]],
    n: int,
    warmup: int,
) -> list[Timing]:
    """Time the two calls ``pair(i)`` gives, one after the other, for each of ``warmup + n``
    rounds: alternating request by request puts both under the same load and cache state."""
    before = load()
    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(warmup + n):
        for kept, call in zip(samples, pair(i), strict=True):
            took = timed(call)
            if i >= warmup:
                kept.append(took)
    after = f"{before} -> {load()}"
    return [Timing(name, kept, after) for name, kept in zip(names, samples, strict=True)]


def measure(client: Elasticsearch, alias: str, n: int, warmup: int) -> list[Timing]:
    """(a) the API's default search against (b) the plain request, alternating."""

    def pair(i: int) -> tuple[Callable[[], Any], Callable[[], Any]]:
        query, since = variant(i)
        req = default_request(query, since=since)
        body = plain_body(query, since)
        return (
            lambda: run_search(client, alias, req),
            lambda: client.search(index=alias, **body),
        )

    return alternate(("(a) default /search", "(b) plain ES request"), pair, n, warmup)


def measure_alone(name: str, calls: list[Callable[[], Any]], n: int, warmup: int) -> Timing:
    before = load()
    samples = []
    for i in range(warmup + n):
        t = timed(calls[i % len(calls)])
        if i >= warmup:
            samples.append(t)
    return Timing(name, samples, f"{before} -> {load()}")


def throughput(client: Elasticsearch, alias: str, total: int) -> tuple[float, str]:
    before = load()
    counter = itertools.count()

    def work() -> None:
        for i in counter:
            if i >= total:
                return
            run_search(client, alias, default_request(QUERIES[i % len(QUERIES)]))

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        for f in [pool.submit(work) for _ in range(CLIENTS)]:
            f.result()
    return total / (time.perf_counter() - started), f"{before} -> {load()}"


# --- through the API over HTTP (--api) ---------------------------------------------------------


def api_params(query: str, since: date | None = None) -> list[tuple[str, str]]:
    """The query string of ``default_request(query, since=since)``: the API's defaults."""
    return [("q", query), *((("since", since.isoformat()),) if since else ())]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def api_server(alias: str) -> Iterator[str]:
    """The search API on ``alias`` in a subprocess (uvicorn, one worker) on a free port of
    127.0.0.1, against the node this process's environment names; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        env=os.environ | {"NEWSFLOW_INDEX": alias},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(
                    f"the API did not start:\n{proc.stderr.read() if proc.stderr else ''}"
                )
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the API did not answer /health within 60 s")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def serve(port: int) -> None:
    """The ``--serve`` subprocess: the API with the settings of the environment."""
    import uvicorn

    from newsflow.api import create_app

    uvicorn.run(create_app(Settings()), host="127.0.0.1", port=port, log_level="warning")


def measure_http(client: Elasticsearch, alias: str, base: str, n: int, warmup: int) -> list[Timing]:
    """The default search in this process and over HTTP, alternating request by request."""
    with httpx.Client(base_url=base, timeout=60) as http:

        def pair(i: int) -> tuple[Callable[[], Any], Callable[[], Any]]:
            query, since = variant(i)
            req = default_request(query, since=since)
            params = api_params(query, since)
            return (
                lambda: run_search(client, alias, req),
                lambda: http.get("/search", params=params).raise_for_status(),
            )

        return alternate(("default, in process", "default over HTTP"), pair, n, warmup)


async def http_throughput(base: str, total: int, max_seconds: float = 120) -> tuple[float, str]:
    """Requests/s of ``GET /search`` for ``total`` requests over ``CLIENTS`` concurrent
    connections (stops early after ``max_seconds``)."""
    before = load()
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

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(CLIENTS)))
        return done / (time.perf_counter() - started), f"{before} -> {load()}"


def index_facts(client: Elasticsearch, alias: str) -> dict[str, Any]:
    index = write_index(client, alias) or alias
    stats = client.indices.stats(index=index, metric="store,segments")["_all"]["primaries"]
    jvm = client.nodes.stats(metric="jvm")["nodes"]
    heap = next(iter(jvm.values()))["jvm"]["mem"]
    return {
        "docs": int(client.count(index=alias)["count"]),
        "store_gb": stats["store"]["size_in_bytes"] / 1e9,
        "segments": stats["segments"]["count"],
        "heap_max_gb": heap["heap_max_in_bytes"] / 2**30,
        "heap_used_gb": heap["heap_used_in_bytes"] / 2**30,
        "bench": _meta(client, index).get("bench", {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000, help="documents in the index")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per path")
    parser.add_argument("--warmup", type=int, default=40, help="untimed requests first")
    parser.add_argument("--rps-requests", type=int, default=200, help="requests, 10 clients")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE, help="bench node dir")
    parser.add_argument("--rebuild", action="store_true", help="build the index even if it exists")
    parser.add_argument("--no-merge", action="store_true", help="no force-merge after the build")
    parser.add_argument("--build-only", action="store_true", help="build or reuse, then stop")
    parser.add_argument(
        "--as-is", action="store_true", help="measure the index as it is (a part-built one too)"
    )
    parser.add_argument("--stop", action="store_true", help="stop the bench node at the end")
    parser.add_argument("--api", action="store_true", help="also through the API over HTTP")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the API subprocess
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    args.state_dir.mkdir(parents=True, exist_ok=True)
    env = node_env(args.state_dir)
    for key in ("NEWSFLOW_STATE_DIR", "NEWSFLOW_ES_URL", "NEWSFLOW_LOCAL_ES_HEAP"):
        os.environ[key] = env[key]
    newsflow_es(args.state_dir, "start")
    settings = Settings()
    client = Elasticsearch(f"http://127.0.0.1:{PORT}", request_timeout=120)
    alias = f"bench-search-{args.docs}"
    try:
        have = doc_count(client, alias)
        if args.as_is:
            print(f"measuring {alias} as it is: {have:,} documents", flush=True)
            finish_partial(client, alias, not args.no_merge)
        elif args.rebuild or have != args.docs:
            if args.rebuild:
                client.indices.delete(
                    index=f"{alias}-v*", ignore_unavailable=True, allow_no_indices=True
                )
            print(f"building {alias} ({have} documents there now), load {load()}", flush=True)
            build(client, settings, alias, args.docs, not args.no_merge, args.state_dir)
        else:
            print(f"reusing {alias}: {have:,} documents", flush=True)
        if args.build_only:
            return
        run(client, alias, args)
    finally:
        if args.stop:
            newsflow_es(args.state_dir, "stop")


def run(client: Elasticsearch, alias: str, args: argparse.Namespace) -> None:
    facts = index_facts(client, alias)
    timings = measure(client, alias, args.requests, args.warmup)
    suggest = [
        lambda p=p: client.search(index=alias, **build_suggest_query(p, timeout=TIMEOUT))
        for p in PREFIXES
    ]
    by_date = [lambda q=q: run_search(client, alias, default_request(q, "date")) for q in QUERIES]
    timings.append(measure_alone("/entities suggestions", suggest, args.requests // 5, 10))
    timings.append(measure_alone("date-sorted /search", by_date, args.requests // 5, 10))
    rps, rps_load = throughput(client, alias, args.rps_requests)
    http_rps: tuple[float, str] | None = None
    if args.api:
        with api_server(alias) as base:
            timings += measure_http(client, alias, base, args.requests // 2, args.warmup // 2)
            http_rps = asyncio.run(http_throughput(base, args.rps_requests))

    bench = facts["bench"]
    print(
        f"\n{facts['docs']:,} documents; index {facts['store_gb']:.2f} GB on disk, "
        f"{facts['segments']} segment(s), heap {facts['heap_max_gb']:.0f} GB "
        f"(used {facts['heap_used_gb']:.1f}); built in "
        f"{bench.get('base_seconds', 0) + bench.get('load_seconds', 0):.0f} s + force-merge "
        f"{bench.get('merge_seconds', 0):.0f} s ({bench.get('built_at', '?')})"
        + (f"; build stopped short of {args.docs:,}" if bench.get("partial") else "")
    )
    print(
        f"queries: {len(QUERIES)} in rotation, each round excluding a word of its own; "
        f"page of {HITS}; all {len(ALL_FACET_FIELDS)} facets"
    )
    head = f"{'path':<24}{'n':>5}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
    print(f"{head}  load avg (1/5/15 min) before -> after")
    for t in timings:
        print(
            f"{t.name:<24}{len(t.samples):>5}{t.pct(50):>9.1f}{t.pct(90):>9.1f}"
            f"{t.pct(99):>9.1f}{t.mean:>9.1f}  {t.load}"
        )
    print(f"default /search, {CLIENTS} concurrent clients: {rps:.1f} requests/s  ({rps_load})")
    if http_rps is not None:
        print(
            f"GET /search over HTTP, {CLIENTS} concurrent clients: {http_rps[0]:.1f} requests/s"
            f"  ({http_rps[1]})"
        )
    a, b = timings[0], timings[1]
    print(
        f"default_vs_plain_p50={a.pct(50) / b.pct(50):.2f} "
        f"default_vs_plain_p99={a.pct(99) / b.pct(99):.2f}"
    )


if __name__ == "__main__":
    main()
