"""Quotation quality on real pages: newsflow's quotes and their speakers, per half by site.

    .venv/bin/python bench/quotes.py                # text and attribution P/R, halves, gap
    .venv/bin/python bench/quotes.py --errors A     # and half A's misses, extras, wrong speakers
    .venv/bin/python bench/quotes.py --text truth   # the enrich step reads the gold's own body

Gold: ``tests/data/entities-gold/quotes.json``, the direct quotations of 40 pages of the
extraction benchmark with their speakers, read by hand (``QUOTES.md`` says what counts).
Scored by the gold's own ``score_quotes.py``, imported as it is: a predicted quotation matches
a gold one when their word sets overlap by 80 % of each; text precision and recall count
matches whatever the speaker, attribution precision and recall matches with the right speaker
(names compared after the entity scorer's normalisation); optional quotations count neither way.

Each page goes through the clean step and the enrich step with quotes, as the pipeline runs
them (``--text truth``: the enrich step reads the gold's body instead of the clean step's, to
tell extraction errors from attribution errors). Figures are given over all pages, half A
(development), half B (checking) and as the gap A - B (``tests.corpora.half``); develop on
half A (``--errors A``).

The last line is machine-readable: ``{text|attribution}_{precision|recall}_{A|B|gap}=..``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quality import (  # noqa: E402
    MODEL,
    TEXTS,
    GoldRun,
    Quotes,
    gap,
    gold_scorer,
    newsflow_quotes,
    quote_gold,
    run_newsflow,
    score_by_half,
)
from tests.corpora import HALVES  # noqa: E402

KINDS = ("text", "attribution")


def evaluate(run: GoldRun) -> dict[str, dict]:
    """``"all"``/``"A"``/``"B"`` -> the quote scorer's result for newsflow's quotes of the
    gold pages in ``run``."""
    gold = {k: v for k, v in quote_gold().items() if k in run.halves}
    return score_by_half(gold_scorer("score_quotes").score, gold, newsflow_quotes(run), run.halves)


def quote_errors(gold: Mapping[str, list[dict]], predicted: Mapping[str, Quotes]) -> list[tuple]:
    """``(page, kind, gold speaker, predicted speaker, text)`` for each miss, extra and wrong
    speaker, in the scorer's own matching order with its own ``words``, ``same_text`` and
    ``same_speaker``."""
    scorer = gold_scorer("score_quotes")
    out: list[tuple] = []
    for page, items in gold.items():
        g = [(scorer.words(q["text"]), q) for q in items]
        used = [False] * len(g)
        for p in predicted.get(page, []):
            pw = scorer.words(p.get("text", ""))
            hit = next(
                (i for i, (gw, _) in enumerate(g) if not used[i] and scorer.same_text(gw, pw)),
                None,
            )
            if hit is None:
                out.append((page, "extra", None, p.get("speaker"), p.get("text", "")))
                continue
            used[hit] = True
            q = g[hit][1]
            if not q.get("optional") and not scorer.same_speaker(p.get("speaker"), q["speaker"]):
                out.append((page, "speaker", q["speaker"], p.get("speaker"), q["text"]))
        for (_, q), was_used in zip(g, used, strict=True):
            if not was_used and not q.get("optional"):
                out.append((page, "missed", q["speaker"], None, q["text"]))
    return out


def _table(scores: dict[str, dict]) -> str:
    lines = [f"{'':<13}{'pages':<6}{'P':>7}{'R':>7}{'tp':>6}{'fp':>6}{'fn':>6}"]
    for kind in KINDS:
        for label in ("all", *HALVES):
            s = scores[label][kind]
            lines.append(
                f"{kind if label == 'all' else '':<13}{label:<6}{s['precision']:7.3f}"
                f"{s['recall']:7.3f}{s['tp']:6d}{s['fp']:6d}{s['fn']:6d}"
            )
        lines.append(
            f"{'':<13}{'A-B':<6}{gap(scores, kind, 'precision'):+7.3f}"
            f"{gap(scores, kind, 'recall'):+7.3f}"
        )
    return "\n".join(lines)


def _print_errors(run: GoldRun, which: str) -> None:
    gold = {k: v for k, v in quote_gold().items() if run.halves.get(k) == which}
    predicted = newsflow_quotes(run)
    expected = gold_scorer("score_quotes").score(gold, predicted)
    errors = quote_errors(gold, predicted)
    kinds = [e[1] for e in errors]
    # The listing must say what the scorer counted, or it misleads.
    assert kinds.count("extra") == expected["text"]["fp"]
    assert kinds.count("missed") == expected["text"]["fn"]
    assert kinds.count("speaker") == expected["attribution"]["fp"] - expected["text"]["fp"]
    print(
        f"\nhalf {which}: {kinds.count('missed')} missed, {kinds.count('extra')} extra, "
        f"{kinds.count('speaker')} with a wrong speaker (gold speaker -> newsflow's)"
    )
    for page, kind, want, got, text in errors:
        words = text if len(text) <= 70 else text[:67] + "..."
        print(f"  {page[:12]} {kind:8} {want!s:>24} -> {got!s:24} {words!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=os.environ.get("NEWSFLOW_SPACY_MODEL", MODEL))
    parser.add_argument("--text", choices=TEXTS, default="clean", help="what the enrich step reads")
    parser.add_argument("--errors", choices=HALVES, help="list the errors on the pages of a half")
    args = parser.parse_args(argv)

    started, cpu = time.perf_counter(), time.process_time()
    gold = quote_gold()
    run = run_newsflow(sorted(gold), args.model, quotes=True, text=args.text)
    scores = evaluate(run)
    counts = {h: sum(run.halves[k] == h for k in gold) for h in HALVES}
    print(
        f"{len(gold)} gold pages (A {counts['A']}, B {counts['B']}), model {args.model}, "
        f"text {args.text}; {time.perf_counter() - started:.1f} s "
        f"({time.process_time() - cpu:.1f} s CPU)\n"
    )
    print(_table(scores))
    rejected = run.rejected()
    print(f"\n{len(rejected)} gold pages rejected by the clean step (no quotes)")
    for key, failure in rejected.items():
        print(f"  {run.halves[key]} {key[:12]} {failure.url}\n      {failure.reason}")
    if args.errors:
        _print_errors(run, args.errors)
    print()
    fields = []
    for kind in KINDS:
        for measure in ("precision", "recall"):
            fields += [
                f"{kind}_{measure}_A={scores['A'][kind][measure]:.3f}",
                f"{kind}_{measure}_B={scores['B'][kind][measure]:.3f}",
                f"{kind}_{measure}_gap={gap(scores, kind, measure):.3f}",
            ]
    print(" ".join(fields))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
