"""The real pages the tests and benches read, inside the repository, and their split by site.

Everything is under ``tests/data`` (``tests/data/README.md`` says where each corpus comes from
and under which licence), so a clone made anywhere runs the tests and benches as they are.

The split lives here rather than in a bench because it is a fact about the data, fixed with
it: which pages rules may be developed on (half A) and which check them (half B). Tests and
benches both import this module already, and it needs nothing but the standard library.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
# 130 real article pages: html/<id>.html.gz, ground-truth.json (<id> -> url, articleBody).
EXTRACTION_BENCHMARK = DATA / "extraction-benchmark"
# Entity facets and quotations of its 116 English pages, read by hand, with their scorers.
ENTITIES_GOLD = DATA / "entities-gold"
# 300 real pages with their publication day: html/<key>.html.gz, dates.json (<key> -> url, date).
NEWS_DATES = DATA / "news-dates"

Half = Literal["A", "B"]
HALVES: tuple[Half, ...] = ("A", "B")


def site(url: str) -> str:
    """The site a page belongs to: its host, lower-cased, without a leading ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def half(url: str) -> Half:
    """``"A"`` (development) or ``"B"`` (checking) for a page, by its site: the first bit of
    the sha256 of ``site(url)``. Every page of a site lands in the same half, so a rule fitted
    to one site's template cannot pass for a rule that holds on sites never seen; the hash
    keeps the split the same on every machine and for every new page of a known site."""
    return "A" if hashlib.sha256(site(url).encode("utf-8")).digest()[0] < 128 else "B"
