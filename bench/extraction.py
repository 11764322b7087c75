"""Body-extraction quality on real pages: plain trafilatura against newsflow's clean step.

    .venv/bin/python bench/extraction.py              # P/R/F1 per half, and the gap
    .venv/bin/python bench/extraction.py --verbose    # and the worst pages of each extractor
    .venv/bin/python bench/extraction.py --ablate     # and what each rule of the clean step is
                                                      # worth (the step with that rule off)

Corpus: ``tests/data/extraction-benchmark`` (``--corpus`` for another one laid out the same
way): ``html/<id>.html.gz`` and ``ground-truth.json`` mapping ``<id>`` to
``{"url", "articleBody"}``. Every page is a real article.

Extractors: ``trafilatura`` (``trafilatura.extract`` with its defaults), ``trafilatura_precision``
(``favor_precision=True``) and ``project`` (newsflow's clean step, ``clean_page``, as the
pipeline runs it; a page it rejects scores as an empty body and is listed with the reason, those
"not an article" being false skips).

Figures are given for all pages and for each half by site (``tests.corpora.half``: A for
development, B for checking), with the gap A - B: a rule that helps only the half it was
developed on widens the gap. Look at half A's pages when developing (``--verbose`` marks each
page's half).

Metric, exactly as the corpus README defines it: tokens are the matches of ``\\w+``; shingles
are the runs of 4 consecutive tokens, counted with multiplicity (a text of fewer tokens is one
shingle); per page tp/fp/fn are divided by their sum so every page weighs the same; precision
is the mean of tp/(tp+fp) over pages with tp+fp > 0, recall the mean of tp/(tp+fn) over pages
with tp+fn > 0, and F1 the harmonic mean of the two means.

The last line is machine-readable: ``project_f1_A=.. project_f1_B=.. project_f1_gap=..``,
the same for ``project_precision``, ``project_recall`` and ``trafilatura_f1`` (defaults), then
``project_f1=.. trafilatura_f1=..`` over all pages and ``skipped=..`` (pages the clean step
called "not an article"; when ``project`` is not run, only the trafilatura figures).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trafilatura

from newsflow.transforms.clean.extract import RULE_NAMES, clean_page
from newsflow.transforms.models import Failure, Page
from tests.corpora import EXTRACTION_BENCHMARK, HALVES, Half, half

_TOKEN = re.compile(r"\w+")
SHINGLE = 4
SKIP_PREFIX = "not an article"  # how the clean step's reason for a skipped page starts


@dataclass(frozen=True)
class BenchPage:
    id: str
    url: str
    html: str
    truth: str


@dataclass(frozen=True)
class PageScore:
    id: str
    url: str
    tp: float
    fp: float
    fn: float
    rejected: str | None = None  # why the extractor gave no body (the clean step's reason)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    pages: list[PageScore]


def corpus_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Where the benchmark lives: the argument, else the copy in ``tests/data``."""
    return Path(explicit) if explicit else EXTRACTION_BENCHMARK


def load_pages(corpus: Path, ids: Iterable[str] | None = None) -> list[BenchPage]:
    """The benchmark pages (all, or those of ``ids``), sorted by id."""
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    wanted = sorted(truth if ids is None else ids)
    pages = []
    for page_id in wanted:
        raw = gzip.decompress((corpus / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append(
            BenchPage(
                id=page_id,
                url=truth[page_id]["url"],
                html=raw.decode("utf-8", "replace"),
                truth=truth[page_id]["articleBody"],
            )
        )
    return pages


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """Runs of ``SHINGLE`` consecutive ``\\w+`` tokens with multiplicity; a shorter text
    (also an empty one) is a single shingle."""
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1)))


def score_page(page_id: str, url: str, truth: str, predicted: str) -> PageScore:
    """tp/fp/fn of one page, normalised to sum to 1."""
    true, pred = shingles(truth), shingles(predicted)
    tp = sum((true & pred).values())
    fp = sum(pred.values()) - tp
    fn = sum(true.values()) - tp
    total = tp + fp + fn
    if not total:
        return PageScore(page_id, url, 0.0, 0.0, 0.0)
    return PageScore(page_id, url, tp / total, fp / total, fn / total)


