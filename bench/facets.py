"""Entity facet quality on real pages: raw spaCy against newsflow's facets, per half by site.

    .venv/bin/python bench/facets.py                  # P/R per type, each half and the gap
    .venv/bin/python bench/facets.py --errors A       # and half A's false positives and misses
    .venv/bin/python bench/facets.py --text truth     # both systems read the gold's own body

Gold: ``tests/data/entities-gold/gold.json``, the people, organisations and places of the 116
English pages of the extraction benchmark, read by hand (``GUIDELINES.md`` says what counts).
Scored by the gold's own ``score.py``, imported as it is: per type, micro-averaged over pages,
names compared after its normalisation; a second value for the same entity is a false positive
(a duplicate facet); a value matching an optional entity counts neither way.

Both systems read the same text: the clean step's output of each page, headline then body, as
the enrich step reads it (``--text truth``: the gold's own body, to tell extraction errors from
entity errors). A page the clean step rejects gives neither system anything and is listed.

- ``spacy``: the model's entities as they come, the entity's text as the value, labels mapped
  by ``bench.quality.RAW_LABELS`` (PERSON; ORG; GPE, LOC and FAC as places, since the
  guidelines count streets, venues and facilities; NORP is a demonym, not an entity);
- ``newsflow``: ``enrich_articles``, the facet values the index gets.

Each figure is given over all pages, half A (development), half B (checking) and as the gap
A - B (``tests.corpora.half``). Develop on half A (``--errors A``); a rule that generalises
helps B as much.

The last line is machine-readable: ``{system}_{type}_{precision|recall}_{A|B|gap}=..`` for
both systems and the three types.
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
    TYPES,
    Facets,
    GoldRun,
    entity_gold,
    gap,
    gold_scorer,
    newsflow_facets,
    raw_facets,
    run_newsflow,
    score_by_half,
)
from tests.corpora import HALVES, Half  # noqa: E402

SYSTEMS = ("spacy", "newsflow")


def predictions(run: GoldRun, model: str = MODEL) -> dict[str, dict[str, Facets]]:
    """Each system's facet values per page, on the text ``run`` read."""
    return {"spacy": raw_facets(run.articles(), model), "newsflow": newsflow_facets(run)}


def score_systems(
    predicted: Mapping[str, dict[str, Facets]], halves: Mapping[str, Half]
) -> dict[str, dict[str, dict]]:
    """System -> ``"all"``/``"A"``/``"B"`` -> the gold scorer's result (type -> precision,
    recall, tp, fp, fn, duplicates)."""
    gold, score = entity_gold(), gold_scorer("score").score
    return {system: score_by_half(score, gold, p, halves) for system, p in predicted.items()}


def evaluate(run: GoldRun, model: str = MODEL) -> dict[str, dict[str, dict]]:
    """Both systems scored on the pages of ``run``, over all pages and each half."""
    return score_systems(predictions(run, model), run.halves)


