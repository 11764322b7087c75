"""Measure a learned keep/drop re-scorer of organisations against the hand rules and the typer.

    .venv/bin/python bench/org_rescorer.py            # cross-validated on A, checked on B
    .venv/bin/python bench/org_rescorer.py --l2 10    # another penalty

Issue 20 allows a small learned re-scorer of entity candidates if it beats the hand rules on
the half it was not trained on. This bench trains one that only decides keep or drop of the
names that the rules and the typer make organisations: a logistic regression over every
feature ``entities.FEATURES`` computes (the model's labels of all mentions, the words around
them, capitalisation, the gazetteer, product and page evidence), labelled by the entity gold
(kept when its organisation value names a gold organisation; names the gold leaves open are
left out). Training is deterministic (gradient descent from zero weights, no sampling).

For each drop threshold it prints half A cross-validated (five folds by site) and half B
scored by the re-scorer trained on all of A. A threshold is worth adopting only if A's
cross-validated F1 beats "never drop" with recall above raw spaCy's; B is only reported.
Nothing is written: no threshold has beaten the rules yet (``bench/README.md``).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quality import entity_gold  # noqa: E402
from bench.train_typer import FOLDS, Page, f1, facets, gold_label, read_pages, score  # noqa: E402
from newsflow.transforms.enrich import entities as E  # noqa: E402
from newsflow.transforms.enrich.typer import load_typer  # noqa: E402

STEPS = 3000
RATE = 0.5
GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)  # 0.0: never drop
Model = tuple[np.ndarray, np.ndarray, np.ndarray, float]  # mean, scale, weights, bias


def typed(pages: Mapping[str, Page]) -> dict[str, list[tuple[E.Candidate, str | None]]]:
    """Each page's candidates with the type the rules and the typer give them."""
    typer = load_typer(E.FEATURES)
    return {k: [(c, E.candidate_type(c, typer)) for c in p["candidates"]] for k, p in pages.items()}


def dataset(base: Mapping[str, list], keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the organisations of ``keys`` the gold decides: features, kept or not."""
    gold = entity_gold()
    rows, labels = [], []
    for k in keys:
        for c, facet in base[k]:
            if facet != "organization" or c.alias:
                continue
            label = gold_label(c, gold[k])
            if label is not None:
                rows.append([c.features[f] for f in E.FEATURES])
                labels.append(float(label == "organization"))
    return np.array(rows, dtype=float), np.array(labels)


def fit(x: np.ndarray, y: np.ndarray, l2: float) -> Model:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(STEPS):
        g = 1 / (1 + np.exp(-(z @ w + b))) - y
        w -= RATE * (z.T @ g / len(y) + l2 * w / len(y))
        b -= RATE * float(g.mean())
    return mean, scale, w, b


def keep_probability(model: Model, c: E.Candidate) -> float:
    mean, scale, w, b = model
    x = (np.array([c.features[f] for f in E.FEATURES]) - mean) / scale
    return 1 / (1 + math.exp(-float(x @ w + b)))


def run(pages, base, keys: list[str], models: Mapping[str, Model], threshold: float) -> dict:
    out = {}
    for k in keys:
        out[k] = [
            (
                c,
                None
                if facet == "organization"
                and not c.alias
                and keep_probability(models[k], c) < threshold
                else facet,
            )
            for c, facet in base[k]
        ]
    return score(pages, keys, facets(pages, out))["organization"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--l2", type=float, default=3.0, help="L2 penalty (%(default)s)")
    args = parser.parse_args(argv)
    pages = read_pages()
    base = typed(pages)
    a = sorted(k for k in pages if pages[k]["half"] == "A")
    b = sorted(k for k in pages if pages[k]["half"] == "B")
    sites = sorted({pages[k]["site"] for k in a})
    folds: dict[str, Model] = {}
    for fold in range(FOLDS):
        held = [k for k in a if sites.index(pages[k]["site"]) % FOLDS == fold]
        model = fit(*dataset(base, [k for k in a if k not in held]), args.l2)
        folds.update(dict.fromkeys(held, model))
    full = dict.fromkeys(b, fit(*dataset(base, a), args.l2))
    raw = {h: score(pages, ks, {k: pages[k]["raw"] for k in ks}) for h, ks in (("A", a), ("B", b))}
    print(
        "raw spaCy organisation recall: "
        f"A {raw['A']['organization']['recall']:.3f}, B {raw['B']['organization']['recall']:.3f}"
    )
    print(f"{'drop below':<12}{'A cross-validated P/R F1':>28}{'B P/R F1':>22}")
    for threshold in GRID:
        sa, sb = run(pages, base, a, folds, threshold), run(pages, base, b, full, threshold)
        print(
            f"{threshold:<12.2f}{sa['precision']:>14.3f}/{sa['recall']:.3f} {f1(sa):.3f}"
            f"{sb['precision']:>10.3f}/{sb['recall']:.3f} {f1(sb):.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