def aggregate(pages: list[PageScore]) -> Scores:
    """Macro precision and recall over pages, F1 as the harmonic mean of the two means."""
    with_pred = [p.precision for p in pages if p.tp + p.fp > 0]
    with_true = [p.recall for p in pages if p.tp + p.fn > 0]
    precision = sum(with_pred) / len(with_pred) if with_pred else 0.0
    recall = sum(with_true) / len(with_true) if with_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, pages)


def trafilatura_default(page: BenchPage) -> str:
    return trafilatura.extract(page.html, url=page.url) or ""


def trafilatura_precision(page: BenchPage) -> str:
    return trafilatura.extract(page.html, url=page.url, favor_precision=True) or ""


def by_half(scores: Scores) -> dict[Half, Scores]:
    """The same figures over the pages of each half by site."""
    return {h: aggregate([p for p in scores.pages if half(p.url) == h]) for h in HALVES}


def skipped(scores: Scores) -> list[PageScore]:
    """Pages the extractor called "not an article" (every benchmark page is one)."""
    return [p for p in scores.pages if p.rejected and p.rejected.startswith(SKIP_PREFIX)]


def as_page(page: BenchPage) -> Page:
    """A benchmark page as the fetch step would hand it to the clean step."""
    return Page(
        url=page.url,
        final_url=page.url,
        html=page.html,
        encoding="utf-8",
        fetched_at=datetime.now(UTC),
    )


def project(page: BenchPage, disabled: frozenset[str] = frozenset()) -> str | Failure:
    """The clean step's body, as the pipeline makes it, or the clean step's failure."""
    result = clean_page(as_page(page), disabled=disabled)
    return result if isinstance(result, Failure) else result.body


EXTRACTORS: dict[str, Callable[[BenchPage], str | Failure]] = {
    "trafilatura": trafilatura_default,
    "trafilatura_precision": trafilatura_precision,
    "project": project,
}


def _run_one(args: tuple[str, BenchPage]) -> PageScore:
    name, page = args
    if name.startswith("project-without-"):
        text = project(page, frozenset([name.removeprefix("project-without-")]))
    else:
        text = EXTRACTORS[name](page)
    if isinstance(text, Failure):
        return replace(score_page(page.id, page.url, page.truth, ""), rejected=text.reason)
    return score_page(page.id, page.url, page.truth, text)


