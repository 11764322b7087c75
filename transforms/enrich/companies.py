"""Listed companies: the constituents of the major stock indices, as evidence that a name of
an article is a company.

The small NER model often reads a company named like a person ("Lockheed Martin", "Best
Buy") as a person, or one it has not seen as a place ("Netflix"). The names come from
pytickersymbols (the S&P 500, S&P 600, NASDAQ 100, FTSE 100, DAX, CAC 40, Nikkei 225 and
others: about 1,800 companies), each as listed and without its legal form ("Netflix, Inc."
-> "Netflix"); the words that name a business ("Group", "Holdings", "Company") stay, since
"Match Group" without them is a common word.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Legal forms after a company's name, one or more: "Inc.", "Corp.", "plc", "N.V.", "S.A.".
_LEGAL_FORM = re.compile(
    r"(?:,?\s+(?:Inc|Incorporated|Corp|Corporation|Co|plc|PLC|Ltd|Limited|LLC|L\.P|LP|AG|SE|"
    r"SA|S\.A|N\.V|NV|ASA|AB|A/S|Oyj|S\.p\.A|SpA|KGaA|Class\s+[A-C])\.?)+$"
)


def without_legal_form(name: str) -> str:
    """A company's name without the legal form after it: "Netflix, Inc." -> "Netflix"."""
    return _LEGAL_FORM.sub("", name.strip()).strip()


@lru_cache(maxsize=1)
def listed_company_names() -> frozenset[str]:
    """Each listed company's name as listed and without its legal form (names of two
    characters or more)."""
    from pytickersymbols import PyTickerSymbols

    names: set[str] = set()
    for stock in PyTickerSymbols().get_all_stocks():
        listed = (stock.get("name") or "").strip()
        names.update(n for n in (listed, without_legal_form(listed)) if len(n) >= 2)
    return frozenset(names)
