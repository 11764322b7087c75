"""Quality gate: entity facets and quotations on real pages hold today's level on each half.

newsflow (the clean step, then the enrich step with quotes) runs once on the 116 pages of the
entity gold (``tests/data/entities-gold``), and the gold's own scorers judge it, exactly as
``bench/facets.py`` and ``bench/quotes.py`` do. The floors are today's figures less a small
margin on each half by site (A: development, B: checking), so a regression on either half
fails; raise them as quality improves (``bench/README.md`` has the figures and commands).
"""

from __future__ import annotations

import pytest

from bench import facets, quotes
from bench.quality import entity_gold, run_newsflow

# Half -> type -> (precision, recall) floors of newsflow's facets.
FACET_FLOORS = {
    "A": {"person": (0.949, 0.878), "organization": (0.763, 0.802), "location": (0.926, 0.926)},
    "B": {"person": (0.882, 0.832), "organization": (0.648, 0.741), "location": (0.906, 0.903)},
}
# Half -> text / attribution -> (precision, recall) floors of newsflow's quotations.
QUOTE_FLOORS = {
    "A": {"text": (0.990, 0.980), "attribution": (0.948, 0.938)},
    "B": {"text": (0.982, 0.908), "attribution": (0.893, 0.826)},
}


@pytest.fixture(scope="module")
def run():
    """newsflow on every gold page, once for all the tests here."""
    return run_newsflow(sorted(entity_gold()), quotes=True)


@pytest.fixture(scope="module")
def facet_scores(run):
    return facets.score_systems({"newsflow": facets.newsflow_facets(run)}, run.halves)["newsflow"]


@pytest.fixture(scope="module")
def quote_scores(run):
    return quotes.evaluate(run)


def _summary(scores: dict) -> str:
    return ", ".join(
        f"{h} {k} P {s['precision']:.3f} R {s['recall']:.3f}"
        for h in ("A", "B")
        for k, s in scores[h].items()
    )


@pytest.mark.parametrize("half", sorted(FACET_FLOORS))
@pytest.mark.parametrize("facet", sorted(FACET_FLOORS["A"]))
def test_facets_hold_their_level_on_each_half(facet_scores, half, facet):
    got = facet_scores[half][facet]
    precision, recall = FACET_FLOORS[half][facet]
    summary = _summary(facet_scores)
    assert got["precision"] >= precision, summary
    assert got["recall"] >= recall, summary


@pytest.mark.parametrize("half", sorted(QUOTE_FLOORS))
@pytest.mark.parametrize("kind", sorted(QUOTE_FLOORS["A"]))
def test_quotes_hold_their_level_on_each_half(quote_scores, half, kind):
    got = quote_scores[half][kind]
    precision, recall = QUOTE_FLOORS[half][kind]
    summary = _summary(quote_scores)
    assert got["precision"] >= precision, summary
    assert got["recall"] >= recall, summary
