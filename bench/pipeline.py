"""End-to-end throughput of the ingest flow, against the machine's limit and a naive baseline.

    .venv/bin/python bench/pipeline.py [--articles 2000] [--memory-check]

A corpus of real article pages (the demo corpus and tests/data/extraction-benchmark, each copy
at its own URL with its canonical link removed, so every copy is its own document) is served
from 127.0.0.1 and ingested into the local node by the real flow. In the same run, on the same
texts, it measures: NER alone with all cores (the limit: the faster of spaCy's ``n_process``
and one process per core as the pipeline's workers run it), a naive baseline (sequential
trafilatura.extract + the full spaCy pipeline + one index request per document), and the flow
with one worker process. Each configuration runs in a fresh process so peak memory is its own.
NER alone and the naive baseline run both before and after the flow, and the ratios use the
faster of each pair, so a slow spell of the machine cannot flatter them.
The limit of issue 22 is measured too: CPU per indexed article of plain ``trafilatura.extract``
plus NER alone on the same texts (cores x 1000 / that, in articles/s), and a ``newsflow run``
over ``--run-articles`` pages, start-up included, with the local Prefect server running.
The last line is ``end_to_end_vs_cpu_limit=<x> run500_vs_cpu_limit=<y> end_to_end_vs_naive=<z>``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import itertools
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsflow.settings import Settings  # noqa: E402
from tests.corpora import EXTRACTION_BENCHMARK  # noqa: E402

BENCHMARK = EXTRACTION_BENCHMARK / "html"
DEMO = ROOT / "demo" / "corpus"
# The canonical link would give every copy of a page the same id; the copies must be distinct.
_CANONICAL = re.compile(rb"<link[^>]+rel=[\"']canonical[\"'][^>]*>|<meta[^>]+og:url[^>]*>", re.I)
# Pages also declare their URL in JSON-LD; each served copy declares its own URL instead.
COPY_URL = b"__NEWSFLOW_COPY_URL__"


def _own_url(html: bytes) -> bytes:
    from trafilatura.metadata import extract_metadata

    stripped = _CANONICAL.sub(b"", html)
    declared = extract_metadata(stripped.decode("utf-8", "replace")).url
    if declared and declared.startswith("http"):
        stripped = stripped.replace(declared.encode("utf-8"), COPY_URL)
    return stripped


@functools.cache
def base_pages() -> dict[str, bytes]:
    pages = {p.relative_to(DEMO).as_posix(): p.read_bytes() for p in sorted(DEMO.rglob("*.html"))}
    # Served under "shared/" as before the pages moved into tests/data: the names' order
    # decides which pages a run copies once more, so the mix stays the one measured before.
    for p in sorted(BENCHMARK.glob("*.html.gz")):
        pages[f"shared/{p.name.removesuffix('.gz')}"] = gzip.decompress(p.read_bytes())
    return {name: _own_url(html) for name, html in pages.items()}


class _Site:
    """A running corpus site; ``shutdown()`` stops it."""

    def __init__(self, loop, server) -> None:
        self._loop, self._server = loop, server

    def shutdown(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)


def serve(pages: dict[str, bytes], copies: int) -> tuple[_Site, str]:
    """Serve /copy/<n>/<page> for every page and n < copies; returns (site, base_url).

    A small HTTP/1.1 server on asyncio (GET, keep-alive, as news sites serve). It stands in for
    remote sites, whose CPU is not this machine's, so it must take as little of it as it can:
    ``http.server`` cost 3 ms of CPU a page here, this one a fraction of that."""
    import asyncio

    # Each page split around its URL placeholder once: an answer only joins the parts.
    parts = {name: html.split(COPY_URL) for name, html in pages.items()}
    not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

    def answer(path: str, host: str) -> bytes:
        pieces = path.split("/", 3)
        chunks = parts.get(pieces[3]) if len(pieces) == 4 and pieces[1] == "copy" else None
        if chunks is None or not pieces[2].isdigit() or int(pieces[2]) >= copies:
            return not_found
        body = f"http://{host}{path}".encode().join(chunks)
        head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                fields = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                writer.write(answer(lines[0].split(" ")[1], fields.get("host", "127.0.0.1")))
                await writer.drain()
                if fields.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # the client went away
        except IndexError:
            pass  # not an HTTP request line
        finally:
            writer.close()

    started = threading.Event()
    box: dict = {}

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
        box["site"] = _Site(asyncio.get_running_loop(), server)
        box["port"] = server.sockets[0].getsockname()[1]
        started.set()
        with contextlib.suppress(asyncio.CancelledError):
            await server.serve_forever()

    threading.Thread(target=asyncio.run, args=(main(),), daemon=True).start()
    started.wait()
    return box["site"], f"http://127.0.0.1:{box['port']}"


def serve_apart(copies: int) -> tuple[subprocess.Popen, str]:
    """The same site from a process of its own: a remote website costs the flow process
    nothing, so the one standing in for it must not take the flow process's GIL either."""
    site = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(copies)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = site.stdout.readline() if site.stdout else ""
    if not line.startswith("http://"):
        site.kill()
        raise SystemExit(f"the corpus server did not start: {line!r}")
    return site, line.strip()


