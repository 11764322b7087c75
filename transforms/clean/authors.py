"""Author names from bylines and structured data, without the junk that fills author fields.

``clean_authors(raw, site_names)`` turns raw author strings ("By JANE DOE and John Roe |
Reuters", "Staff", "Updated 5:04 PM", "jane@example.com") into a de-duplicated list of person
names: prefixes and roles go, agencies, desks and the site's own name go, "A and B" / "A, B"
are split, names in capitals are title-cased. ``structured_authors`` reads the author of the
page's JSON-LD article, ``byline_authors`` the byline of the page when there is none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lxml.etree import XPath
from lxml.html import HtmlElement

# News agencies and syndication services: a source, not a person who wrote the story.
AGENCIES = frozenset(
    {
        "ap",
        "the associated press",
        "associated press",
        "reuters",
        "thomson reuters",
        "afp",
        "agence france-presse",
        "agence france presse",
        "bloomberg",
        "bloomberg news",
        "upi",
        "united press international",
        "dpa",
        "efe",
        "ansa",
        "pa",
        "pa media",
        "press association",
        "xinhua",
        "tass",
        "kyodo",
        "kyodo news",
        "yonhap",
        "anadolu",
        "anadolu agency",
        "aap",
        "cnn",
        "bbc",
        "bbc news",
        "nyt",
        "the new york times",
        "the canadian press",
        "canadian press",
        "agência brasil",
        "agencia brasil",
        "europa press",
        "lusa",
        "ria novosti",
        "interfax",
        "pti",
        "ians",
        "ani",
        "sputnik",
        "sputnik international",
        "usa today",
    }
)
# Lowercase words that may stand inside a name ("Ludwig van Beethoven", "Ortega y Gasset").
_PARTICLES = frozenset(
    [
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "das",
        "dos",
        "du",
        "la",
        "le",
        "bin",
        "ibn",
        "al",
        "el",
        "y",
        "e",
        "ter",
        "ten",
        "zu",
    ]
)
_WEEKDAY = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?|"
    r"oct(ober)?|nov(ember)?|dec(ember)?"
)
# Words that make a "name" a desk, a role or a team rather than a person.
_DESK_WORDS = re.compile(
    r"\b(staff|staffers?|desk|newsroom|news ?room|bureau|team|editors?|editorial|board|"
    r"wires?|newswire|services?|agency|reports?|reporters?|correspondents?|writers?|"
    r"columnists?|contributors?|contributing|photographers?|producers?|admin|administrator|"
    r"webmaster|moderator|unknown|anonymous|guest|sponsored|partner|press release|"
    r"redacci[oó]n|reda[cç][aã]o|r[ée]daction|redaktion|redazione|redactie|"
    r"special to|for the|senior|chief|associate|deputy|managing|digital|online|"
    r"updated?|published|posted|minutes?|hours?|ago|read|"
    r"(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day)?|wednesday|saturday)\b",
    re.I,
)
# "By", "Written by", "Por", "Text:"... in front of the name.
_PREFIX = re.compile(
    r"^\W*((written|reported|story|words|text|reporting|posted|published|compiled|analysis|"
    r"opinion|commentary|review|column|interview|essay)\s+(by|:)|by|from|текст|автор|фото|"
    r"author|authors|autor(es)?|autora|auteur|"
    r"por|par|von|di|door|av|af|text|texte|texto)\b\s*:?\s*",
    re.I,
)
# Credits of people who did not write the story: "Editing by ...", "Photos by ...".
_NOT_WRITER = re.compile(
    r"^\W*(edit(ing|ed)|photos?|photography|graphics?|video|illustrations?|translat(ed|ion)|"
    r"fact[- ]check(ed|ing)|produced|design)\s+(by\b|:)",
    re.I,
)
# What follows a name in a byline: "Jane Doe Posted Thursday, November 5".
_TRAILER = re.compile(
    r"\s+(posted|updated|published|last updated|publicado|publié|veröffentlicht|"
    rf"{_WEEKDAY})\b.*$",
    re.I,
)
# A news organisation after the name: "Tom Davies Associated Press", "Kevin McCoy USA TODAY".
_ORG_SUFFIX = re.compile(
    r"\s+(" + "|".join(re.escape(a) for a in sorted(AGENCIES, key=len, reverse=True)) + r")$",
    re.I,
)
_CAPS_SUFFIX = re.compile(r"(\s+[A-Z]{2,})+$")
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_URL = re.compile(r"https?://\S+|www\.\S+|\S+\.(com|org|net|co\.uk)\b", re.I)
_HANDLE = re.compile(r"@\w+")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_MONTH = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|"
    r"\b\d{1,2}\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b",
    re.I,
)
# Separators between several names; "and" joins two names, "y"/"e" only two full names
# (a one-word side is part of a name: "Ortega y Gasset").
_SPLIT = re.compile(r"\s*(?:[;|,/•·]|\s(?:and|&|und|et)\s|\n)\s*", re.I)
_SPLIT_FULL = re.compile(r"\s+(?:y|e)\s+")
_WORD = re.compile(r"[^\W\d_][\w'’.-]*")
MAX_NAME_WORDS = 5
MAX_NAME_CHARS = 60


def _title_case(name: str) -> str:
    """All-caps names title-cased ("JANE O'NEILL" -> "Jane O'Neill"); others kept as written."""
    if not (name.isupper() and sum(c.isalpha() for c in name) > 1):
        return name
    return re.sub(r"[^\W\d_]+", lambda m: m[0].capitalize(), name.lower())


def _is_person_name(name: str, blocked: set[str]) -> bool:
    low = name.lower().strip(" .")
    if not low or low in AGENCIES or low in blocked:
        return False
    if len(name) > MAX_NAME_CHARS or any(c.isdigit() for c in name):
        return False  # dates, times, "2 min read"
    words = _WORD.findall(name)
    if not words or len(words) > MAX_NAME_WORDS or len(words) != len(name.split()):
        return False  # symbols and leftovers: "|", "-", "By:"
    if _DESK_WORDS.search(name) or _MONTH.search(name):
        return False
    if words[0].lower() in AGENCIES or words[0].lower() == "the":
        return False  # "CNN Business", "AP Photo", "The Russian ..."
    if len(words) == 1 and (len(name) < 3 or name.isupper()):
        return False  # initials and credentials: "As", "MS", "RDN", "PTI"
    # Every word of a name starts with a capital, but for particles ("van", "de"); a name
    # never opens with a particle nor ends with another lowercase word ("... Media for").
    return name[0].isupper() and all(w[0].isupper() or w.lower() in _PARTICLES for w in words)


def _pieces(raw: str) -> list[str]:
    text = _PAREN.sub(" ", _URL.sub(" ", _EMAIL.sub(" ", raw)))
    text = _HANDLE.sub(" ", text)
    out = []
    for part in _SPLIT.split(text):
        part = " ".join(part.split())
        halves = _SPLIT_FULL.split(part)
        if len(halves) == 2 and all(len(h.split()) >= 2 for h in halves):
            out.extend(halves)
        else:
            out.append(part)
    return out


def clean_authors(raw: Iterable[str | None], site_names: Iterable[str | None] = ()) -> list[str]:
    """Person names from raw author strings, in order, without junk or repeats.

    ``site_names`` (the site's and publisher's names) are dropped too: a site that credits
    itself names no author.
    """
    blocked = {s.lower().strip() for s in site_names if s}
    out: list[str] = []
    seen: set[str] = set()
    for value in raw:
        if not value:
            continue
        for piece in _pieces(value):
            if _NOT_WRITER.match(piece):
                continue
            piece = _TRAILER.sub("", piece)
            name = _PREFIX.sub("", piece).strip(" \t-–—:,.|'\"“”")
            name = _PREFIX.sub("", name).strip(" \t-–—:,.|'\"“”")  # "By: Text: ..."
            if len(name.split()) > 2:
                name = _ORG_SUFFIX.sub("", name)
                if not name.isupper():  # "Kevin McCoy USA TODAY", not "JANE M DOE"
                    name = _CAPS_SUFFIX.sub("", name)
            if not _is_person_name(name, blocked):
                continue
            name = _title_case(name)
            key = name.casefold()
            if key not in seen:
                seen.add(key)
                out.append(name)
    return out


def _names(value: Any) -> list[str]:
    """Names in a JSON-LD author value: a string, a Person, or a list of either.
    Organisations are not authors."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [n for item in value for n in _names(item)]
    if isinstance(value, dict):
        kind = value.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "Organization" in kinds or "NewsMediaOrganization" in kinds:
            return []
        name = value.get("name")
        if isinstance(name, str):
            return [name]
        if isinstance(name, list):
            return [n for n in name if isinstance(n, str)]
    return []


