"""Each entity rule switched off in turn: facets and quote attribution on both halves.

    .venv/bin/python bench/entity_ablation.py                 # every rule
    .venv/bin/python bench/entity_ablation.py _plural_teams   # only these
    .venv/bin/python bench/entity_ablation.py _link_short_names:location  # one call of it

A rule is one function of ``transforms/enrich/entities.py`` that retypes or links the names
of an article; switched off, it does nothing (a check returns False). The clean step, spaCy's
entities and the quote parser's parses run once and are reused, so each variant costs only
the rules, the typer and the quote attribution. Each row gives the change in precision and
recall of each type and of quote attribution on half A and half B against all rules on, in
thousandths: a rule whose row moves A only, or moves B down, is a suspect (``bench/README.md``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import facets, quotes  # noqa: E402
from bench.quality import (  # noqa: E402
    MODEL,
    TYPES,
    GoldRun,
    entity_gold,
    load_model,
    ner_text,
    newsflow_facets,
    run_newsflow,
)
from newsflow.transforms.enrich import entities as E  # noqa: E402
from newsflow.transforms.enrich import quotes as Q  # noqa: E402
from newsflow.transforms.models import EnrichedArticle  # noqa: E402

# The rules, by the function that holds each, and the learned typer (``load_typer``).
RULES = (
    "_pattern_mentions",
    "_link_acronyms",
    "_type_from_name",
    "_split_brands",
    "_plural_products",
    "_link_companies_typed_as_people",
    "_link_people_typed_as_companies",
    "_people_by_first_name",
    "_link_surnames",
    "_link_short_names",
    "_link_place_prefixes",
    "_link_organisation_variants",
    "_type_from_gazetteer_and_context",
    "_complete_lone_names",
    "_short_product_names",
    "_demonyms",
    "_plural_teams",
    "_teams_named_by_places",
    "_people_typed_as_places",
    "_brands_typed_as_people",
    "_technical_acronyms",
    "_products_listed_as_organisations",
    "_lists_run_together",
    "_names_before_a_place_noun",
    "_long_names_of_things",
    "_people_listed_with_people",
    "_owned_things_are_no_places",
    "_firms_named_after_people",
    "_owned_one_word_names",
    "_things_named_before_their_kind",
    "_quoted_titles",
    "_listed_companies",
    "_listing_places",
    "_is_junk",
    "load_typer",
)
# Off, these return what is given them or what the step does without them, not nothing.
_IDENTITY: dict[str, Callable] = {
    "_pattern_mentions": lambda mentions, text: mentions,
    "_is_junk": lambda g, *a, **k: g.type not in E.FACET_TYPES,  # other kinds still go
    "load_typer": lambda *a, **k: None,  # the hand rules alone type every name
    "_listing_places": lambda *a, **k: ([], []),
}


@contextmanager
def _off(rule: str | None) -> Iterator[None]:
    if rule is None:
        yield
        return
    name, _, only = rule.partition(":")  # "_link_short_names:location": that call only
    saved = getattr(E, name)
    off: Callable = _IDENTITY.get(name) or (lambda *a, **k: None)

    def stub(*a, **k):
        called = [x for x in a if isinstance(x, str)]
        return off(*a, **k) if not only or only in called else saved(*a, **k)

    setattr(E, name, stub)
    try:
        yield
    finally:
        setattr(E, name, saved)


class _ParseCache:
    """The quote parser with each text parsed once: parses do not depend on the entities."""

    def __init__(self, parser) -> None:
        self.parser, self.docs = parser, {}

    def pipe(self, texts, batch_size: int = 64):
        texts = list(texts)
        new = [t for t in dict.fromkeys(texts) if t not in self.docs]
        self.docs.update(zip(new, self.parser.pipe(new, batch_size=batch_size), strict=True))
        return iter([self.docs[t] for t in texts])

    def __call__(self, text: str):
        if text not in self.docs:
            self.docs[text] = self.parser(text)
        return self.docs[text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rules", nargs="*", default=list(RULES))
    args = parser.parse_args(argv)
    base = run_newsflow(sorted(entity_gold()), MODEL, quotes=False)
    nlp = load_model(MODEL)
    keys = list(base.enriched)
    texts = [ner_text(base.enriched[k].article) for k in keys]
    mentions = [
        [E.Mention(e.text, e.label_, e.start_char) for e in doc.ents]
        for doc in nlp.pipe(texts, batch_size=64)
    ]
    cache = _ParseCache(Q.load_parser(MODEL))
    Q.load_parser = lambda name: cache  # type: ignore[assignment]

    def scores(rule: str | None) -> dict[tuple[str, str, str], float]:
        with _off(rule):
            items = [
                EnrichedArticle(base.enriched[k].article, E.group_mentions(m, t))
                for k, m, t in zip(keys, mentions, texts, strict=True)
            ]
            items = Q.with_quotes(items, MODEL, E.MAX_NER_CHARS)
        run = GoldRun(base.halves, base.cleaned, dict(zip(keys, items, strict=True)))
        f = facets.score_systems({"n": newsflow_facets(run)}, run.halves)["n"]
        q = quotes.evaluate(run)
        out = {}
        for h in ("A", "B"):
            for t in TYPES:
                out[(h, t, "P")] = f[h][t]["precision"]
                out[(h, t, "R")] = f[h][t]["recall"]
            out[(h, "quote", "P")] = q[h]["attribution"]["precision"]
            out[(h, "quote", "R")] = q[h]["attribution"]["recall"]
        return out

    cols = [(h, t, m) for h in ("A", "B") for t in (*TYPES, "quote") for m in ("P", "R")]
    short = {"person": "per", "organization": "org", "location": "loc", "quote": "quo"}
    print(f"{'rule off':<36}" + "".join(f"{h + short[t] + m:>6}" for h, t, m in cols))
    ref = scores(None)
    print(f"{'(all rules on: values)':<36}" + "".join(f"{ref[c] * 1000:6.0f}" for c in cols))
    for rule in args.rules:
        got = scores(rule)
        print(
            f"{rule:<36}" + "".join(f"{(got[c] - ref[c]) * 1000:+6.0f}" for c in cols),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
