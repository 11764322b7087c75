"""Fetch throughput with politeness on: 20 hosts, 50 ms simulated latency per response.

A child process serves 20 hosts, one asyncio server per loopback address 127.0.0.2 ...
127.0.0.21 (HTTP/1.1 keep-alive, every answer delayed by ``--latency``; robots.txt answers
404). This process fetches ``--pages`` article URLs spread evenly over the hosts with
``fetch_pages`` (transforms/fetch/download.py) and the default per-host settings, and prints
pages/s, the theoretical bounds and the peak RSS of the fetching process (``ru_maxrss``; the
servers live in the child so they do not count).

    .venv/bin/python bench/fetch_bench.py            # ~10 s
    .venv/bin/python bench/fetch_bench.py --pages 2000 --latency 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsflow.options import fetch_options  # noqa: E402
from newsflow.settings import Settings  # noqa: E402
from newsflow.transforms.fetch.download import FetchOptions, fetch_pages  # noqa: E402
from newsflow.transforms.fetch.robots import RobotsCache  # noqa: E402

HOSTS = [f"127.0.0.{i}" for i in range(2, 22)]
PAGE = (ROOT / "demo" / "corpus" / "harbour-gazette" / "storm-isolde-power-cuts.html").read_bytes()


async def _serve(latency: float) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                await asyncio.sleep(latency)  # simulated network + server time
                if path == b"/robots.txt":
                    status, body, ctype = b"404 Not Found", b"", b"text/plain"
                else:
                    status, body, ctype = b"200 OK", PAGE, b"text/html; charset=utf-8"
                writer.write(
                    b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                    % (status, ctype, len(body))
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, host, 0, backlog=256) for host in HOSTS]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(" ".join(map(str, ports)), flush=True)
    await asyncio.Event().wait()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(urls: list[str], opts: FetchOptions) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds of this process, pages, failures."""
    cpu = time.process_time()
    began = time.perf_counter()
    pages, failures = fetch_pages(urls, opts)
    spent = time.perf_counter() - began
    if failures:
        print(f"  {len(failures)} failures, first: {failures[0]}")
    return spent, time.process_time() - cpu, len(pages), len(failures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.latency))
        return

    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ports = [int(p) for p in child.stdout.readline().split()]
        urls = [
            f"http://{HOSTS[i % len(HOSTS)]}:{ports[i % len(HOSTS)]}/article/{i}"
            for i in range(args.pages)
        ]
        # The run's own options from default settings; the hosts are on 127.0.0.0/8.
        base = fetch_options(Settings(allowed_private_networks=["127.0.0.0/8"]))
        rss_before = _peak_rss_mb()
        print(
            f"{len(HOSTS)} hosts (distinct loopback addresses), {args.pages} pages of "
            f"{len(PAGE) / 1000:.1f} kB, {args.latency * 1000:.0f} ms latency per response"
        )
        configs = [
            ("default settings", base),
            (
                "global limit = hosts x per-host",
                _with(base, concurrency=len(HOSTS) * base.per_host),
            ),
        ]
        for name, opts in configs:
            opts = _with(opts, robots=RobotsCache())  # each run fetches robots.txt afresh
            load = os.getloadavg()[0]
            spent, cpu, ok, failed = _run(urls, opts)
            per_host_bound = len(HOSTS) * opts.per_host / args.latency
            bound = min(per_host_bound, opts.concurrency / args.latency)
            rate = ok / spent
            print(
                f"{name}: concurrency={opts.concurrency} per_host={opts.per_host} "
                f"host_delay={opts.host_delay:g}s -> {rate:.0f} pages/s ({ok} ok, {failed} "
                f"failed, {spent:.2f} s)\n"
                f"  bound hosts x per_host / latency = {per_host_bound:.0f} pages/s; with the "
                f"global limit {bound:.0f} pages/s; achieved {rate / bound:.0%} of it\n"
                f"  fetcher CPU {cpu / max(ok, 1) * 1000:.1f} ms/page; machine load average "
                f"{load:.1f} on {os.cpu_count()} CPUs"
            )
        print(
            f"peak RSS of the fetching process: {_peak_rss_mb():.0f} MB "
            f"(after imports, before fetching: {rss_before:.0f} MB)"
        )
    finally:
        child.terminate()
        child.wait(timeout=10)


def _with(opts: FetchOptions, **changes) -> FetchOptions:
    from dataclasses import replace

    return replace(opts, **changes)


if __name__ == "__main__":
    main()
