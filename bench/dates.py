"""Publication-date accuracy on real pages: newsflow's date step against plain htmldate.

    .venv/bin/python bench/dates.py              # accuracy per half, the gap, misses by kind
    .venv/bin/python bench/dates.py --verbose    # and every miss of each extractor

Corpus: ``tests/data/news-dates``: ``html/<key>.html.gz`` and ``dates.json`` mapping ``<key>``
to ``{"url", "date"}``, the publisher's own day checked by hand (see its README).

newsflow's date is the one the clean step stores as ``published``: the page bytes decoded as the
WARC reader decodes them, repaired and parsed as ``clean_page`` does, then
``page_metadata(tree, url).dates`` (the JSON-LD article, meta tags, the URL, htmldate). Its day
is the date part of that value, which keeps the offset the page states. The reference is
``htmldate.find_date(html, url=url, original_date=True)``.

The pages are split into halves by site, so that a rule fitted to one site's pages shows as a
gap: half A (``tests/corpora.py half``: the site split every quality bench uses) is for
development, half B for checking. Misses are counted by kind: one day off (a time moved across
midnight), a later date taken (an update, a comment, the crawl), none found, other.

The last line is machine-readable: ``newsflow_day_accuracy=.. htmldate_day_accuracy=..``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from htmldate import find_date  # noqa: E402
from trafilatura.utils import load_html  # noqa: E402

from newsflow.transforms.clean.dates import PageDates  # noqa: E402
from newsflow.transforms.clean.extract import page_metadata, repair_mojibake  # noqa: E402
from newsflow.transforms.fetch.download import decode_html  # noqa: E402
from tests.corpora import NEWS_DATES  # noqa: E402
from tests.corpora import half as site_half  # noqa: E402

CORPUS = NEWS_DATES
HALVES = ("A", "B")
MISS_KINDS = ("one day off", "later date taken", "none found", "other")


@dataclass(frozen=True)
class DatedPage:
    key: str
    url: str
    day: str  # the publisher's own day, YYYY-MM-DD
    html: str

    @property
    def half(self) -> str:
        return site_half(self.url)


@dataclass(frozen=True)
class Found:
    """One extractor's answer for one page."""

    page: DatedPage
    value: str | None  # what the extractor returned (date or date-time)
    source: str | None = None

    @property
    def day(self) -> str | None:
        return self.value[:10] if self.value else None

    @property
    def right(self) -> bool:
        return self.day == self.page.day

    @property
    def miss(self) -> str | None:
        """The kind of miss, or None for the right day."""
        if self.right:
            return None
        if self.day is None:
            return "none found"
        try:
            days = (date.fromisoformat(self.day) - date.fromisoformat(self.page.day)).days
        except ValueError:
            return "other"
        if abs(days) == 1:
            return "one day off"
        return "later date taken" if days > 1 else "other"


def load_pages(corpus: Path = CORPUS) -> list[DatedPage]:
    """The dated pages, their bytes decoded as the WARC reader decodes an HTML record."""
    truth = json.loads((corpus / "dates.json").read_text(encoding="utf-8"))
    pages = []
    for key, entry in sorted(truth.items()):
        body = gzip.decompress((corpus / "html" / f"{key}.html.gz").read_bytes())
        html, _ = decode_html(body, "text/html")
        pages.append(DatedPage(key, entry["url"], entry["date"], html))
    return pages


def newsflow_dates(html: str, url: str) -> PageDates:
    """The dates the clean step reads from a page, on the same path as ``clean_page``."""
    repaired, _ = repair_mojibake(html)
    tree = load_html(repaired) if repaired.strip() else None
    if tree is None:
        return PageDates()
    return page_metadata(tree, url).dates


def newsflow(page: DatedPage) -> Found:
    dates = newsflow_dates(page.html, page.url)
    return Found(page, dates.published, dates.published_source)


def htmldate(page: DatedPage) -> Found:
    return Found(page, find_date(page.html, url=page.url, original_date=True))


EXTRACTORS: dict[str, Callable[[DatedPage], Found]] = {"htmldate": htmldate, "newsflow": newsflow}


def accuracy(found: Iterable[Found], half: str | None = None) -> tuple[int, int]:
    """Right days and pages, over one half or (``half=None``) all pages."""
    chosen = [f for f in found if half is None or f.page.half == half]
    return sum(f.right for f in chosen), len(chosen)


def _share(right_total: tuple[int, int]) -> float:
    right, total = right_total
    return right / total if total else 0.0


def report(results: dict[str, list[Found]], *, verbose: bool = False) -> list[str]:
    """The table of accuracy per half with the gap, misses by kind, and the last line."""
    lines = [f"{'extractor':<10} {'half A':>15} {'half B':>15} {'all':>15} {'gap A-B':>8}"]
    for name, found in results.items():
        cells = []
        for half in (*HALVES, None):
            right, total = accuracy(found, half)
            cells.append(f"{right:>3}/{total:<3} {_share((right, total)):.3f}")
        gap = _share(accuracy(found, "A")) - _share(accuracy(found, "B"))
        lines.append(f"{name:<10} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15} {gap:>+8.3f}")
    lines.append("")
    lines.append(f"{'misses':<10} {'half':>4} " + " ".join(f"{k:>16}" for k in MISS_KINDS))
    for name, found in results.items():
        for half in HALVES:
            kinds = Counter(f.miss for f in found if f.page.half == half and not f.right)
            counts = " ".join(f"{kinds[k]:>16}" for k in MISS_KINDS)
            lines.append(f"{name:<10} {half:>4} {counts}")
    if "newsflow" in results:
        sources = Counter(f.source for f in results["newsflow"] if f.value)
        right = Counter(f.source for f in results["newsflow"] if f.right)
        lines.append("")
        lines.append("newsflow by source: right/found")
        for source, n in sources.most_common():
            lines.append(f"  {source:<14} {right[source]:>3}/{n}")
    if verbose:
        for name, found in results.items():
            lines.append("")
            lines.append(f"{name} misses:")
            for f in found:
                if not f.right:
                    lines.append(
                        f"  {f.page.half} {f.page.key} gold {f.page.day} got {f.value} "
                        f"({f.source or '-'}; {f.miss}) {f.page.url}"
                    )
    shares = {name: _share(accuracy(found)) for name, found in results.items()}
    lines.append("")
    lines.append(
        f"newsflow_day_accuracy={shares.get('newsflow', 0.0):.4f} "
        f"htmldate_day_accuracy={shares.get('htmldate', 0.0):.4f}"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    pages = load_pages(args.corpus)
    halves = Counter(p.half for p in pages)
    print(f"{len(pages)} pages: half A {halves['A']} (development), half B {halves['B']} (check)")
    results = {name: [extract(p) for p in pages] for name, extract in EXTRACTORS.items()}
    print("\n".join(report(results, verbose=args.verbose)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
