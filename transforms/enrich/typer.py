"""The entity typer: a small learned re-scorer that says what a name of an article is.

The hand rules of ``entities.py`` group the model's mentions into names and link short forms;
what each name *is* (a person, an organisation, a place, or nothing to show as a facet) is
then read from evidence by a multinomial logistic regression: the spaCy labels of all its
mentions, the words around them, its capitalisation, the gazetteer and the alias table, what
the hand rules made of it (``entities.FEATURES`` lists them all). The weights are data,
``mappings/entity_typer.json``, trained by ``bench/train_typer.py`` on half A of the real
pages of ``tests/data`` only (half B checks them); scoring is a dot product per type, with
the standard library only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import mul
from pathlib import Path
from typing import Any

from newsflow.resources import MAPPINGS_DIR

TYPER_PATH = MAPPINGS_DIR / "entity_typer.json"
CLASSES: tuple[str, ...] = ("none", "person", "organization", "location")
TYPES = CLASSES[1:]
NEVER = 1.01  # a threshold no probability reaches


@dataclass(frozen=True)
class Thresholds:
    """When the typer overrules the hand rules: ``drop[t]`` is the probability of "none" that
    drops a name the rules type as ``t``; ``switch`` the probability of another type that
    retypes it. The defaults never overrule."""

    drop: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TYPES, NEVER))
    switch: float = NEVER


@dataclass(frozen=True)
class Typer:
    """Weights of one trained typer: per class, a bias and a weight per (scaled) feature."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[tuple[float, ...], ...]  # one row per class of ``CLASSES``
    bias: tuple[float, ...]
    thresholds: Thresholds = field(default_factory=Thresholds)

    def probabilities(self, values: Mapping[str, float]) -> dict[str, float]:
        """Class -> probability for one name's feature values (missing features count 0)."""
        x = [
            (values.get(f, 0.0) - m) / s
            for f, m, s in zip(self.features, self.mean, self.scale, strict=True)
        ]
        # map(mul): the same products summed in the same order as a generator of w * v, at
        # half the cost (the typer runs for every name of every article).
        scores = [b + sum(map(mul, row, x)) for row, b in zip(self.weights, self.bias, strict=True)]
        top = max(scores)
        exp = [math.exp(s - top) for s in scores]
        total = sum(exp)
        return {c: e / total for c, e in zip(CLASSES, exp, strict=True)}

    def to_json(self, **extra: object) -> str:
        """The file ``load_typer`` reads, with ``extra`` keys (provenance, figures) first."""
        data = {
            **extra,
            "classes": list(CLASSES),
            "features": list(self.features),
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
            "weights": [[round(v, 6) for v in row] for row in self.weights],
            "bias": [round(v, 6) for v in self.bias],
            "thresholds": {"drop": self.thresholds.drop, "switch": self.thresholds.switch},
        }
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def typer_from_dict(data: Mapping[str, Any], known: Sequence[str]) -> Typer:
    """A ``Typer`` from its JSON form; ``known`` are the features the code computes.

    Raises ``ValueError`` when the file's classes or features do not match the code's: weights
    trained for other evidence would be read against the wrong values, silently.
    """
    classes = tuple(data.get("classes", ()))
    if classes != CLASSES:
        raise ValueError(f"typer classes {classes} are not {CLASSES}")
    features = tuple(data["features"])
    unknown = sorted(set(features) - set(known))
    if unknown:
        raise ValueError(f"typer features not computed by this code: {unknown}")
    mean = tuple(float(v) for v in data["mean"])
    scale = tuple(float(v) for v in data["scale"])
    weights = tuple(tuple(float(v) for v in row) for row in data["weights"])
    bias = tuple(float(v) for v in data["bias"])
    if not (len(mean) == len(scale) == len(features)) or len(weights) != len(CLASSES):
        raise ValueError("typer weights do not match its feature and class lists")
    if any(len(row) != len(features) for row in weights) or len(bias) != len(CLASSES):
        raise ValueError("typer weights do not match its feature and class lists")
    limits = data.get("thresholds") or {}
    drop = {t: float(v) for t, v in (limits.get("drop") or {}).items()}
    if set(drop) - set(TYPES):
        raise ValueError(f"typer thresholds for unknown types: {sorted(set(drop) - set(TYPES))}")
    thresholds = Thresholds(
        drop={**dict.fromkeys(TYPES, NEVER), **drop}, switch=float(limits.get("switch", NEVER))
    )
    return Typer(features, mean, scale, weights, bias, thresholds)


@lru_cache(maxsize=4)
def _load(path: str, known: tuple[str, ...]) -> Typer:
    return typer_from_dict(json.loads(Path(path).read_text(encoding="utf-8")), known)


def load_typer(known: Sequence[str], path: str | Path | None = None) -> Typer:
    """The typer at ``path`` (default ``mappings/entity_typer.json``), read once per process.

    Raises ``OSError`` when the file is missing, ``ValueError`` when it does not fit the code.
    """
    if path is None:  # the enrich step's call, once per article: no path to resolve each time
        return _load_default(tuple(known))
    return _load(str(Path(path).resolve()), tuple(known))


@lru_cache(maxsize=4)
def _load_default(known: tuple[str, ...]) -> Typer:
    return _load(str(TYPER_PATH.resolve()), known)