def page_list(pages: dict[str, bytes], articles: int) -> list[tuple[int, str]]:
    names = sorted(pages)
    return [(i // len(names), names[i % len(names)]) for i in range(articles)]


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def machine_since(before: tuple[int, int]) -> dict[str, float | None]:
    """Machine CPU seconds (every process) and the busy share of all cores since ``before``,
    a ``cpu_ticks()`` reading."""
    busy, total = (now - then for now, then in zip(cpu_ticks(), before, strict=True))
    return {
        "machine_cpu_s": busy / os.sysconf("SC_CLK_TCK"),
        "machine_busy": busy / total if total else None,
    }


class ProcessPeaks:
    """Peak resident memory of this process and each of its descendants, sampled twice a
    second (rusage only knows the largest child)."""

    RESCAN = 10  # samples between two listings of the process tree

    def __init__(self, others: dict[int, str] | None = None) -> None:
        import psutil

        self._me = psutil.Process()
        # Processes outside this one's tree whose CPU counts too (pid -> role): the local node.
        self._others = {pid: psutil.Process(pid) for pid in others or {}}
        self._other_roles = others or {}
        self.peaks: dict[int, tuple[str, float]] = {}
        self.cpu: dict[int, tuple[str, float]] = {}  # CPU seconds at the last sample
        self.ticks: list[tuple[float, int]] = []  # (monotonic time, machine busy ticks)
        # (monotonic time, pid -> CPU seconds) at every sample, to cut out the timed part.
        self.history: list[tuple[float, dict[int, float]]] = []
        # worker pid -> [(monotonic time, seconds on a core, seconds waiting for one)]
        self.sched: dict[int, list[tuple[float, float, float]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @staticmethod
    def _role(cmdline: list[str]) -> str:
        line = " ".join(cmdline)
        if "--serve" in line:
            return "corpus site (stands in for the web)"
        if "multiprocessing" in line and ("spawn" in line or "forkserver" in line):
            return "worker"
        if "resource_tracker" in line:
            return "multiprocessing resource tracker"
        if "prefect" in line or "uvicorn" in line:
            return "Prefect server"
        return cmdline[0].rsplit("/", 1)[-1] if cmdline else "?"

    def _watch(self) -> None:
        """Sample every process twice a second; the process tree is listed again every
        ``RESCAN`` samples only (psutil reads every process of the machine to list it, and this
        thread's CPU is the flow process's). Its own CPU is its own row, not the flow's."""
        import psutil

        tree: list[psutil.Process] = []
        for sample in itertools.count():
            if self._stop.wait(0.5):
                return
            self.ticks.append((time.monotonic(), cpu_ticks()[0]))
            if sample % self.RESCAN == 0:
                tree = self._me.children(recursive=True)
            for proc in [self._me, *tree]:
                try:
                    mb = proc.memory_info().rss / 2**20
                    known = self.cpu.get(proc.pid)  # an exiting process's cmdline is empty
                    if proc is self._me:
                        role = "flow"
                    else:
                        role = known[0] if known else self._role(proc.cmdline())
                    times = proc.cpu_times()
                except psutil.Error:
                    continue
                if mb > self.peaks.get(proc.pid, ("", 0.0))[1]:
                    self.peaks[proc.pid] = (role, mb)
                mine = time.thread_time() if proc is self._me else 0.0
                self.cpu[proc.pid] = (role, times.user + times.system - mine)
                if proc is self._me:
                    self.cpu[-1] = ("bench sampler (a thread of flow)", mine)
            for pid, other in self._others.items():
                with contextlib.suppress(psutil.Error):
                    times = other.cpu_times()
                    self.cpu[pid] = (self._other_roles[pid], times.user + times.system)
            now = time.monotonic()
            self.history.append((now, {pid: seconds for pid, (_, seconds) in self.cpu.items()}))
            for pid, (role, _) in list(self.cpu.items()):
                if role == "worker" and (sched := _schedstat(pid)) is not None:
                    self.sched.setdefault(pid, []).append((now, *sched))

    def __enter__(self) -> ProcessPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def busy_since(self, moment: float) -> float:
        """Machine CPU seconds (every process) from the first sample at or after ``moment``."""
        now = cpu_ticks()[0]
        start = next((busy for at, busy in self.ticks if at >= moment), now)
        return (now - start) / os.sysconf("SC_CLK_TCK")

    def timed_cpu(self, moment: float) -> list[tuple[str, float]]:
        """CPU seconds of each process, summed by role, from the first sample at or after
        ``moment`` to the last: a process started later counts from its start."""
        start = next((cpu for at, cpu in self.history if at >= moment), {})
        by_role: dict[str, float] = {}
        for pid, (role, seconds) in self.cpu.items():
            by_role[role] = by_role.get(role, 0.0) + seconds - start.get(pid, 0.0)
        return sorted(by_role.items(), key=lambda item: -item[1])

    def worker_time(self, moment: float) -> dict[str, float]:
        """Seconds of the workers' lives from ``moment`` (or their start), summed: on a core,
        runnable but waiting for one (other processes had the cores), and asleep, waiting for
        work (the pipeline's bubbles). The kernel's per-task counts, so the machine's other
        load moves time between the first two but not into the third."""
        totals = {"on a core": 0.0, "waiting for a core": 0.0, "waiting for work": 0.0}
        for samples in self.sched.values():
            timed = [sample for sample in samples if sample[0] >= moment]
            if len(timed) < 2:
                continue
            (t0, run0, wait0), (t1, run1, wait1) = timed[0], timed[-1]
            totals["on a core"] += run1 - run0
            totals["waiting for a core"] += wait1 - wait0
            totals["waiting for work"] += (t1 - t0) - (run1 - run0) - (wait1 - wait0)
        return totals

    def table(self) -> list[tuple[str, float]]:
        return sorted(self.peaks.values(), key=lambda item: (item[0] != "flow", item[0]))

    def cpu_table(self, before: dict[int, float]) -> list[tuple[str, float]]:
        """CPU seconds of each process, summed by role: during the run for those that existed
        before it (``before``: pid -> CPU seconds then; the flow process, the corpus site), the
        others' since they started (model loading and Prefect's start included)."""
        by_role: dict[str, float] = {}
        for pid, (role, seconds) in self.cpu.items():
            seconds -= before.get(pid, 0.0)
            by_role[role] = by_role.get(role, 0.0) + seconds
        return sorted(by_role.items(), key=lambda item: -item[1])


def _schedstat(pid: int) -> tuple[float, float] | None:
    """Seconds a process's main thread has run on a core and waited runnable for one, from
    the kernel's scheduler counts (None when gone or not kept)."""
    try:
        on_cpu, waiting = Path(f"/proc/{pid}/schedstat").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def _jit_seconds(pid: int | None) -> float:
    """CPU seconds a JVM's JIT compiler threads (``C1/C2 CompilerThread``) have used: the
    local node compiles its hot code as it first runs it, so a node started shortly before a
    run spends much of its CPU there rather than on the documents."""
    if pid is None:
        return 0.0
    ticks = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            comm, fields = (task / "stat").read_text().rsplit(")", 1)
        except OSError:  # the thread ended meanwhile
            continue
        if re.search(r"\(C\d CompilerThre", comm):
            utime, stime = fields.split()[11:13]
            ticks += int(utime) + int(stime)
    return ticks / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def peak_rss_mb() -> dict[str, float]:
    return {
        "main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "largest_child": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


# --- One configuration per process -------------------------------------------------------


def _drop_bench_index(client, alias: str) -> None:
    """Delete a bench run's indices and the index template made for them."""
    client.indices.delete(index=f"{alias}*", ignore_unavailable=True)
    client.options(ignore_status=404).indices.delete_index_template(name=f"newsflow-{alias}")


def run_flow(articles: int, workers: int) -> dict:
    settings = Settings(
        index=f"bench-{uuid.uuid4().hex[:8]}",
        cpu_workers=workers,
        allowed_private_networks=["127.0.0.0/8"],  # the corpus is served from 127.0.0.1
    )
    # The same Prefect set-up as the CLI: project-local, quiet, ephemeral.
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from elasticsearch import Elasticsearch

    from newsflow.flows.ingest import ingest
    from newsflow.store.client import make_client

    pages = base_pages()
    site, base = serve_apart(copies=articles // len(pages) + 1)
    urls = [f"{base}/copy/{n}/{name}" for n, name in page_list(pages, articles)]
    client: Elasticsearch = make_client(settings)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(urls) + "\n")
    try:
        ticks_before = cpu_ticks()
        # The flow process, the corpus site and the local node existed before the run (the
        # site read and rewrote its pages then): only their CPU during the run counts.
        before = {os.getpid(): sum(os.times()[:2]), site.pid: _cpu_seconds(site.pid)}
        es_pid = _es_pid(settings)
        others = {es_pid: "Elasticsearch JVM"} if es_pid is not None else {}
        if es_pid is not None:
            before[es_pid] = _cpu_seconds(es_pid)
        jit_before = _jit_seconds(es_pid)
        with ProcessPeaks(others) as peaks:
            summary = ingest([listing.name], settings, backfill=True)
            es_jit = _jit_seconds(es_pid) - jit_before
            # The flow's own seconds leave out Prefect's start; so do these CPU figures.
            timed_from = time.monotonic() - summary["seconds"]
            flow_cpu = peaks.busy_since(timed_from)
        timed_cpu = peaks.timed_cpu(timed_from)
        worker_time = peaks.worker_time(timed_from)
        machine = machine_since(ticks_before)
        indexed_now = client.count(index=settings.index)["count"]
    finally:
        _drop_bench_index(client, settings.index)
        os.unlink(listing.name)
        site.terminate()
        site.wait()
    return {
        "articles": articles,
        "workers": workers,
        "seconds": summary["seconds"],
        "indexed": indexed_now,
        "failed": summary["failed"],
        "stage_seconds": summary["stage_seconds"],
        "rate": summary["indexed"] / summary["seconds"],
        # Of all cores, over the whole run (Prefect start included): how much stood idle.
        **machine,
        "peak_rss_mb": peak_rss_mb(),
        "process_peaks_mb": peaks.table(),
        "process_cpu_s": peaks.cpu_table(before),
        "machine_cpu_flow_s": flow_cpu,
        # The timed part only, every process of the run and the local node by role.
        "timed_cpu_s": timed_cpu,
        # The node's JIT compiler over the whole run (Prefect's start included).
        "es_jit_s": es_jit,
        "worker_time_s": worker_time,
    }


def _texts(count: int) -> list[str]:
    from newsflow.transforms.clean.extract import clean_page
    from newsflow.transforms.enrich.entities import ner_text
    from newsflow.transforms.fetch.download import decode_html
    from newsflow.transforms.models import Article, Page

    texts = []
    for name, html in base_pages().items():
        text, enc = decode_html(html)
        page = Page(
            url=f"http://bench/{name}",
            final_url=f"http://bench/{name}",
            html=text,
            encoding=enc,
            fetched_at=datetime.now(UTC),
        )
        article = clean_page(page)
        if isinstance(article, Article) and article.language in ("en", None):
            texts.append(ner_text(article))
    return [texts[i % len(texts)] for i in range(count)]


def run_ner_limit(count: int, workers: int) -> dict:
    from newsflow.transforms.enrich.entities import load_model

    settings = Settings()
    texts = _texts(count)
    # The pipeline's model, ops and one BLAS thread, inherited by the processes spaCy forks.
    nlp = load_model(settings.spacy_model)
    timed = _timed_ner(
        count, lambda: sum(len(d.ents) for d in nlp.pipe(texts, n_process=workers, batch_size=16))
    )
    return {**timed, "peak_rss_mb": peak_rss_mb()}


def run_cpu_limit(articles: int) -> dict:
    """The work no pipeline can skip, in CPU ms per indexed article: plain
    ``trafilatura.extract`` of every page plus NER alone (the configured model and ops, one
    BLAS thread) on exactly the texts the pipeline runs NER on, in the proportions of an
    ``articles``-page run. Measured in this one process with ``time.process_time``, so the
    rest of the machine's load does not count; with every core busy the limit is
    cores x 1000 / that many articles/s."""
    import trafilatura

    from newsflow.transforms.clean.extract import clean_page
    from newsflow.transforms.enrich.entities import load_model, ner_text
    from newsflow.transforms.fetch.download import decode_html
    from newsflow.transforms.models import Article, Page

    settings = Settings()
    pages = base_pages()
    nlp = load_model(settings.spacy_model)
    htmls, texts, kept = {}, {}, set()
    for name, raw in pages.items():
        html, encoding = decode_html(raw)
        htmls[name] = html
        url = f"http://bench/{name}"
        page = Page(
            url=url, final_url=url, html=html, encoding=encoding, fetched_at=datetime.now(UTC)
        )
        article = clean_page(page)
        if isinstance(article, Article):
            kept.add(name)
            if article.language in ("en", None):
                texts[name] = ner_text(article)
    sample = [name for _, name in page_list(pages, min(articles, 800))]
    trafilatura.extract(htmls[sample[0]])  # warm: lazy imports and caches
    list(nlp.pipe([texts[n] for n in sample[:4] if n in texts]))
    started = time.process_time()
    for name in sample:
        trafilatura.extract(htmls[name])
    extract_cpu = time.process_time() - started
    ner_sample = [texts[name] for name in sample if name in texts]
    started = time.process_time()
    for _ in nlp.pipe(ner_sample, batch_size=64):
        pass
    ner_cpu = time.process_time() - started
    # Per article the pipeline indexes, as its rate counts them: an article in a language
    # without a model is indexed without NER, so it costs the limit its extract only.
    indexed = max(sum(1 for name in sample if name in kept), 1)
    return {
        "pages": len(sample),
        "indexed": indexed,
        "articles": len(ner_sample),
        "extract_ms": extract_cpu / indexed * 1000,
        "ner_ms": ner_cpu / indexed * 1000,
    }


def run_cli(articles: int) -> dict:
    """``newsflow run`` over ``articles`` pages as a user starts it, start-up included, with
    the local Prefect server running (started here if it is not, and stopped again)."""
    newsflow = str(Path(sys.executable).parent / "newsflow")
    env = {
        **os.environ,
        "NEWSFLOW_INDEX": f"bench-cli-{uuid.uuid4().hex[:8]}",
        "NEWSFLOW_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
    }
    running = subprocess.run([newsflow, "prefect", "status"], env=env, capture_output=True)
    if running.returncode != 0:
        subprocess.run([newsflow, "prefect", "start"], env=env, check=True, capture_output=True)
    pages = base_pages()
    site, base = serve_apart(copies=articles // len(pages) + 1)
    urls = [f"{base}/copy/{n}/{name}" for n, name in page_list(pages, articles)]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(urls) + "\n")
    from newsflow.store.client import make_client

    client = make_client(Settings(index=env["NEWSFLOW_INDEX"]))
    try:
        ticks_before = cpu_ticks()
        started = time.perf_counter()
        done = subprocess.run(
            [newsflow, "run", "--json", "--source", listing.name],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        seconds = time.perf_counter() - started
        machine = machine_since(ticks_before)
        if done.returncode != 0:
            raise SystemExit(f"newsflow run failed:\n{done.stderr[-3000:]}")
        summary = json.loads(done.stdout[done.stdout.index("{") :])
    finally:
        _drop_bench_index(client, env["NEWSFLOW_INDEX"])
        os.unlink(listing.name)
        site.terminate()
        site.wait()
        if running.returncode != 0:
            subprocess.run([newsflow, "prefect", "stop"], env=env, capture_output=True)
    return {
        "articles": articles,
        "seconds": seconds,
        "indexed": summary["indexed"],
        "rate": summary["indexed"] / seconds,
        **machine,
    }


def _timed_ner(count: int, work: Callable[[], int]) -> dict:
    """Rate and machine CPU of ``work``, which runs NER over ``count`` texts and returns the
    number of entities found."""
    ticks_before = cpu_ticks()
    started = time.perf_counter()
    found = work()
    seconds = time.perf_counter() - started
    return {
        "articles": count,
        "seconds": seconds,
        "rate": count / seconds,
        "entities": found,
        **machine_since(ticks_before),
    }


_WORKER: dict = {}  # in each per-core NER process: its barrier and model


def _ner_worker_start(model_name: str, barrier) -> None:
    from newsflow.transforms.enrich.entities import load_model

    _WORKER.update(barrier=barrier, nlp=load_model(model_name))


def _ner_worker_ready(_: int) -> None:
    # Every worker waits here, so each one takes one of these tasks: all models are loaded.
    _WORKER["barrier"].wait()


def _ner_worker_count(texts: list[str]) -> int:
    return sum(len(doc.ents) for doc in _WORKER["nlp"].pipe(texts, batch_size=64))


def run_ner_per_core(count: int, workers: int) -> dict:
    """NER alone as the pipeline's workers run it: one process per core with the model loaded
    before the clock starts, texts in, entity counts out (spaCy's ``n_process`` sends every
    Doc back to the parent, which costs CPU the pipeline never spends)."""
    import multiprocessing

    settings = Settings()
    texts = _texts(count)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    with context.Pool(
        workers, initializer=_ner_worker_start, initargs=(settings.spacy_model, barrier)
    ) as pool:
        pool.map(_ner_worker_ready, range(workers), chunksize=1)
        chunks = [texts[i : i + 32] for i in range(0, len(texts), 32)]
        return _timed_ner(count, lambda: sum(pool.imap_unordered(_ner_worker_count, chunks)))


def run_naive(count: int, blas: int = 0) -> dict:
    """The naive baseline; with ``blas``, its spaCy computes with the pipeline's BLAS ops
    (``transforms/enrich/blas.py``), to show what the rest of the pipeline's design gains."""
    import spacy
    import trafilatura

    from newsflow.store.client import make_client
    from newsflow.transforms.enrich.blas import numpy_blas_ops, single_blas_thread
    from newsflow.transforms.fetch.download import decode_html

    settings = Settings()
    if blas:
        single_blas_thread()  # sequential: one core
    with numpy_blas_ops() if blas else contextlib.nullcontext():
        nlp = spacy.load(settings.spacy_model)  # the full pipeline, as a first script would
    client = make_client(settings)
    index = f"bench-naive-{uuid.uuid4().hex[:8]}"
    pages = base_pages()
    names = sorted(pages)
    started = time.perf_counter()
    for i in range(count):
        html, _ = decode_html(pages[names[i % len(names)]])
        text = trafilatura.extract(html) or ""
        doc = nlp(text)
        client.index(
            index=index,
            id=str(i),
            document={
                "body": text,
                "entities": [{"name": e.text, "label": e.label_} for e in doc.ents],
            },
        )
    seconds = time.perf_counter() - started
    client.indices.delete(index=index, ignore_unavailable=True)
    return {
        "articles": count,
        "seconds": seconds,
        "rate": count / seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def _one(kind: str, *args: str) -> dict:
    """Run one configuration in a fresh interpreter; its last stdout line is JSON."""
    done = subprocess.run(
        [sys.executable, __file__, "--one", kind, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{kind} {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# Issue 20's targets, on each half by site: extraction F1 and precision, facet (P, R).
EXTRACTION_TARGETS = {"f1": 0.975, "precision": 0.965}
FACET_TARGETS = {"person": (0.92, 0.85), "location": (0.90, 0.85), "organization": (0.75, 0.75)}


def run_quality() -> dict:
    """Extraction and facet quality of the code being benchmarked, on each half by site of the
    real pages in tests/data, so that speed work that costs quality shows."""
    from bench import extraction, facets
    from bench.quality import TYPES, entity_gold, run_newsflow
    from tests.corpora import HALVES

    pages = extraction.load_pages(extraction.corpus_dir())
    bodies = extraction.by_half(extraction.evaluate(pages, ["project"])["project"])
    run = run_newsflow(sorted(entity_gold()), quotes=False)
    entities = facets.score_systems({"newsflow": facets.newsflow_facets(run)}, run.halves)
    return {
        "extraction": {
            h: {"precision": s.precision, "recall": s.recall, "f1": s.f1} for h, s in bodies.items()
        },
        "facets": {
            h: {
                t: {m: entities["newsflow"][h][t][m] for m in ("precision", "recall")}
                for t in TYPES
            }
            for h in HALVES
        },
    }


def _quality_lines(quality: dict) -> list[str]:
    lines = []
    for h, ext in quality["extraction"].items():
        ok = all(ext[m] >= floor for m, floor in EXTRACTION_TARGETS.items())
        lines.append(
            f"  extraction, half {h}: F1 {ext['f1']:.4f}, precision {ext['precision']:.4f}, "
            f"recall {ext['recall']:.4f} [{'targets met' if ok else 'BELOW TARGET'}]"
        )
    for h, by_type in quality["facets"].items():
        for kind, s in by_type.items():
            precision, recall = FACET_TARGETS[kind]
            ok = s["precision"] >= precision and s["recall"] >= recall
            lines.append(
                f"  {kind} facets, half {h}: precision {s['precision']:.3f}, recall "
                f"{s['recall']:.3f} [{'targets met' if ok else 'BELOW TARGET'}]"
            )
    return lines


def core_time_rows(flow: dict, cores: int, limit_ms: float) -> list[tuple[str, float]]:
    """Every core second of the flow's timed part (cores x its wall seconds), by where it
    went: each process of the run and the local node by role, the rest of the machine's
    processes (other work on a shared box), and idle cores (the pipeline's bubbles: start,
    end, waits between stages). The first row is the part the CPU limit cannot skip."""
    ours = [(role, seconds) for role, seconds in flow["timed_cpu_s"] if seconds > 0.005]
    busy = flow["machine_cpu_flow_s"]
    total = cores * flow["seconds"]
    return [
        ("of which the CPU limit (extract + NER)", limit_ms * flow["indexed"] / 1000),
        *ours,
        ("other processes on the machine", busy - sum(seconds for _, seconds in ours)),
        ("idle cores", total - busy),
        (f"all {cores} cores over the run", total),
    ]


def _memory_rows(small: dict, big: dict) -> list[tuple[str, float, float]]:
    """Peak memory of two runs side by side: the flow process, the largest worker, and the
    pipeline's processes together (the corpus site left out: it stands in for the web)."""

    def summed(run: dict, role: str | None = None) -> tuple[float, float]:
        mbs = [
            mb
            for r, mb in run["process_peaks_mb"]
            if (role is None and not r.startswith("corpus site")) or r == role
        ]
        return max(mbs, default=0.0), sum(mbs)

    return [
        ("flow process", summed(small, "flow")[0], summed(big, "flow")[0]),
        ("largest worker", summed(small, "worker")[0], summed(big, "worker")[0]),
        ("sum of the process peaks", summed(small)[1], summed(big)[1]),
    ]


def _es_pid(settings: Settings) -> int | None:
    """The local node's JVM, or None when there is no local node."""
    pid_file = settings.state_dir / "elasticsearch" / "elasticsearch.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def _es_proc(settings: Settings, name: str) -> str | None:
    """A /proc file of the local node's JVM, or None when there is no local node."""
    pid = _es_pid(settings)
    try:
        return Path(f"/proc/{pid}/{name}").read_text() if pid is not None else None
    except OSError:
        return None


def _es_peak_mb(settings: Settings) -> float | None:
    status = _es_proc(settings, "status")
    if status is None:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--naive-articles", type=int, default=150)
    parser.add_argument(
        "--run-articles", type=int, default=500, help="pages of the timed `newsflow run`"
    )
    parser.add_argument(
        "--memory-check",
        action="store_true",
        help="also run 10x the articles and compare peak memory",
    )
    parser.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import logging

    for noisy in ("trafilatura", "htmldate", "courlan"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    if args.serve:
        _, base = serve(base_pages(), args.serve)
        print(base, flush=True)
        threading.Event().wait()  # until the benchmark terminates this process
        return
    if args.one:
        kind, rest = args.one[0], [int(a) for a in args.one[1:]]
        runs = {
            "flow": run_flow,
            "ner": run_ner_limit,
            "ner-per-core": run_ner_per_core,
            "naive": run_naive,
            "quality": run_quality,
            "cpu-limit": run_cpu_limit,
            "cli": run_cli,
        }
        result = runs[kind](*rest)
        print(json.dumps(result))
        return

    cores = len(os.sched_getaffinity(0))
    print(
        f"corpus: {args.articles} article pages ({len(base_pages())} distinct pages, served "
        f"from 127.0.0.1); {cores} cores"
    )
    # The references are measured on both sides of the flow: this machine's speed drifts by
    # up to a third within the hour, and a reference caught in a slow spell flatters the ratios.
    # The faster of each pair is the one compared against.
    ner_texts = str(min(args.articles, 800))
    ner_runs = [_one("ner", ner_texts, str(cores))]
    core_runs = [_one("ner-per-core", ner_texts, str(cores))]
    naive_runs = [_one("naive", str(args.naive_articles))]
    flow = _one("flow", str(args.articles), str(cores))
    naive_runs.append(_one("naive", str(args.naive_articles)))
    naive_blas = _one("naive", str(args.naive_articles), "1")
    core_runs.append(_one("ner-per-core", ner_texts, str(cores)))
    ner_runs.append(_one("ner", ner_texts, str(cores)))
    single = _one("flow", str(args.articles // 2), "1")
    limits = [_one("cpu-limit", str(args.articles)) for _ in range(2)]
    cli = _one("cli", str(args.run_articles))
    limits.append(_one("cpu-limit", str(args.articles)))
    # The least CPU measured is the one least disturbed by the rest of the machine.
    limit = min(limits, key=lambda run: run["extract_ms"] + run["ner_ms"])
    limit_rate = cores * 1000 / (limit["extract_ms"] + limit["ner_ms"])
    # The limit is the fastest NER alone measured, whichever way it ran.
    ner = max([*ner_runs, *core_runs], key=lambda run: run["rate"])
    naive = max(naive_runs, key=lambda run: run["rate"])

    print(
        f"\nend to end ({cores} workers): {flow['indexed']} indexed, {flow['failed']} failed, "
        f"{flow['seconds']:.1f}s, {flow['rate']:.2f} articles/s"
    )
    if flow.get("machine_busy") is not None:
        print(f"all {cores} cores busy {flow['machine_busy']:.0%} of the run (every process)")
    print(f"{'stage':<8}{'cpu s':>10}{'wall s':>10}")
    for stage, t in flow["stage_seconds"].items():
        print(f"{stage:<8}{t['cpu']:>10.1f}{t['wall']:>10.1f}")
    print("\npeak resident memory (MB)")
    for role, mb in flow.get("process_peaks_mb", []):
        print(f"  {role:<36}{mb:>8.0f}")
    print(
        f"  flow process {flow['peak_rss_mb']['main']:.0f}, largest worker/child "
        f"{flow['peak_rss_mb']['largest_child']:.0f}, Elasticsearch JVM "
        f"{_es_peak_mb(Settings()) or float('nan'):.0f}"
    )
    if flow.get("process_cpu_s"):
        print("\ncpu seconds by process (flow, site: during the run; others: since their start)")
        rows = [*flow["process_cpu_s"], ("machine (every process)", flow["machine_cpu_s"])]
        for role, seconds in rows:
            per_article = seconds / max(flow["indexed"], 1) * 1000
            print(f"  {role:<36}{seconds:>8.1f}{per_article:>8.1f} ms/article")
    print("\nreference figures, same texts, same run")
    print(f"  NER alone, the limit: {ner['rate']:.2f} articles/s, the fastest of")
    before_after = " / ".join(f"{run['rate']:.2f}" for run in ner_runs)
    print(
        f"    spaCy's n_process={cores} (each Doc sent back): "
        f"before / after the flow {before_after}"
    )
    before_after = " / ".join(f"{run['rate']:.2f}" for run in core_runs)
    print(
        f"    one process per core, entity counts back (as the pipeline's workers): before / "
        f"after the flow {before_after}"
    )
    before_after = " / ".join(f"{run['rate']:.2f}" for run in naive_runs)
    print(
        f"  naive baseline (extract + full spaCy + one request per doc): "
        f"{naive['rate']:.2f} articles/s on {naive['articles']} articles (before / after the "
        f"flow: {before_after}); the same with the pipeline's BLAS ops (enrich/blas.py): "
        f"{naive_blas['rate']:.2f}, end to end {flow['rate'] / naive_blas['rate']:.2f}x that"
    )
    print(
        f"  flow with 1 worker: {single['rate']:.2f} articles/s; scaling "
        f"{flow['rate'] / single['rate']:.2f}x with {cores}"
    )
    if ner.get("machine_cpu_s") and flow.get("machine_cpu_flow_s"):
        # What the cores can give: with all of them busy, throughput is cores / CPU per article.
        ner_ms = ner["machine_cpu_s"] / ner["articles"] * 1000
        flow_ms = flow["machine_cpu_flow_s"] / max(flow["indexed"], 1) * 1000
        print(
            f"  CPU per article, every process, over the timed part: NER alone {ner_ms:.0f} ms, "
            f"end to end {flow_ms:.0f} ms; with every core busy the end to end reaches at most "
            f"{ner_ms / flow_ms:.2f} of the limit"
        )
    print(
        f"\nthe CPU limit: plain trafilatura.extract {limit['extract_ms']:.1f} ms + NER alone "
        f"{limit['ner_ms']:.1f} ms of CPU per indexed article ({limit['indexed']} of "
        f"{limit['pages']} pages indexed, {limit['articles']} of them through NER; least of "
        f"{len(limits)}: "
        + ", ".join(f"{r['extract_ms'] + r['ner_ms']:.1f}" for r in limits)
        + f"); {cores} cores busy: {limit_rate:.2f} articles/s"
    )
    print(f"  end to end ({args.articles} articles): {flow['rate'] / limit_rate:.2f} of it")
    print(
        f"  `newsflow run` over {cli['articles']} pages, start-up included, local Prefect "
        f"server running: {cli['indexed']} indexed in {cli['seconds']:.1f}s, "
        f"{cli['rate']:.2f} articles/s, {cli['rate'] / limit_rate:.2f} of it"
    )
    if flow.get("timed_cpu_s"):
        print(
            f"\nwhere the core seconds of the timed run went ({flow['seconds']:.1f}s on {cores} "
            "cores; per indexed article, the limit's share first)"
        )
        for role, seconds in core_time_rows(flow, cores, limit["extract_ms"] + limit["ner_ms"]):
            per_article = seconds / max(flow["indexed"], 1) * 1000
            print(f"  {role:<40}{seconds:>8.1f} s{per_article:>8.1f} ms/article")
            if role == "Elasticsearch JVM" and "es_jit_s" in flow:
                jit = flow["es_jit_s"]
                per_article = jit / max(flow["indexed"], 1) * 1000
                label = "  of which its JIT compiler (whole run)"
                print(f"  {label:<40}{jit:>8.1f} s{per_article:>8.1f} ms/article")
        print("  the workers' lives (main thread, from the kernel's scheduler counts):")
        for state, seconds in flow.get("worker_time_s", {}).items():
            per_article = seconds / max(flow["indexed"], 1) * 1000
            print(f"    {state:<38}{seconds:>8.1f} s{per_article:>8.1f} ms/article")
    quality = _one("quality")
    print("\nquality of the same code (unchanged by the speed work?)")
    print("\n".join(_quality_lines(quality)))
    if args.memory_check:
        big = _one("flow", str(args.articles * 10), str(cores))
        print(f"\nmemory: {args.articles} vs {args.articles * 10} articles (peak RSS, MB)")
        for label, small_mb, big_mb in _memory_rows(flow, big):
            print(f"  {label:<28}{small_mb:>8.0f}{big_mb:>8.0f}   {big_mb / small_mb:.2f}x")
        print(
            f"  rate at {args.articles * 10}: {big['rate']:.2f} articles/s, "
            f"{big['rate'] / limit_rate:.2f} of the CPU limit"
        )
    print(f"\nend_to_end_vs_ner_limit={flow['rate'] / ner['rate']:.2f}")
    print(
        f"end_to_end_vs_cpu_limit={flow['rate'] / limit_rate:.2f} "
        f"run500_vs_cpu_limit={cli['rate'] / limit_rate:.2f} "
        f"end_to_end_vs_naive={flow['rate'] / naive['rate']:.2f}"
    )


if __name__ == "__main__":
    main()
