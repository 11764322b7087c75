"""The real pages are inside the repository, whole, and split by site into two fixed halves."""

from __future__ import annotations

import json
from collections import Counter

from tests.corpora import (
    ENTITIES_GOLD,
    EXTRACTION_BENCHMARK,
    NEWS_DATES,
    ROOT,
    half,
    site,
)

TYPES = ("person", "organization", "location")


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_corpus_is_inside_the_repository_with_its_licence():
    for corpus in (EXTRACTION_BENCHMARK, ENTITIES_GOLD, NEWS_DATES):
        assert corpus.resolve().is_relative_to(ROOT), corpus
    truth = _json(EXTRACTION_BENCHMARK / "ground-truth.json")
    assert len(truth) == 130
    assert all((EXTRACTION_BENCHMARK / "html" / f"{key}.html.gz").is_file() for key in truth)
    assert "MIT License" in (EXTRACTION_BENCHMARK / "LICENSE").read_text(encoding="utf-8")

    gold, quotes = _json(ENTITIES_GOLD / "gold.json"), _json(ENTITIES_GOLD / "quotes.json")
    assert len(gold) == 116 and set(gold) <= set(truth)
    assert len(quotes) == 40 and set(quotes) <= set(gold)
    for name in ("score.py", "score_quotes.py", "GUIDELINES.md", "QUOTES.md"):
        assert (ENTITIES_GOLD / name).is_file(), name

    dates = _json(NEWS_DATES / "dates.json")
    assert len(dates) == 300
    assert all((NEWS_DATES / "html" / f"{key}.html.gz").is_file() for key in dates)
    assert "Apache License" in (NEWS_DATES / "LICENSE").read_text(encoding="utf-8")
    assert (NEWS_DATES / "README.md").is_file()


def test_a_site_is_its_host_without_www_whatever_the_case():
    assert site("https://WWW.Example.co.uk/news/1?x=2") == "example.co.uk"
    assert site("http://edition.example.com/a") == "edition.example.com"
    assert half("https://www.example.com/a") == half("http://EXAMPLE.com/b/c")


def test_the_halves_are_fixed_and_each_has_a_fair_share_of_pages_and_entities():
    # Pinned counts: a change to the split (which pages are for development, which for
    # checking) must be deliberate, since figures on the two halves are compared over time.
    truth = _json(EXTRACTION_BENCHMARK / "ground-truth.json")
    gold = _json(ENTITIES_GOLD / "gold.json")
    pages = Counter(half(page["url"]) for page in truth.values())
    assert pages == {"A": 64, "B": 66}
    sites = {site(page["url"]) for page in truth.values()}
    assert Counter(half(f"https://{s}/") for s in sites) == {"A": 53, "B": 51}
    entities: dict[str, Counter[str]] = {t: Counter() for t in TYPES}
    for key, facets in gold.items():
        for t in TYPES:
            entities[t][half(truth[key]["url"])] += len(facets[t])
    assert entities == {
        "person": {"A": 339, "B": 284},
        "organization": {"A": 277, "B": 241},
        "location": {"A": 299, "B": 334},
    }
    for counts in [pages, *entities.values()]:
        assert min(counts.values()) >= 0.4 * sum(counts.values()), counts
