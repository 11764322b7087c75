"""Rules that separate article text from page furniture, around trafilatura's extraction.

Two kinds, both site-independent (none names a site or was fitted to one page):

* tree rules (``prepare_tree``) run on the parsed page before extraction: they unwrap layout
  tables, drop containers whose class or id names furniture (related, newsletter, caption,
  credit, tooltip...) and paragraphs that are only a link; ``split_body`` /
  ``merge_split_body`` find and join an article body cut into chunks;
* line rules (``clean_lines``) run on the extracted text: they drop the repeated headline,
  bylines and datelines opening the body, teaser / sign-up / share / follow / comment prompts,
  photo credits, and the credits, update notes, copyright and contact lines closing it.

Every rule only removes short lines or containers holding a small share of the page's text:
a paragraph of article prose is never touched, so a rule that misfires on an unseen site
costs a few words, not the article. ``bench/extraction.py --ablate`` measures each one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import TypeVar

from lxml.etree import XPath
from lxml.html import HtmlElement

_WORD = re.compile(r"\w+")


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


# --- line rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineRule:
    """A pattern for lines that are not article text, with the longest line it may remove."""

    name: str
    pattern: re.Pattern[str]
    max_words: int


def _rule(name: str, pattern: str, max_words: int) -> LineRule:
    return LineRule(name, re.compile(pattern, re.I), max_words)


# Lines that point to other stories: "Read more: ...", "RELATED: ...", "Also on example.com ...".
_TEASER_PREFIX = (
    r"read more|read also|also read|read next|see also|see more|more on this( story)?|more from|"
    r"related( articles?| stories| coverage| content| reading| links?)?|recommended|"
    r"also on [\w.-]+|don'?t miss|must read|further reading|watch|listen|more|"
    r"lire aussi|à lire aussi|voir aussi|leer más|lea también|lee también|ver también|"
    r"lesen sie auch|mehr zum thema|leia também|leia mais|veja também|veja mais|"
    r"leggi anche|читайте также|смотрите также"
)
# Headings of teaser, sign-up and comment blocks that stand on a line of their own.
_BLOCK_HEADING = (
    r"(you (may|might) (also )?(like|enjoy)|we recommend|recommended( for you| stories)?|"
    r"related( articles?| stories| posts| coverage| content)?|more (stories|news|videos)|"
    r"most (read|popular|viewed|shared)( \w+){0,4}|popular on [\w .-]+|"
    r"trending( now| stories)?|top stories|latest( news| stories)?|explore further|"
    r"don'?t miss|editor'?s picks?|what to read next|up next|read next|"
    r"(\d+ )?comments?|(no|view|show|read|all|user|top rated|top|reader) comments( \(\d+\))?|"
    r"comments are closed\.?|leave a (reply|comment)|post a comment|add a comment|"
    r"join (the )?(discussion|conversation)|want to join the discussion\??|"
    r"comment on this (story|article)|comments powered by disqus|feel free to contribute!?|"
    r"\[? ?read all comments ?\]?|\(?view all\)?|please try again( later)?\.?|"
    r"(an|there was an) error (has )?(occurred|processing)[\w ,.]*|this article has been sent to|"
    r"share( this)?( article| story| post| page)?( on \w+)?|share via|print( this)?( article)?|"
    r"order reprints|reprints|email( this)?( article)?|tweet|tags?|filed under|"
    r"sign up|subscribe( now)?|newsletters?|thanks? (you )?for signing up!?|"
    r"advertisement|sponsored( content)?|ad|"
    r"leia também|veja também|lesen sie auch|lire aussi|comentários|комментарии)"
)

LINE_RULES: tuple[LineRule, ...] = (
    _rule("teaser", rf"^\W*(?:{_TEASER_PREFIX})\s*(?:[:»>|–—-]|\.\.\.)", 30),
    _rule("teaser", r"^\W*also on [\w-]+\.\w+\s", 30),
    _rule("block-heading", rf"^\W*{_BLOCK_HEADING}\W*$", 8),
    # Cross-links in capitals tagged like "... [VIDEO]" or "... [INSIGHT]".
    _rule("tagged-link", r"^\W*(\w+\W+){4,}\[[A-Z][A-Z ]{2,}\]\W*$", 25),
    _rule(
        "signup",
        r"\b(sign up|subscribe|subscribing|register|get|receive|join)\b.{0,60}\bnewsletters?\b|"
        r"\bnewsletters?\b.{0,60}\b(sign up|subscribe|inbox|delivered)|"
        r"^\W*[\w'’ ]{0,40}newsletter\W*$|"
        r"\byour inbox\b|^\W*sign up\s*[:!]|^\W*subscribe (to|for|now)\b|"
        r"\bsubscription\b.*\b(error|confirm)|"
        r"^\W*(click here to |tap here to )?(download|get) (the|our) [\w .]{0,40}\bapp\b|"
        r"^\W*click here to (subscribe|sign up|follow|register)\b|\bby clicking here\W*$",
        30,
    ),
    _rule("signup", r"^\W*join (our|the) [\w$,. ]{0,40}(club|challenge|community|list)\b", 12),
    _rule(
        "follow",
        r"^\W*((follow|find) (us|@?[\w.'’ -]{1,60}?)|like us) on "
        r"(twitter|facebook|instagram|linkedin|youtube|tiktok|flipboard)|"
        r"^\W*(like|enjoy)(d)? this (story|article|post)\?|^\W*share (it|this) with|"
        r"^\W*follow (our|[\w'’]+) (full |live |latest )?coverage\b|"
        r"^\W*(listen|watch) (to )?[\w'’ ]{1,40} (live|on demand|podcast)\b",
        40,
    ),
    # Appeals and disclosures addressed to the reader rather than telling the story.
    _rule(
        "promo",
        r"^\W*if you (enjoyed|liked) (this|our|reading)\b|"
        r"^\W*if you (value|appreciate) (this|our|what we|journalism)\b|"
        r"\bif you (buy|purchase|click)\b.*\b(commission|share of (the )?sales?|affiliate)|"
        r"\baffiliate (links?|commissions?)\b",
        60,
    ),
    _rule(
        "legal",
        r"\ball rights reserved\b|^\W*(copyright|©)\s*(©\s*)?\d{4}\b|"
        r"\bnon-commercial use only\b",
        60,
    ),
    _rule(
        "credit",
        r"^\W*(photo|image|picture|video|graphic|illustration|foto|imagem|bild|사진)s?"
        r"( credit)?s?\s*([:=/]|by\s+\w+( \w+)*\s*(/|$))|"
        r"^\W*(©|\(c\))\s*\w[\w .&/-]*\W*$|"
        r"\((photo|image|credit|picture)s?\b[^)]*\)\W*$|"
        r"\b(photo|image|picture)s? by [\w.'’ -]{2,40}/[\w.'’ -]{2,40}\W*$|"
        r"/\s*(getty images|ap( photo)?|reuters|afp|shutterstock|istock|epa)\W*$",
        25,
    ),
)
# Credits, notes and legal lines that close an article.
TAIL_RULES: tuple[LineRule, ...] = (
    _rule(
        "credits",
        r"^\W*((additional )?(reporting|writing|editing|research) by\b|contributing:|"
        r"with (\w+ )?wires\W*$|compiled by\b|(staff|wire) reports?\W*$)|"
        r"\bcontributed (to )?(this )?(report|reporting|story|article)\b",
        40,
    ),
    _rule(
        "update-note",
        r"^\W*(this (story|article|post|report) (has been|was|is being) (updated|corrected|"
        r"edited)|(correction|clarification|editor'?s note|update)\s*:|"
        r"(updated|last updated|published|posted) (at|on)?\s*\d)",
        40,
    ),
    # A short "Copyright ..." line is a notice; a long one may be a story about copyright.
    _rule("legal", r"^\W*(copyright|©|\(c\) \d{4})", 20),
    _rule(
        "legal",
        r"\ball rights reserved\b|"
        r"^\W*this (copy|material|article) (is|may) (for your personal|not be (published|"
        r"reproduced))|\bmay not be (published|reproduced|broadcast),? (broadcast|rewritten)|"
        r"^\W*source\s*:",
        60,
    ),
    _rule(
        "contact",
        r"^\W*(write to|reach|contact|email|e-mail) .{0,60}(\bat\b|:)\s*\S+@\S+|"
        r"^\W*(reach|follow|contact) .{0,60}(https?://|twitter\.com/|@\w)|"
        r"^\W*have a (news )?tip\?|^\W*\S+@\S+\.\w+\W*$|^\W*(https?://)?(www\.)?twitter\.com/\w+",
        40,
    ),
    _rule("tags", r"^\W*(tags|filed under|categories|category|topics)\s*[:|]", 60),
)
# Lines before the first paragraph that only say who wrote the story and when.
_BYLINE = re.compile(
    r"^\W*(by|por|par|von|di|door|av|af)\s+\w|^\W*(published|posted|updated|last updated|"
    r"publicado|publié|veröffentlicht|pubblicato)\b|"
    r"\b(published|posted|written|publicado|escrito|publié|publicada) (by|on|por|em|par|le)\b|"
    r"\b(\d+\s*(min|minute|minutes)|minute) read\b|"
    r"\btempo de leitura\b|\breading time\b|\blesezeit\b|\bleestijd\b",
    re.I,
)
_DATE_TOKEN = re.compile(
    r"^(\d{1,4}(st|nd|rd|th|h)?|am|pm|a|p|m|gmt|utc|[ecmp][sd]t|amt|et|"
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?|"
    r"oct(ober)?|nov(ember)?|dec(ember)?|mon(day)?|tue(sday)?|wed(nesday)?|thu(rsday)?|"
    r"fri(day)?|sat(urday)?|sun(day)?|de|às|at|on|um|le|il|el|à|"
    r"janeiro|fevereiro|março|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro|"
    r"segunda|terça|quarta|quinta|sexta|sábado|domingo|feira|"
    r"janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre|"
    r"januar|februar|märz|juni|juli|oktober|dezember|"
    r"enero|febrero|marzo|mayo|junio|julio|septiembre|octubre|noviembre|diciembre|"
    r"updated|published|posted|date|time|기사입력|입력|수정)$",
    re.I,
)
LEAD_LINES = 4  # how far into the body a byline or dateline may stand
LONG_LINE_WORDS = 25  # a line this long is prose: lead rules stop there


def is_dateline(line: str) -> bool:
    """A short line made only of date and time words: "Nov 19, 2019 - 11:28 AM"."""
    tokens = _WORD.findall(line)
    return 0 < len(tokens) <= 12 and all(_DATE_TOKEN.match(t) for t in tokens)


def is_byline(line: str) -> bool:
    """A short line that names the author or the time of publishing: "By Jane Doe | Reuters".
    A sentence ("By Tuesday the storm had passed.") ends with a full stop; a byline does not."""
    return (
        word_count(line) <= 15
        and not line.rstrip().endswith((".", "!", "?", "”", '"'))
        and bool(_BYLINE.search(line))
    )


def matching_rule(line: str, rules: tuple[LineRule, ...] = LINE_RULES) -> str | None:
    """Name of the first rule that removes ``line``, or None to keep it."""
    words = word_count(line)
    for rule in rules:
        if words <= rule.max_words and rule.pattern.search(line):
            return rule.name
    return None


def _is_headline(line: str, titles: list[str | None]) -> bool:
    a = _norm(line)
    if not a:
        return False
    for title in filter(None, titles):
        b = _norm(title)
        # The <title> is often the headline plus " - Site Name", so a long prefix counts too.
        if a == b or (len(a) >= 20 and b.startswith(a)):
            return True
    return False


TAIL_SHARE = 0.3  # tail rules look at the last 30% of lines (and at least the last five)
_TAG_HEADING = re.compile(
    r"^\W*(tags|tagged|topics|keywords|palavras-chave|schlagwörter)\W*$", re.I
)
# Names of the line rules, for switching them off one at a time (``disabled``).
LINE_RULE_NAMES: tuple[str, ...] = (
    "title",
    "byline",
    "dateline",
    *dict.fromkeys(rule.name for rule in (*LINE_RULES, *TAIL_RULES)),
)


def clean_lines(
    text: str,
    *,
    titles: list[str | None] | tuple[str | None, ...] = (),
    disabled: frozenset[str] = frozenset(),
) -> str:
    """The extracted text without the lines the rules recognise as furniture.

    ``titles`` are the page's headlines (``<title>``, ``<h1>``...), dropped where they open
    the body. ``disabled`` switches rules off by name, for measuring what each is worth.
    """
    lines = [line for line in text.strip().splitlines() if line.strip()]
    keep = [True] * len(lines)
    titles = list(titles)
    # Leading furniture: headline, byline, dateline; it ends at the first line of prose.
    for i, line in enumerate(lines[:LEAD_LINES]):
        if word_count(line) >= LONG_LINE_WORDS:
            break
        if (
            ("title" not in disabled and _is_headline(line, titles))
            or ("byline" not in disabled and is_byline(line))
            or ("dateline" not in disabled and is_dateline(line))
        ):
            keep[i] = False
    tail_start = min(len(lines) - 5, int(len(lines) * (1 - TAIL_SHARE)))
    previous = None
    for i, line in enumerate(lines):
        if not keep[i]:
            continue
        rules = LINE_RULES + TAIL_RULES if i >= tail_start else LINE_RULES
        name = matching_rule(line, rules)
        # The list under a "Tags" heading: "stock car, interlagos, calendar".
        if not name and previous == "tag-heading" and "," in line and word_count(line) <= 60:
            name = "tags"
        if name and name not in disabled:
            keep[i] = False
        previous = "tag-heading" if _TAG_HEADING.match(line) else name
    return "\n".join(line for line, k in zip(lines, keep, strict=True) if k).strip()


# --- tree rules -------------------------------------------------------------------------------

TreeRule = Callable[[HtmlElement], int]


_TOKEN_SPLIT = re.compile(r"[\s_-]+|(?<=[a-z])(?=[A-Z])")


@lru_cache(maxsize=4096)
def _tokens(value: str | None) -> frozenset[str]:
    """Words of a class or id attribute: ``"c-related_box jsWidget"`` -> related, box, ...
    Cached: templates repeat the same few class strings on every page of a site."""
    if not value:
        return frozenset()
    return frozenset(p.lower() for p in _TOKEN_SPLIT.split(value) if p)


# Class/id words of containers that hold no article text on any site. Whole words only:
# a substring match ("comment" in "has-comments-enabled") removes article bodies.
BOILERPLATE_WORDS = frozenset(
    {
        "comments",
        "disqus",
        "related",
        "recommended",
        "recommendations",
        "newsletter",
        "newsletters",
        "signup",
        "subscribe",
        "subscription",
        "promo",
        "promos",
        "outbrain",
        "taboola",
        "trending",
        "latest",
        "mostread",
        "popular",
        "breadcrumb",
        "breadcrumbs",
        "sharebar",
        "sharing",
        "share",
        "sidebar",
        "caption",
        "captions",
        "figcaption",
        "cutline",
        "credit",
        "credits",
        "tooltip",
        "popover",
        "popup",
        "hovercard",
        "rollover",
        "cookie",
        "consent",
        "byline",
        "dateline",
        "tags",
    }
)


_Value = TypeVar("_Value", bound=str)  # a plain or an lxml smart string


def _naming(values: Sequence[_Value], words: frozenset[str]) -> list[_Value]:
    """The class or id values that have one of ``words`` among their tokens, in order.

    A token that is one of the words is a substring of the lowercased value, so a value
    without one holds none. The words are looked for once each over all the values joined by
    NUL (no attribute value holds one, no word crosses it) with ``str.find``, so only the few
    values with a hit are split into tokens: a page has hundreds of values, most of them ids
    seen once, too many to test or cache one by one."""
    lowered = [v.lower() for v in values]
    starts = list(accumulate((len(low) + 1 for low in lowered), initial=0))
    joined = "\x00".join(lowered)
    hits: set[int] = set()
    for word in words:
        at = joined.find(word)
        while at >= 0:
            hits.add(bisect_right(starts, at) - 1)
            at = joined.find(word, at + 1)
    # A plain copy of each value for _tokens' cache: a smart string would keep its page alive.
    return [values[i] for i in sorted(hits) if not words.isdisjoint(_tokens(str(values[i])))]


_KEEP_TAGS = frozenset({"html", "body", "main", "article"})
# A container holding this share of the page's paragraph text is the article, whatever its
# class says ("article-with-sidebar").
MAX_PRUNED_SHARE = 0.3


def _text_len(el: HtmlElement) -> int:
    return len("".join(el.itertext()))


# Compiled once and run by libxml2: walking a large page in Python costs more than the rules.
_PARA_TEXT = XPath(".//p//text()", smart_strings=False)
_HIDDEN_TEXT = XPath(
    "descendant-or-self::*[self::script or self::style or self::noscript]/text()",
    smart_strings=False,
)
_TEXT_LEN = XPath("string-length(string(.))")
_CLASS_ID = XPath(".//@class|.//@id")  # smart strings: each knows its element


def _para_len(el: HtmlElement) -> int:
    """Characters of paragraph text in ``el``."""
    return sum(map(len, _PARA_TEXT(el)))


def visible_len(el: HtmlElement) -> int:
    """Characters of text a reader sees in ``el``: scripts and styles left out."""
    return int(_TEXT_LEN(el)) - sum(map(len, _HIDDEN_TEXT(el)))


def prune_boilerplate(tree: HtmlElement, words: frozenset[str] = BOILERPLATE_WORDS) -> int:
    """Remove containers whose class or id names boilerplate; returns how many.

    A container that holds a large share of the page's text (paragraphs, or any visible text
    on templates without ``<p>``) is kept whatever its class says: it is the article itself
    ("content-with-sidebar", Blogger's "widget Blog").
    """
    body = tree.find("body")
    body = body if body is not None else tree
    para_total = _para_len(body)
    visible_total = visible_len(body)
    doomed: list[HtmlElement] = []
    gone: set[HtmlElement] = set()
    # Only elements whose class or id names boilerplate become Python objects; they come in
    # document order, a container before what it holds, and what lies inside a container
    # already doomed goes with it.
    for value in _naming(_CLASS_ID(body), words):
        el = value.getparent()
        if (
            el in gone
            or el.tag in _KEEP_TAGS
            or el is body
            or (gone and any(a in gone for a in el.iterancestors()))
        ):
            continue
        if (
            _para_len(el) <= MAX_PRUNED_SHARE * para_total
            and visible_len(el) <= MAX_PRUNED_SHARE * visible_total
        ):
            doomed.append(el)
            gone.add(el)
    for el in doomed:
        _drop(el)
    return len(doomed)


def _drop(el: HtmlElement) -> None:
    """Remove an element but keep the text that follows it (its tail) in place."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


LAYOUT_CELL_CHARS = 1000  # a table cell this long holds page layout, not data


def unwrap_layout_tables(tree: HtmlElement) -> int:
    """Turn tables used for page layout into plain blocks, so the extractor sees paragraphs
    rather than one giant table cell. A data table (short cells, no nested table) stays."""
    changed = 0
    for table in list(tree.iter("table")):
        cells = table.xpath("./tr/td|./tr/th|./*/tr/td|./*/tr/th")
        nested = table.find(".//table") is not None
        if not nested and max((_text_len(c) for c in cells), default=0) < LAYOUT_CELL_CHARS:
            continue
        # Only this table's own rows and cells: a nested data table keeps its structure.
        parts = [
            el
            for el in table.iter("thead", "tbody", "tfoot", "tr", "td", "th")
            if next(el.iterancestors("table")) is table
        ]
        for el in [table, *parts]:
            el.tag = "div"
            for attr in ("colspan", "rowspan"):
                el.attrib.pop(attr, None)
        changed += 1
    return changed


# Only a paragraph holding a link can be all link: the others need not be read.
_LINKED_PARAGRAPHS = XPath("descendant-or-self::p[.//a[@href]]")


def drop_link_paragraphs(tree: HtmlElement, min_words: int = 3) -> int:
    """Remove paragraphs that are nothing but a link to another page: cross-links such as
    "SEE ALSO THIS OTHER STORY" inside a body. Link text must cover the whole paragraph."""
    removed = 0
    for p in _LINKED_PARAGRAPHS(tree):
        text = " ".join("".join(p.itertext()).split())
        if word_count(text) < min_words:
            continue
        linked = " ".join(
            " ".join("".join(a.itertext()).split()) for a in p.iter("a") if a.get("href")
        )
        if linked and len(linked) >= 0.95 * len(text):
            _drop(p)
            removed += 1
    return removed


MIN_CHUNK_PARAGRAPH = 80  # characters of a paragraph that counts towards a body chunk
MIN_CHUNK_CHARS = 300  # average paragraph text of a body chunk


def split_body(tree: HtmlElement) -> tuple[list[HtmlElement], int]:
    """The chunks of an article body that the template cut into pieces (one container per
    few paragraphs, ads in between), and the characters of paragraph text they hold; ``([],
    0)`` for a page without such chunks. Chunks are containers of one tag and class, under
    parents that look alike, that hold most of the page's paragraph text between them."""
    groups: dict[tuple[str, str], dict[int, HtmlElement]] = {}
    weight: dict[tuple[str, str], int] = {}
    total = 0
    for p in tree.iter("p"):
        size = _text_len(p)
        total += size
        parent = p.getparent()
        css_class = parent.get("class") if parent is not None else None
        if size < MIN_CHUNK_PARAGRAPH or parent is None or not css_class:
            continue
        key = (str(parent.tag), css_class)  # a parsed element's tag is a str
        groups.setdefault(key, {})[id(parent)] = parent
        weight[key] = weight.get(key, 0) + size
    if not weight:
        return [], 0
    key = max(weight, key=weight.__getitem__)
    chunks = list(groups[key].values())
    # Teaser cards repeat too, but each holds a line or two, not paragraphs of a story; and
    # chunks of one body repeat the whole template unit, so their parents look alike as well.
    if len(chunks) < 2 or weight[key] < 0.5 * total or weight[key] < MIN_CHUNK_CHARS * len(chunks):
        return [], 0
    grandparents = (c.getparent() for c in chunks)
    if len({(g.tag, g.get("class")) if g is not None else None for g in grandparents}) > 1:
        return [], 0
    if (_tokens(key[1]) & BOILERPLATE_WORDS) or any(
        _inside(c, other) for c in chunks for other in chunks if c is not other
    ):
        return [], 0
    return chunks, weight[key]


def merge_split_body(tree: HtmlElement) -> int:
    """Move the chunks of a split body (see ``split_body``) into the first one, so the
    extractor, which keeps one container, keeps all of it. Returns how many were moved."""
    chunks, _chars = split_body(tree)
    if not chunks:
        return 0
    first = chunks[0]
    for chunk in chunks[1:]:
        if chunk.text and chunk.text.strip():
            wrapper = first.makeelement("p", {})
            wrapper.text = chunk.text
            first.append(wrapper)
        for child in list(chunk):
            first.append(child)
        _drop(chunk)
    return len(chunks) - 1


def _inside(el: HtmlElement, container: HtmlElement) -> bool:
    return any(a is container for a in el.iterancestors())


TREE_RULES: dict[str, TreeRule] = {
    "layout-tables": unwrap_layout_tables,
    "boilerplate-containers": prune_boilerplate,
    "link-paragraphs": drop_link_paragraphs,
}


def prepare_tree(tree: HtmlElement, disabled: frozenset[str] = frozenset()) -> dict[str, int]:
    """Apply the tree rules in place; returns how many elements each one changed."""
    return {name: rule(tree) for name, rule in TREE_RULES.items() if name not in disabled}
