"""``_word_spans`` finds exactly what the regexes it replaced found, edge cases included."""

from __future__ import annotations

import random
import re

import pytest

from newsflow.transforms.enrich.entities import _word_spans

CASES = [
    ("Krogh", "Krogh said"),
    ("Krogh", "said Krogh"),
    ("Krogh", "Krogh"),
    ("Krogh", "Kroghs and Krogh's and xKrogh, Krogh."),
    ("aa", "aaa"),
    ("aa", "aaaa aa"),
    ("aa", "a aa_aa aa1 1aa aa"),
    ("a.a", "xa.a.a"),  # the first occurrence fails, the overlapping second one counts
    ("Jr.", "Smith Jr. said"),
    ("Jr.", "Smith Jr.x and Jr.. Jr."),
    ("O'Neil", "O'Neil, O'Neils and xO'Neil"),
    ("-x", "a-x -x b -xy"),
    ("x-", "x- x-y ax-"),
    ("-", "a - b-c -"),
    (".", "a. . .b"),
    ("_a", "_a b_a _ab"),
    ("12", "12 a12 123 12b"),
    ("Øyvind", "Øyvind Krogh, ØØyvind, Øyvindé"),
    ("é", "é eé éa"),
    ("lava", "lava-flow, the lava, hot-lava, lavas"),
    ("budget", "Budget budget budget-"),
    ("", "ab c"),
    ("", ""),
]


def _lookaround(word: str, text: str, also: str = "") -> list[tuple[int, int]]:
    pattern = rf"(?<![\w{also}]){re.escape(word)}(?![\w{also}])"
    return [m.span() for m in re.finditer(pattern, text)]


def _bounded(word: str, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(rf"\b{re.escape(word)}\b", text)]


def _check(word: str, text: str) -> None:
    assert list(_word_spans(text, word)) == _lookaround(word, text), (word, text)
    assert list(_word_spans(text, word, "-")) == _lookaround(word, text, "-"), (word, text)
    assert list(_word_spans(text, word, bounds=True)) == _bounded(word, text), (word, text)


@pytest.mark.parametrize(("word", "text"), CASES)
def test_word_spans_match_the_regexes(word: str, text: str) -> None:
    _check(word, text)


def test_word_spans_on_known_answers() -> None:
    assert list(_word_spans("aaa", "aa")) == []
    assert list(_word_spans("aa aaa aa", "aa")) == [(0, 2), (7, 9)]
    assert list(_word_spans("xa.a.a", "a.a")) == [(3, 6)]
    assert list(_word_spans("a-lava lava", "lava", "-")) == [(7, 11)]
    assert list(_word_spans("Jr.x Jr. x", "Jr.", bounds=True)) == [(0, 3)]
    assert list(_word_spans("Jr.x Jr. x", "Jr.")) == [(5, 8)]


def test_word_spans_match_the_regexes_on_random_strings() -> None:
    rng = random.Random(20240601)
    alphabet = "ab_-. é1\n’"
    for _ in range(20_000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 12)))
        word = "".join(rng.choices(alphabet, k=rng.randint(0, 3)))
        _check(word, text)
        if text:  # a word taken from the text, so that it occurs at least once
            i = rng.randrange(len(text))
            _check(text[i : i + rng.randint(1, 3)], text)
