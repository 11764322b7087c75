"""CPU cost of the clean step per page: plain ``trafilatura.extract`` against ``clean_page``.

    .venv/bin/python bench/clean_speed.py               # ms/page CPU and F1, one pass
    .venv/bin/python bench/clean_speed.py --rounds 3    # best of three passes per page
    .venv/bin/python bench/clean_speed.py --profile 30  # and the 30 costliest calls of clean_page
    .venv/bin/python bench/clean_speed.py --dump /tmp/before.json      # every page's output...
    .venv/bin/python bench/clean_speed.py --compare /tmp/before.json   # ...the same after a change?

Pages: the 130 of ``tests/data/extraction-benchmark`` (see ``bench/extraction.py``)
and the 46 of ``demo/corpus`` (decoded with the encoding their manifests give). Each page is
run through both extractors one after the other, in one process, so that load from other
processes on the machine weighs on both alike; the time is the process CPU time
(``time.process_time``), the best of ``--rounds`` passes. In the same run the benchmark pages'
bodies are scored (P/R/F1, the benchmark's metric), so a speed-up that loses quality shows.

The last line is machine-readable:
``clean_ms_per_page=.. trafilatura_ms_per_page=.. clean_vs_trafilatura=.. project_f1=..``
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import importlib.util
import json
import pstats
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trafilatura

from newsflow.transforms.clean.extract import clean_page
from newsflow.transforms.models import Article, Failure, Page

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo" / "corpus"


def _extraction_bench():
    spec = importlib.util.spec_from_file_location(
        "newsflow_bench_extraction", ROOT / "bench" / "extraction.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def demo_pages(root: Path = DEMO) -> list[Page]:
    """The demo corpus pages, decoded as their manifests say, at their canonical URLs."""
    manifest: dict[str, dict] = {}
    for path in sorted(root.glob("manifest-*.json")):
        manifest.update(json.loads(path.read_text(encoding="utf-8")))
    pages = []
    for rel, meta in sorted(manifest.items()):
        raw = (root / rel).read_bytes()
        html = raw.decode(meta.get("encoding") or "utf-8", "replace")
        url = meta.get("canonical_url") or f"http://127.0.0.1/{rel}"
        pages.append(Page(url, url, html, meta.get("encoding") or "utf-8", datetime.now(UTC)))
    return pages


def _output(result: Article | Failure) -> dict:
    """What ``clean_page`` made of a page, as JSON: kind and every field (the fetch time, a
    copy of the input's, left out)."""
    fields = {k: v for k, v in dataclasses.asdict(result).items() if k != "fetched_at"}
    return {"kind": type(result).__name__, **fields}


def _compare(path: str, outputs: dict[str, dict]) -> int:
    """Pages whose output differs from the dump at ``path``; printed, and counted."""
    before = json.loads(Path(path).read_text(encoding="utf-8"))
    changed = sorted(set(before) ^ set(outputs)) + [
        url for url in outputs if url in before and before[url] != outputs[url]
    ]
    for url in changed:
        old, new = before.get(url, {}), outputs.get(url, {})
        fields = [k for k in {**old, **new} if old.get(k) != new.get(k)]
        print(f"  output changed: {url}: {', '.join(fields)}")
    print(f"output of {len(outputs)} pages against {path}: {len(changed)} changed")
    return len(changed)


def _cpu(fn, *args, **kwargs):
    start = time.process_time()
    result = fn(*args, **kwargs)
    return time.process_time() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="passes; the best time counts")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest calls")
    parser.add_argument("--corpus", help="extraction benchmark directory")
    parser.add_argument("--dump", help="write every page's clean_page output to this JSON file")
    parser.add_argument("--compare", help="exit 1 unless every output equals this --dump file")
    args = parser.parse_args(argv)

    bench = _extraction_bench()
    bench_pages = bench.load_pages(bench.corpus_dir(args.corpus))
    pages = [
        Page(p.url, p.url, p.html, "utf-8", datetime.now(UTC)) for p in bench_pages
    ] + demo_pages()
    for page in pages[:3]:  # imports, compiled patterns, caches of first use
        clean_page(page)
        trafilatura.extract(page.html, url=page.final_url)

    best_traf = [float("inf")] * len(pages)
    best_clean = [float("inf")] * len(pages)
    bodies: list[str] = [""] * len(pages)
    traf_bodies: list[str] = [""] * len(pages)
    rejected: list[str] = []
    outputs: dict[str, dict] = {}
    for _round in range(args.rounds):
        rejected = []
        for i, page in enumerate(pages):
            spent, text = _cpu(trafilatura.extract, page.html, url=page.final_url)
            best_traf[i], traf_bodies[i] = min(best_traf[i], spent), text or ""
            spent, result = _cpu(clean_page, page)
            best_clean[i] = min(best_clean[i], spent)
            outputs[page.url] = _output(result)
            if isinstance(result, Article):
                bodies[i] = result.body
            else:
                rejected.append(f"{page.url}: {result.reason}")

    n, nb = len(pages), len(bench_pages)
    traf_ms = 1000 * sum(best_traf) / n
    clean_ms = 1000 * sum(best_clean) / n
    ours = bench.aggregate(
        [bench.score_page(p.id, p.url, p.truth, bodies[i]) for i, p in enumerate(bench_pages)]
    )
    theirs = bench.aggregate(
        [bench.score_page(p.id, p.url, p.truth, traf_bodies[i]) for i, p in enumerate(bench_pages)]
    )
    print(f"{n} pages ({nb} benchmark, {n - nb} demo), best of {args.rounds} pass(es), CPU ms/page")
    print(f"{'extractor':<22}{'mean':>8}{'median':>8}{'p90':>8}{'max':>8}{'F1':>8}{'P':>8}{'R':>8}")
    for name, times, s in (
        ("trafilatura.extract", best_traf, theirs),
        ("clean_page", best_clean, ours),
    ):
        ordered = sorted(times)
        print(
            f"{name:<22}{1000 * sum(times) / n:>8.1f}{1000 * ordered[n // 2]:>8.1f}"
            f"{1000 * ordered[int(n * 0.9)]:>8.1f}{1000 * ordered[-1]:>8.1f}"
            f"{s.f1:>8.4f}{s.precision:>8.4f}{s.recall:>8.4f}"
        )
    slowest = sorted(range(n), key=lambda i: -best_clean[i])[:5]
    print(
        "slowest pages for clean_page: "
        + ", ".join(f"{1000 * best_clean[i]:.0f} ms {pages[i].url[:60]}" for i in slowest)
    )
    if rejected:
        print(f"{len(rejected)} page(s) rejected by clean_page:")
        for line in rejected:
            print(f"  {line}")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for page in pages:
            clean_page(page)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)

    if args.dump:
        Path(args.dump).write_text(json.dumps(outputs, indent=1, ensure_ascii=False), "utf-8")
    changed = _compare(args.compare, outputs) if args.compare else 0
    print(
        f"clean_ms_per_page={clean_ms:.1f} trafilatura_ms_per_page={traf_ms:.1f} "
        f"clean_vs_trafilatura={clean_ms / traf_ms:.2f} project_f1={ours.f1:.4f} "
        f"project_precision={ours.precision:.4f} project_recall={ours.recall:.4f}"
    )
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
