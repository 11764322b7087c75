"""Cost of archiving fetched pages (transforms/archive.py), against the clean step's cost.

    .venv/bin/python bench/archive_bench.py             # local directory (a temp dir)
    .venv/bin/python bench/archive_bench.py --root memory://bench

Pages: the 46 of ``demo/corpus`` and the 130 of ``tests/data/extraction-benchmark``,
decoded as the fetch step decodes them. Three passes over all pages, in one process: archive
them into an empty archive (gzip + blob + index record), archive them again (every blob already
there: the re-fetch of unchanged pages, metadata only), and clean them (``clean_pages``), so
the archive cost is seen next to a step that runs on every page anyway. Wall and CPU
milliseconds per page; the last line is machine-readable.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsflow.store.archive import Archive
from newsflow.transforms.clean.extract import clean_pages
from newsflow.transforms.fetch.download import decode_html
from newsflow.transforms.models import Page
from tests.corpora import EXTRACTION_BENCHMARK

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = EXTRACTION_BENCHMARK / "html"


def pages() -> list[Page]:
    found: list[Page] = []
    now = datetime.now(UTC)
    sources = [(p, p.read_bytes()) for p in sorted((ROOT / "demo" / "corpus").rglob("*.html"))]
    sources += [(p, gzip.decompress(p.read_bytes())) for p in sorted(BENCHMARK.glob("*.gz"))]
    for path, body in sources:
        html, encoding = decode_html(body)
        url = f"https://bench.example/{path.parent.name}/{path.name}"
        found.append(Page(url, url, html, encoding, now))
    return found


def timed(label: str, work, count: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    wall_ms = (time.perf_counter() - wall) * 1000 / count
    cpu_ms = (time.process_time() - cpu) * 1000 / count
    print(f"{label:<28} {wall_ms:8.2f} ms/page wall {cpu_ms:8.2f} ms/page CPU")
    return wall_ms, cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="archive root (default: a new temporary directory)")
    args = parser.parse_args()
    batch = pages()
    raw = sum(len(p.html.encode("utf-8")) for p in batch)
    with tempfile.TemporaryDirectory(prefix="newsflow-archive-bench-") as tmp:
        archive = Archive(args.root or tmp)
        print(f"{len(batch)} pages, {raw / 1e6:.1f} MB of HTML, archive at {archive.url}")
        write, write_cpu = timed(
            "archive (new pages)", lambda: archive.archive_pages(batch), len(batch)
        )
        again, _ = timed(
            "archive (unchanged pages)", lambda: archive.archive_pages(batch), len(batch)
        )
        stored = sum(archive.fs.size(archive.blob_path(r.sha256)) for r in archive.records())
        clean, clean_cpu = timed(
            "clean_pages", lambda: clean_pages(batch, min_body_chars=200), len(batch)
        )
    print(f"gzip: {raw / 1e6:.1f} MB -> {stored / 1e6:.1f} MB ({raw / max(stored, 1):.1f}x)")
    print(
        f"archive_write_ms_per_page={write:.2f} archive_unchanged_ms_per_page={again:.2f} "
        f"clean_ms_per_page={clean:.2f} archive_vs_clean={write / clean:.3f} "
        f"archive_vs_clean_cpu={write_cpu / clean_cpu:.3f}"
    )


if __name__ == "__main__":
    main()