def structured_authors(article: dict[str, Any] | None) -> list[str]:
    """Raw author names of a JSON-LD article object (``author``, else ``creator``)."""
    if not article:
        return []
    return _names(article.get("author")) or _names(article.get("creator"))


# The byline of the page: specific markers first (rel=author, itemprop=author, author-name
# classes), then containers classed "byline"/"author". Compiled once: XPath in C is far cheaper
# than walking the tree in Python. The leading test for the attributes the conditions read
# (which each of them needs anyway) spares libxml2 the string tests on most elements.
_SPECIFIC = XPath(
    "//body//*[@class or @rel or @itemprop][@rel='author' or @itemprop='author' or "
    "contains(@class, 'author-name') or contains(@class, 'author__name') or "
    "contains(@class, 'authorName') or contains(@class, 'byline__name') or "
    "contains(@class, 'byline-name')][not(self::link) and not(self::meta)]"
)
_GENERIC = XPath(
    "//body//*[@class or @id][contains(@class, 'byline') or contains(@class, 'author') or "
    "contains(@id, 'byline') or @class='byl'][not(self::link) and not(self::meta)]"
)
_NOT_BYLINE = re.compile(r"comment|related|recommend|teaser|card|promo|footer|sidebar|bio", re.I)
MAX_BYLINE_CHARS = 150