def evaluate(
    pages: list[BenchPage], names: Iterable[str] = tuple(EXTRACTORS), *, jobs: int = 1
) -> dict[str, Scores]:
    """Scores of each named extractor over ``pages``; ``jobs`` > 1 uses worker processes.

    Names are those of ``EXTRACTORS`` or ``project-without-RULE`` (a rule of ``RULE_NAMES``).
    """
    names = list(names)
    work = [(name, page) for name in names for page in pages]
    if jobs > 1:
        with Pool(jobs) as pool:
            results = pool.map(_run_one, work, chunksize=4)
    else:
        results = [_run_one(item) for item in work]
    out: dict[str, Scores] = {}
    for i, name in enumerate(names):
        out[name] = aggregate(results[i * len(pages) : (i + 1) * len(pages)])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", help="benchmark directory (html/ and ground-truth.json)")
    parser.add_argument("--verbose", action="store_true", help="list the worst pages")
    parser.add_argument(
        "--ablate", action="store_true", help="score the clean step with each rule off in turn"
    )
    parser.add_argument("--worst", type=int, default=10, help="pages listed per extractor")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--only", choices=list(EXTRACTORS), action="append", help="run only these extractors"
    )
    args = parser.parse_args(argv)
    names = args.only or list(EXTRACTORS)
    if "trafilatura" not in names:
        names.insert(0, "trafilatura")
    if args.ablate and "project" not in names:
        names.append("project")
    ablations = [f"project-without-{rule}" for rule in RULE_NAMES] if args.ablate else []
    pages = load_pages(corpus_dir(args.corpus))
    started = time.perf_counter()
    results = evaluate(pages, names + ablations, jobs=args.jobs)
    counts = {h: sum(half(p.url) == h for p in pages) for h in HALVES}
    print(
        f"{len(pages)} pages (A {counts['A']}, B {counts['B']}), "
        f"{time.perf_counter() - started:.1f} s\n"
    )
    print(_table({name: results[name] for name in names}))
    if ablations:
        full = results["project"]
        print("\nwhat each rule is worth (project minus project with the rule off; F1 per half):")
        print(f"{'rule':<24}{'precision':>10}{'recall':>10}{'F1':>10}{'F1 A':>10}{'F1 B':>10}")
        full_halves = by_half(full)
        for name in ablations:
            s = results.pop(name)
            halves = by_half(s)
            print(
                f"{name.removeprefix('project-without-'):<24}{full.precision - s.precision:>+10.4f}"
                f"{full.recall - s.recall:>+10.4f}{full.f1 - s.f1:>+10.4f}"
                f"{full_halves['A'].f1 - halves['A'].f1:>+10.4f}"
                f"{full_halves['B'].f1 - halves['B'].f1:>+10.4f}"
            )
    proj = results.get("project")
    if proj:
        rejected = [p for p in proj.pages if p.rejected]
        print(
            f"\nproject: {len(skipped(proj))} of {len(pages)} pages skipped as not an article "
            f"(all are articles), {len(rejected) - len(skipped(proj))} failed otherwise"
        )
        for p in rejected:
            print(f"  {half(p.url)} {p.id[:12]} {p.url}\n      {p.rejected}")
    if args.verbose:
        for name in names:
            s = results[name]
            print(f"\nworst pages, {name} (half, page F1, precision, recall):")
            for p in sorted(s.pages, key=_page_f1)[: args.worst]:
                print(
                    f"  {half(p.url)} {_page_f1(p):.3f} P {p.precision:.3f} R {p.recall:.3f}  "
                    f"{p.id[:12]} {p.url}"
                )
    print()
    print(_last_line(results))
    return 0


def _table(results: dict[str, Scores]) -> str:
    """P/R/F1 of each extractor over all pages, each half, and the gap A - B."""
    lines = [f"{'extractor':<24}{'pages':<7}{'precision':>10}{'recall':>10}{'F1':>10}"]
    for name, scores in results.items():
        halves = by_half(scores)
        rows = [("all", scores), *((h, halves[h]) for h in HALVES)]
        for label, s in rows:
            lines.append(
                f"{name if label == 'all' else '':<24}{label:<7}"
                f"{s.precision:>10.4f}{s.recall:>10.4f}{s.f1:>10.4f}"
            )
        a, b = halves["A"], halves["B"]
        lines.append(
            f"{'':<24}{'A-B':<7}{a.precision - b.precision:>+10.4f}"
            f"{a.recall - b.recall:>+10.4f}{a.f1 - b.f1:>+10.4f}"
        )
    return "\n".join(lines)


def _last_line(results: dict[str, Scores]) -> str:
    fields: list[str] = []
    proj, traf = results.get("project"), results["trafilatura"]
    measures = [("project", proj, m) for m in ("f1", "precision", "recall")] if proj else []
    for prefix, scores, measure in [*measures, ("trafilatura", traf, "f1")]:
        halves = by_half(scores)
        a, b = getattr(halves["A"], measure), getattr(halves["B"], measure)
        fields += [
            f"{prefix}_{measure}_A={a:.4f}",
            f"{prefix}_{measure}_B={b:.4f}",
            f"{prefix}_{measure}_gap={a - b:.4f}",
        ]
    if proj:
        fields.append(f"project_f1={proj.f1:.4f}")
    fields.append(f"trafilatura_f1={traf.f1:.4f}")
    if proj:
        fields.append(f"skipped={len(skipped(proj))}")
    return " ".join(fields)


def _page_f1(p: PageScore) -> float:
    return 2 * p.tp / (2 * p.tp + p.fp + p.fn) if p.tp else 0.0


if __name__ == "__main__":
    sys.exit(main())