def facet_errors(
    gold: Mapping[str, dict], predicted: Mapping[str, Facets], facet: str
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """False positives ``(page, value, "duplicate" or "")`` and missed gold names ``(page,
    name)`` of one type, with the scorer's own ``norm`` and ``keys`` and its matching order."""
    scorer = gold_scorer("score")
    false_positives: list[tuple[str, str, str]] = []
    missed: list[tuple[str, str]] = []
    for page, g in gold.items():
        entities = [scorer.keys(e) for e in g.get(facet, [])]
        optional = set().union(*(scorer.keys(e) for e in g.get("optional", {}).get(facet, [])))
        found = [False] * len(entities)
        values = {scorer.norm(v): v for v in predicted.get(page, {}).get(facet, [])}
        for name in sorted(values):
            hit = next((i for i, k in enumerate(entities) if name in k), None)
            if hit is None:
                if name not in optional:
                    false_positives.append((page, values[name], ""))
            elif found[hit]:
                false_positives.append((page, values[name], "duplicate"))
            else:
                found[hit] = True
        missed += [(page, e["name"]) for e, f in zip(g.get(facet, []), found, strict=True) if not f]
    return false_positives, missed


def _table(results: dict[str, dict[str, dict]]) -> str:
    lines = [
        f"{'type':<13}{'system':<10}{'pages':<6}{'P':>7}{'R':>7}"
        f"{'tp':>6}{'fp':>6}{'fn':>6}{'dup':>5}"
    ]
    for t in TYPES:
        for system in SYSTEMS:
            by_half = results[system]
            for label in ("all", *HALVES):
                s = by_half[label][t]
                lines.append(
                    f"{t if system == SYSTEMS[0] and label == 'all' else '':<13}"
                    f"{system if label == 'all' else '':<10}{label:<6}"
                    f"{s['precision']:7.3f}{s['recall']:7.3f}"
                    f"{s['tp']:6d}{s['fp']:6d}{s['fn']:6d}{s['duplicates']:5d}"
                )
            lines.append(
                f"{'':<23}{'A-B':<6}{gap(by_half, t, 'precision'):+7.3f}"
                f"{gap(by_half, t, 'recall'):+7.3f}"
            )
    return "\n".join(lines)


def _last_line(results: dict[str, dict[str, dict]]) -> str:
    fields = []
    for system in SYSTEMS:
        by_half = results[system]
        for t in TYPES:
            for measure in ("precision", "recall"):
                key = f"{system}_{t}_{measure}"
                fields += [
                    f"{key}_A={by_half['A'][t][measure]:.3f}",
                    f"{key}_B={by_half['B'][t][measure]:.3f}",
                    f"{key}_gap={gap(by_half, t, measure):.3f}",
                ]
    return " ".join(fields)


def _print_errors(predicted: dict[str, Facets], halves: Mapping[str, Half], which: str) -> None:
    gold = {k: g for k, g in entity_gold().items() if halves[k] == which}
    expected = gold_scorer("score").score(gold, predicted)
    for t in TYPES:
        false_positives, missed = facet_errors(gold, predicted, t)
        # The listing must say what the scorer counted, or it misleads.
        assert len(false_positives) == expected[t]["fp"], (t, "fp")
        assert len(missed) == expected[t]["fn"], (t, "fn")
        print(f"\nnewsflow, half {which}, {t}: false positives ({len(false_positives)})")
        for page, value, why in false_positives:
            print(f"  {value!r:45} {why:10} {page[:12]}")
        print(f"newsflow, half {which}, {t}: missed ({len(missed)})")
        for page, name in missed:
            print(f"  {name!r:45} {'':10} {page[:12]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=os.environ.get("NEWSFLOW_SPACY_MODEL", MODEL))
    parser.add_argument("--text", choices=TEXTS, default="clean", help="what both systems read")
    parser.add_argument(
        "--errors", choices=HALVES, help="list newsflow's false positives and misses of a half"
    )
    args = parser.parse_args(argv)

    started, cpu = time.perf_counter(), time.process_time()
    gold = entity_gold()
    run = run_newsflow(sorted(gold), args.model, quotes=False, text=args.text)
    predicted = predictions(run, args.model)
    results = score_systems(predicted, run.halves)
    counts = {h: sum(run.halves[k] == h for k in gold) for h in HALVES}
    print(
        f"{len(gold)} gold pages (A {counts['A']}, B {counts['B']}), model {args.model}, "
        f"text {args.text}; {time.perf_counter() - started:.1f} s "
        f"({time.process_time() - cpu:.1f} s CPU)\n"
    )
    print(_table(results))
    rejected = run.rejected()
    print(f"\n{len(rejected)} gold pages rejected by the clean step (no entities for either)")
    for key, failure in rejected.items():
        print(f"  {run.halves[key]} {key[:12]} {failure.url}\n      {failure.reason}")
    if args.errors:
        _print_errors(predicted["newsflow"], run.halves, args.errors)
    print()
    print(_last_line(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