def _in_furniture(el: HtmlElement) -> bool:
    for anc in el.iterancestors():
        marks = f"{anc.get('class', '')} {anc.get('id', '')}"
        if marks.strip() and _NOT_BYLINE.search(marks):
            return True
    return False


def _text(el: HtmlElement) -> str:
    # itemprop=author often wraps the name with a photo and a bio: the name is its "name".
    named = el.find(".//*[@itemprop='name']")
    source = named if named is not None else el
    # Lines of a byline (<br>, blocks) are separate strings: keep them apart.
    return " ".join(" ".join(source.itertext()).split())


def _usable(el: HtmlElement) -> bool:
    return 0 < len(_text(el)) <= MAX_BYLINE_CHARS and not _in_furniture(el)


def byline_authors(tree: HtmlElement) -> list[str]:
    """Raw author strings from the page's visible byline (the first one found)."""
    for expression in (_SPECIFIC, _GENERIC):
        hits = expression(tree)
        first = next((el for el in hits if _usable(el)), None)
        if first is None:
            continue
        # Several authors of one byline sit in one container; later hits elsewhere on the
        # page (author cards of other stories) do not count.
        home = first.getparent()
        home = home.getparent() if home is not None and home.getparent() is not None else home
        group = [
            el
            for el in hits
            if el is first or (home is not None and _inside(el, home) and _usable(el))
        ]
        texts = list(dict.fromkeys(_text(el) for el in group))
        # An element inside another hit repeats part of its text.
        return [t for t in texts if not any(t != o and t in o for o in texts)] or texts
    return []


def _inside(el: HtmlElement, container: HtmlElement) -> bool:
    return any(a is container for a in el.iterancestors())
