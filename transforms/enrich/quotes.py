"""Direct quotations and who said them.

Only paragraphs with quotation marks are read, and only those with words that can attribute a
quotation (plus, on demand, the paragraph before one that is all quotation) go through spaCy's
dependency parser (a second pipeline with ``tok2vec`` + ``parser``, loaded lazily, apart from
the NER-only one of the enrich step), so articles without quotes cost nothing and the rest
little. The parser reads each paragraph
*masked*: the words of every quotation replaced by a short stand-in clause (``QUOTE_STAND_IN``;
marks and final punctuation kept), since attribution only looks at the words around a
quotation; texts, offsets and antecedents use the original paragraph.

1. Quotations: “…”, "…" (a straight and a curly mark may pair: sites mix them), «…», „…“ and
   »…« within a paragraph, at least ``MIN_QUOTE_WORDS`` words (scare quotes and titles are
   shorter), or ``MIN_ATTRIBUTED_WORDS`` when a speech verb follows at once ("“Oh my,” he
   said"); not in title case (titles of works); an unbalanced mark is left alone, except the
   opening mark of a quotation that runs on into the next paragraph.
2. The speech verb ("said", "told", "added"...) of each quotation: the nearest one after it in
   the same sentence ("…," Putin said / "…," said Putin / "…" she added) or past a full stop
   when it reports nothing of its own ("…." Putin said.), or any verb whose subject, not a
   document, follows a quotation ending in a comma ("…," he continued), else the nearest one
   before it ("Peskov told CNN that "…"", "Putin said: "…"", "according to Peskov, "…"",
   "Sasse called it "…"").
3. The speaker: the verb's subject, resolved to a canonical name of the article (a person by
   full name, surname or accent-free form, or a given name only one person bears, a surname
   also in full as the body writes it once; a person in apposition, "chairman and CEO X"; an
   organisation, also "a spokesperson for X", not "a lawyer for X" nor "X supporters"); a
   name the entities lack is its capitalised words without a title or words the body writes
   in lowercase. A pronoun stands for the first compatible entity of the nearest sentence
   before it that has one, skipping a sentence whose own pronoun comes first (he/she: a person
   the article, a gendered title or the first name does not give the other gender, a
   one-word name only if they give it that gender; it: an organisation); a role noun for the
   person introduced with it ("the minister": "Foreign Minister X", "the senator": "Sen. X"),
   "the company" for the organisation spoken of last. A quotation without a verb of its own
   continues the subject of the sentence before it, the speaker of the one before it in its
   paragraph (unless a sentence with a subject of its own stands between them), or, opening
   a paragraph, the speaker of the paragraph before. A quotation with a verb but no speaker
   that can be named (“…,” an official said) keeps ``None``; one without any attribution is
   left out.
4. A person named by one word only ("Mr. Okafor said") is the one full name of the page's
   key terms (its tags: "news_keywords", "keywords", "article:tag") that ends in it; if none
   or several do, the quotation is left out: news names in full whom it quotes, and a lone
   word is a surname whose person the page does not say, or no person at all.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache, partial
from typing import Any

from newsflow.resources import MAPPINGS_DIR
from newsflow.transforms.models import EnrichedArticle, Entity, Quote

log = logging.getLogger(__name__)

FIRST_NAME_GENDERS_PATH = MAPPINGS_DIR / "first_name_genders.txt"
MIN_QUOTE_WORDS = 4
# A quotation this short is one when a speech verb follows it at once: "“Oh my,” Lucas said".
MIN_ATTRIBUTED_WORDS = 2
MAX_PARAGRAPH_CHARS = 5_000  # longer "paragraphs" (no line breaks) are read in windows
MAX_QUOTE_PARAGRAPHS = 200  # per article: a huge body costs a bounded parse
_KEEP = ("tok2vec", "parser")
# A straight mark may close a curly one and the other way round: pages mix them.
_QUOTED = re.compile(
    r"„(?P<d>[^„“”\n]+)[“”]|[“\"](?P<a>[^“”\"\n]+)[”\"]|«\s*(?P<c>[^«»\n]+?)\s*»"
    r"|»(?P<e>[^«»\n]+)«"
)
# The opening mark of a quotation that goes on to the end of its paragraph (no mark after it).
_RUNS_ON = re.compile(r"[“\"„«](?P<a>[^“”\"„«»\n]+)$")
_OPENS = re.compile(r"^\s*[“\"„«]")
_HAS_MARK = re.compile(r"[\"“”«»„]")
_WORD = re.compile(r"\w+")
_LETTERS = re.compile(r"[^\W\d_]+")  # a token that is a speech verb is one of these runs
# Word forms, not lemmas: the parse-only pipeline has no lemmatizer. No "continue"/"state":
# "the strike would continue "for as long as it takes"" is not a quote by the strike (a verb
# that only reports speech right after a quotation is caught by the comma rule, step 2).
_SPEECH_WORDS = (
    "say says said saying tell tells told telling add adds added adding ask asks asked asking "
    "explain explains explained explaining warn warns warned warning note notes noted noting "
    "insist insists insisted insisting argue argues argued arguing stress stresses stressed "
    "reply replies replied replying write writes wrote writing recall recalls recalled "
    "acknowledge acknowledges acknowledged admit admits admitted declare declares declared "
    "tweet tweets tweeted urge urges urged claim claims claimed announce announces announced "
    "predict predicts predicted respond responds responded responding reiterate reiterates "
    "reiterated comment comments commented remark remarks remarked concede concedes conceded "
    "assure assures assured confirm confirms confirmed allege alleges alleged testify "
    "testifies testified vow vows vowed promise promises promised assert asserts asserted "
    "emphasise emphasises emphasised emphasize emphasizes emphasized exclaim exclaims "
    "exclaimed joke jokes joked quip quips quipped complain complains complained "
    "suggest suggests suggested reveal reveals revealed observe observes observed caution "
    "cautions cautioned counter counters countered answer answers answered shout shouts "
    "shouted yell yells yelled lament laments lamented boast boasts boasted maintain "
    "maintains maintained contend contends contended mention mentions mentioned recount "
    "recounts recounted elaborate elaborates elaborated muse muses mused pointed "
    "according"
)
SPEECH_VERBS = frozenset(_SPEECH_WORDS.split())
# Verbs that quote by naming what someone said: "Sasse called his death "a crisis of public
# trust"", "described it as "…"". Not as a noun's modifier or passive ("a group called "…"",
# "it was dubbed "…""): there they name a thing, nobody speaks.
_NAMING_WORDS = "call calls called calling describe describes described describing dubbed"
NAMING_VERBS = frozenset(_NAMING_WORDS.split())
# Verbs whose passive subject hears rather than speaks: "he was told", "she was asked".
_HEARING_WORDS = "tell tells told telling ask asks asked asking"
_HEARING_VERBS = frozenset(_HEARING_WORDS.split())
PRONOUNS = frozenset({"he", "she", "they"})
_ANONYMOUS = frozenset({"i", "we", "you", "me", "us"})  # the writer or a crowd: no one named
_RELATIVES = frozenset({"who", "which", "that"})
# Subjects of "said" that are no speaker to facet on: "a statement said", "52 percent said",
# "the official said" (an official nobody names). A spokesperson speaks for an organisation.
_NOT_SPEAKER_WORDS = (
    "statement statements percent people report reports study survey poll document documents "
    "letter filing post tweet message website data figures sources source one some many others "
    "this there official officials spokesperson spokesman spokeswoman representative lawsuit "
    "complaint indictment ruling release memo email book article caption sign video ad"
)
_NOT_SPEAKERS = frozenset(_NOT_SPEAKER_WORDS.split())
# Who speaks for an organisation rather than as themselves.
_SPOKES = frozenset({"spokesperson", "spokesman", "spokeswoman", "representative"})
# "The company said": the noun names the organisation spoken of last (a fact of English style:
# after its first mention an organisation is called by what it is).
_ORG_NOUN_WORDS = (
    "company firm agency ministry department government group bank union organisation "
    "organization association council committee commission authority office club team board "
    "party university institute foundation network label court police army military campaign "
    "administration retailer maker manufacturer carrier airline operator regulator newspaper "
    "broadcaster charity prosecutor's"
)
_ORG_NOUNS = frozenset(_ORG_NOUN_WORDS.split())
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
# Dependencies of a noun: "claims", "comments", "notes" so placed are no speech verbs.
_NOUN_DEP_NAMES = "nsubj nsubjpass dobj pobj iobj compound poss appos attr nmod npadvmod dative"
_NOUN_DEPS = frozenset(_NOUN_DEP_NAMES.split())
_NAME_DEPS = frozenset({"compound", "flat", "amod"})
_LEADING = re.compile(r"^(?:the|a|an|The|A|An)\s+")
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_AFTER_WINDOW = 8  # tokens after a quotation where its verb may stand, across a full stop
# What a speech verb says of its own: a verb with one of these reports other words (``_bare``).
_OWN_CONTENT_DEPS = frozenset({"ccomp", "xcomp", "dobj"})
_COMMA_VERB_WINDOW = 6  # "“…,” the former prime minister continued": subject words + verb
_ROLE_CONTEXT = 60  # characters before a person's mention read for a title ("Minister X")
# What the parser reads instead of a quotation's words: a complete clause, so '"…," he said' and
# 'told CNN that "…"' keep their structure. Measured with bench/quotes_speed.py on 154 real
# articles: 580 of 584 quotes as before (4 differ, the new speaker right each time); "it is so",
# "we agree", "this is fine" lose one quote, "yes" changes 9.
QUOTE_STAND_IN = "that is true"
_KEPT_PUNCT = frozenset(",.?!…;:")  # a quotation's last character, kept after the stand-in
_LEADS_ON = frozenset(",?!—–-…")  # a quotation ending so is followed by its attribution
# Words a title of a work may leave in lowercase ("Takin' It to the Streets").
_TITLE_SMALL = (
    "a an the and or nor but of to in on at for by with from as into over up via vs de la le "
    "du von van"
)
_TITLE_SMALL_WORDS = frozenset(_TITLE_SMALL.split())
# Abbreviations whose full stop ends no sentence: titles and initials ("Rep. Brian Babin").
_ABBREVIATION = re.compile(
    r"(?:^|[\s(])(?:[A-Z]|Mr|Mrs|Ms|Dr|St|Jr|Sr|Rep|Reps|Sen|Sens|Gov|Gen|Lt|Col|Sgt|Capt|"
    r"Cmdr|Adm|Prof|Rev|Hon|Pres|Supt|Det|Insp|Mt|No|Nos|Vol|Inc|Corp|Co|Ltd|vs|[A-Z]\.[A-Z]|"
    # News style (AP) abbreviates a month before a day: "(Oct. 3)" ends no sentence.
    r"Jan|Feb|Aug|Sept|Sep|Oct|Nov|Dec)$"
)
# A title or a gendered noun right before a name says the person's sex ("Mr", "Ms", "his wife",
# "spokeswoman").
_MALE_TITLE_WORDS = (
    "Mr Sir Lord King Prince Duke Emperor Father Brother Uncle Husband Son Boyfriend Actor "
    "Congressman Chairman Spokesman Councilman Assemblyman Businessman Sportsman"
)
_FEMALE_TITLE_WORDS = (
    "Mrs Ms Miss Dame Lady Queen Princess Duchess Empress Mother Sister Aunt Wife Daughter "
    "Girlfriend Actress Congresswoman Chairwoman Spokeswoman Councilwoman Assemblywoman "
    "Businesswoman Sportswoman"
)
_TITLE_BEFORE = re.compile(
    rf"\b({'|'.join((_MALE_TITLE_WORDS + ' ' + _FEMALE_TITLE_WORDS).split())})\.?\s+$",
    re.IGNORECASE,
)
# Titles news style abbreviates before a name ("Sen. Ben Sasse"), which the role noun of a later
# mention spells out ("the senator said").
_TITLE_ABBREVIATIONS = {
    f"{short}.": full
    for short, full in (
        ("sen", "senator"),
        ("rep", "representative"),
        ("gov", "governor"),
        ("gen", "general"),
        ("lt", "lieutenant"),
        ("col", "colonel"),
        ("sgt", "sergeant"),
        ("capt", "captain"),
        ("cmdr", "commander"),
        ("adm", "admiral"),
        ("supt", "superintendent"),
        ("det", "detective"),
        ("insp", "inspector"),
        ("prof", "professor"),
        ("dr", "doctor"),
        ("atty", "attorney"),
        ("pres", "president"),
    )
}
_ROYALS = frozenset({"King", "Queen", "Prince", "Princess", "Pope"})  # part of the usual name
_FIRST_NAME_WEIGHT = 4  # a title before a mention counts 2, a pronoun after one 1
_MALE_TITLES = frozenset(_MALE_TITLE_WORDS.lower().split())
_PRONOUN_WORDS = re.compile(r"\b(?:he|him|his|himself|she|her|hers|herself)\b")
_MALE_PRONOUNS = frozenset({"he", "him", "his", "himself"})
_SUBJECT_PRONOUNS = frozenset({"he", "she"})
# The first words of an apposition: "X, the (former) foreign minister, ...", "X, Spain's
# captain, ...".
_APPOSITION = re.compile(r",\s+(?:the|a|an|[\w'-]+'s)\s+((?:[\w-]+\s+){0,3}[\w-]+)")
# A given name right before a surname: capitalised letters, hyphenated parts ("Eva-Marie").
_GIVEN_BEFORE = re.compile(r"(?<![\w.'’-])([A-Z][a-z]+(?:-[A-Z][a-z]+)?) $")
_ENDS_SENTENCE = re.compile(r"[.!?…][\"”’')\]]*$")
_NAME_WORD = re.compile(r"^[A-Z][\w.'’-]*$")  # a capitalised word of a name, no digits first
_SENTENCE_END = re.compile(r"[.!?…][\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])|\n")


class ParserUnavailable(RuntimeError):
    """The configured spaCy model has no dependency parser."""


@lru_cache(maxsize=4)
def load_parser(name: str):
    """The model's ``tok2vec`` + ``parser`` only (cached per process), made from the load the
    NER pipeline shares (``pipelines``); ``ParserUnavailable`` when it has no parser.
    ``OSError`` when the package is not installed."""
    from newsflow.transforms.enrich.pipelines import load_shared, subset

    shared = load_shared(name)
    if "parser" not in shared.pipe_names:
        raise ParserUnavailable(f"spaCy model {name!r} has no 'parser' component")
    return subset(shared, _KEEP)


# --------------------------------------------------------------------------- quotations


@dataclass(frozen=True)
class _Span:
    start: int  # of the quoted words, in the paragraph
    end: int
    outer_start: int  # with the marks
    outer_end: int


def _is_title(words: str) -> bool:
    """Whether quoted words are in title case: a title of a work ("Takin' It to the Streets"),
    not speech, which is written in sentence case."""
    tokens = _LETTERS.findall(words)
    capitals = [t for t in tokens if t[0].isupper()]
    if len(capitals) < 2:
        return False
    return all(t[0].isupper() or t.lower() in _TITLE_SMALL_WORDS for t in tokens)


def _attributed_at_once(after: str) -> bool:
    """Whether a speech verb follows a quotation at once: ', she said', ' Lucas responded'."""
    words = _LETTERS.findall(after[:60])[:4]
    return any(w.lower() in SPEECH_VERBS for w in words) and not re.match(r"\s*[.!?]", after)


def quotations(paragraph: str, *, runs_on: bool = False) -> list[_Span]:
    """The quoted stretches of a paragraph that are quotations, in order. With ``runs_on`` (the
    next paragraph opens with a quotation mark), an opening mark left unclosed at the end of
    the paragraph starts one that runs to its end: a quotation over several paragraphs opens
    each of them and closes only in the last."""
    spans = []
    last = 0
    for m in _QUOTED.finditer(paragraph):
        group = next(g for g in "dace" if m.group(g) is not None)
        words = m.group(group)
        last = m.end()
        if _is_title(words):
            continue
        count = len(_WORD.findall(words))
        if count < MIN_QUOTE_WORDS:
            short_ok = (
                count >= MIN_ATTRIBUTED_WORDS
                and words.rstrip()[-1:] in _LEADS_ON
                and _attributed_at_once(paragraph[m.end() :])
            )
            if not short_ok:
                continue
        spans.append(_Span(m.start(group), m.end(group), m.start(), m.end()))
    if runs_on:
        tail = _RUNS_ON.search(paragraph, last)
        if tail is not None and len(_WORD.findall(tail.group("a"))) >= MIN_QUOTE_WORDS:
            end = len(paragraph.rstrip())
            spans.append(_Span(tail.start("a"), end, tail.start(), end))
    return spans


def mask_quotations(
    paragraph: str,
    stand_in: str = QUOTE_STAND_IN,
    *,
    runs_on: bool = False,
    spans: Sequence[_Span] | None = None,
) -> tuple[str, list[tuple[_Span, _Span]]]:
    """The paragraph with each quotation's words replaced by ``stand_in`` (capitalised like the
    quotation, its final punctuation kept) and, per quotation, its span in the paragraph and in
    the masked text. ``spans``: the paragraph's ``quotations`` when already found."""
    parts: list[str] = []
    pairs: list[tuple[_Span, _Span]] = []
    pos = shift = 0  # shift: masked offset minus original offset, so far
    if spans is None:
        spans = quotations(paragraph, runs_on=runs_on)
    for span in spans:
        inner = paragraph[span.start : span.end].rstrip()
        words = stand_in.capitalize() if inner[:1].isupper() else stand_in
        words += inner[-1] if inner[-1:] in _KEPT_PUNCT else ""
        parts += [paragraph[pos : span.start], words]
        start = span.start + shift
        outer_start = span.outer_start + shift
        shift += len(words) - (span.end - span.start)
        pairs.append((span, _Span(start, start + len(words), outer_start, span.outer_end + shift)))
        pos = span.end
    parts.append(paragraph[pos:])
    return "".join(parts), pairs


@dataclass(frozen=True)
class _Paragraph:
    offset: int  # in the body
    text: str
    runs_on: bool  # the next paragraph opens with a quotation mark
    previous: int  # offset of the paragraph before (-1: none)


def _paragraphs(body: str) -> list[_Paragraph]:
    """The body's non-empty paragraphs (lines), each knowing the one before and whether the
    next opens with a quotation mark."""
    lines: list[tuple[int, str]] = []
    offset = 0
    for line in body.split("\n"):
        if line.strip():
            lines.append((offset, line))
        offset += len(line) + 1
    out = []
    for k, (at, line) in enumerate(lines):
        runs_on = k + 1 < len(lines) and bool(_OPENS.match(lines[k + 1][1]))
        out.append(_Paragraph(at, line, runs_on, lines[k - 1][0] if k else -1))
    return out


def _quote_paragraphs(body: str) -> list[tuple[_Paragraph, list[_Span]]]:
    """The body's paragraphs (long ones in windows) that hold a quotation, each with its
    ``quotations``, found once here for the masking too."""
    out: list[tuple[_Paragraph, list[_Span]]] = []
    for para in _paragraphs(body):
        line = para.text
        if not _HAS_MARK.search(line):
            continue
        spans = quotations(line, runs_on=para.runs_on)
        if not spans:
            continue
        if len(line) <= MAX_PARAGRAPH_CHARS:  # the common case: no second look
            out.append((para, spans))
        else:
            pieces = _windows(line)
            for k, (at, piece) in enumerate(pieces):
                runs_on = para.runs_on and k == len(pieces) - 1
                found = quotations(piece, runs_on=runs_on)
                if found:
                    previous = para.previous if k == 0 else para.offset + pieces[k - 1][0]
                    out.append((_Paragraph(para.offset + at, piece, runs_on, previous), found))
        if len(out) >= MAX_QUOTE_PARAGRAPHS:
            break
    return out


def quote_paragraphs(body: str) -> list[tuple[int, str]]:
    """(offset, text) of the body's paragraphs that hold a quotation, long ones cut in windows
    at sentence ends so one parse stays small."""
    return [(p.offset, p.text) for p, _ in _quote_paragraphs(body)]


def _windows(line: str) -> list[tuple[int, str]]:
    if len(line) <= MAX_PARAGRAPH_CHARS:
        return [(0, line)]
    out, start = [], 0
    while start < len(line):
        end = min(len(line), start + MAX_PARAGRAPH_CHARS)
        if end < len(line):  # cut after a sentence end outside any quotation, if there is one
            cut = max(line.rfind(". ", start, end), line.rfind('." ', start, end))
            end = cut + 2 if cut > start else end
        out.append((start, line[start:end]))
        start = end
    return out


# --------------------------------------------------------------------------- names


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFKD", char)[:1] or char
    low = base.lower()
    return low if len(low) == 1 else base


_FOLD_CACHED_CHARS = 200  # names and words: folded again and again, so kept


def fold_text(text: str) -> str:
    """``text`` lower-cased, accents off, curly apostrophes straight: one character for one,
    so offsets in the folded text are offsets in ``text``. Short texts (names, words) come
    from a cache: speaker resolution folds the same few names thousands of times a batch."""
    if len(text) <= _FOLD_CACHED_CHARS:
        return _fold_short(text)
    return _fold(text)


def _fold(text: str) -> str:
    table = {ord(c): _fold_char(c) for c in set(text) if not c.isascii() or c.isupper()}
    table[ord("’")] = "'"
    return text.translate(table)


@lru_cache(maxsize=8192)
def _fold_short(text: str) -> str:
    return _fold(text)


def _word_at(text: str, form: str, end: int) -> int:
    r"""Start of the last occurrence of ``form`` as whole words in ``text[:end]``, else -1: what
    a ``(?<!\w)form(?!\w)`` search finds, with ``str.rfind`` rather than a pattern compiled per
    form and article (re's cache overflows: that was most of the attribution time)."""
    hi = end
    while form:
        at = text.rfind(form, 0, hi)
        if at < 0:
            return -1
        stop = at + len(form)
        if (at == 0 or not _is_word(text[at - 1])) and (stop == end or not _is_word(text[stop])):
            return at
        hi = stop - 1  # an occurrence starting before this one
    return -1


def _all_words_at(text: str, form: str) -> list[int]:
    """Starts of every occurrence of ``form`` as whole words in ``text``."""
    out = []
    at = text.find(form)
    while at >= 0 and form:
        stop = at + len(form)
        if (at == 0 or not _is_word(text[at - 1])) and (
            stop == len(text) or not _is_word(text[stop])
        ):
            out.append(at)
        at = text.find(form, at + 1)
    return out


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"  # re's \w


def _surname(name: str) -> str | None:
    """The last name of a full name ("Patrick Carlineo Jr." -> "Carlineo"), None for one word."""
    words = name.split()
    while words and words[-1].rstrip(".").lower() in _NAME_SUFFIXES:
        words.pop()
    words = [w.rstrip(",") for w in words]
    return words[-1] if len(words) >= 2 and words[-1][:1].isupper() else None


def _name_forms(
    entities: Sequence[Entity], kind: str, common: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Folded form -> canonical name for the article's entities of ``kind``: their names and
    surface forms and, for people, the surname of each full name. News style names a person
    in full once, then by surname (or without the accents), so a surname stands for the full
    name; when two full names share it, for the one introduced first. Last, a given name
    only one full name bears (``_given_names``), unless it is one of the ``common`` words
    (those the body writes in lowercase: "mark", "will")."""
    forms: dict[str, str] = {}
    chosen = [e for e in entities if e.type == kind]
    full = sorted(
        (e for e in chosen if len(e.name.split()) > 1), key=lambda e: (e.first_offset, e.name)
    )
    if kind == "person":
        for e in full:
            last = _surname(e.name)
            if last is not None:
                forms.setdefault(fold_text(last), e.name)
    for e in full:
        for form in [e.name, *e.forms]:
            forms[fold_text(form)] = e.name
    for e in chosen:  # a one-word entity that is a surname of a full name is that person
        for form in [e.name, *e.forms]:
            forms.setdefault(fold_text(form), e.name)
    if kind == "person":
        for given, name in _given_names(full).items():
            if given not in common:
                forms.setdefault(given, name)
    return forms


def _given_names(people: Sequence[Entity]) -> dict[str, str]:
    """Folded given name -> full name, for given names that only one of ``people`` bears
    (no title): features and sports news call a person named in full by the given name
    ("Maya said"), which then names nobody else."""
    found: dict[str, set[str]] = {}
    for e in people:
        first = e.name.split()[0]
        if len(first) > 1 and first[:1].isupper() and first not in _not_given_names():
            found.setdefault(fold_text(first), set()).add(e.name)
    return {given: next(iter(names)) for given, names in found.items() if len(names) == 1}


def _person_forms(
    entities: Sequence[Entity], common: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """(folded surface form, canonical name) of the article's people, longest forms first."""
    pairs = _name_forms(entities, "person", common).items()
    return sorted(pairs, key=lambda p: (-len(p[0]), -len(p[1]), p))


def _find_form(words: str, forms: Iterable[tuple[str, str]]) -> str | None:
    folded = fold_text(words)
    for form, name in forms:
        if _word_at(folded, form, len(folded)) >= 0:
            return name
    return None


def canonical_speaker(words: str, entities: Sequence[Entity]) -> str | None:
    """The canonical person a speaker's words name, if the article has one (whole words, case
    and accents ignored; a surname names the person written in full)."""
    return _find_form(words, _person_forms(entities))


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    name: str
    kind: str  # person or organization


@dataclass
class _Context:
    """What speaker resolution reads of one article: its body, the mentions of its people and
    organisations outside quotations, and its sentence starts (all built on first use)."""

    body: str
    entities: Sequence[Entity]
    keywords: Sequence[str] = ()  # the page's own key terms (its tags), comma-separated runs
    resolved: list[_Mention] = field(default_factory=list)  # pronouns read so far (``note``)

    @cached_property
    def folded(self) -> str:
        return fold_text(self.body)

    @cached_property
    def person_forms(self) -> list[tuple[str, str]]:
        return _person_forms(self.entities, self.lowercase)

    @cached_property
    def org_forms(self) -> list[tuple[str, str]]:
        pairs = _name_forms(self.entities, "organization").items()
        return sorted(pairs, key=lambda p: (-len(p[0]), -len(p[1]), p))

    @cached_property
    def quoted(self) -> list[tuple[int, int]]:
        """(start, end) of every quotation of the body, marks included."""
        out = []
        for para in _paragraphs(self.body):
            if _HAS_MARK.search(para.text):
                out += [
                    (para.offset + s.outer_start, para.offset + s.outer_end)
                    for s in quotations(para.text, runs_on=para.runs_on)
                ]
        return out

    def _in_quote(self, pos: int) -> bool:
        k = bisect_right(self.quoted, (pos, len(self.body))) - 1
        return k >= 0 and self.quoted[k][0] <= pos < self.quoted[k][1]

    @cached_property
    def mentions(self) -> list[_Mention]:
        """Mentions of people and organisations outside quotations, in order; where forms
        overlap, the longest one."""
        taken: list[_Mention] = []
        found = [(form, name, "person") for form, name in self.person_forms] + [
            (form, name, "organization") for form, name in self.org_forms
        ]
        found.sort(key=lambda f: -len(f[0]))
        used = bytearray(len(self.body) + 1)
        for form, name, kind in found:
            for at in _all_words_at(self.folded, form):
                stop = at + len(form)
                if any(used[at:stop]) or self._in_quote(at):
                    continue
                used[at:stop] = b"\x01" * (stop - at)
                taken.append(_Mention(at, stop, name, kind))
        taken.sort(key=lambda m: m.start)
        return taken

    @cached_property
    def sentence_starts(self) -> list[int]:
        starts = [0]
        for m in _SENTENCE_END.finditer(self.body):
            at = m.start()
            if m.group(0) != "\n" and _ABBREVIATION.search(self.body, max(0, at - 8), at):
                continue  # "Rep. Brian Babin", "J. Smith"
            starts.append(m.end())
        return starts

    @cached_property
    def mention_starts(self) -> list[int]:
        return [m.start for m in self.mentions]

    def note(self, pos: int, name: str, kind: str | None = None) -> None:
        """Record that a pronoun, role noun or name the entities lack at ``pos`` was read as
        ``name`` (of ``kind``, else as the entities type it): later pronouns may stand for it
        as for a mention (a chain of "he said" goes on naming one person)."""
        if kind is None:
            kind = "person" if name in self.person_names else "organization"
        if not self.resolved or self.resolved[-1].start < pos:
            self.resolved.append(_Mention(pos, pos, name, kind))

    @cached_property
    def lowercase(self) -> frozenset[str]:
        """Words the body writes in lowercase: a capitalised one of them opens a sentence or a
        title-case line ("Are Following Trump"), it names no one."""
        return frozenset(filter(str.islower, _LETTERS.findall(self.body)))

    def full_name(self, name: str) -> str:
        """``name`` written in full: a one-word name ("Apte", "Lopez") that the body also gives
        after a given name ("Joshua Apte", "Feliciano López"), in one way only, is that person
        as the body writes it; news style names a person in full once, then by surname, often
        without its accents (also when the entities took the surname for a company). Otherwise
        ``name`` itself."""
        if len(name.split()) != 1 or not name[:1].isupper():
            return name
        found: dict[str, str] = {}
        for at in _all_words_at(self.folded, fold_text(name)):
            given = _GIVEN_BEFORE.search(self.body, max(0, at - 40), at)
            if given is None:
                continue
            word = given.group(1)
            if word.lower() in self.lowercase or word in _not_given_names():
                continue
            full = f"{word} {self.body[at : at + len(name)]}"
            found.setdefault(fold_text(full), full)
        return next(iter(found.values())) if len(found) == 1 else name

    @cached_property
    def keyword_names(self) -> frozenset[str]:
        """The page's key terms that are written as a person's full name: two to four words,
        each capitalised ("Boris Johnson"; not "climate change", "EU")."""
        out = set()
        for run in self.keywords:
            for term in re.split(r"[,;|]", run):
                words = term.split()
                if 2 <= len(words) <= 4 and all(_NAME_WORD.match(w) for w in words):
                    out.add(" ".join(words))
        return frozenset(out)

    def completed(self, name: str | None) -> str | None:
        """A speaker as the page names it in full: a one-word name (not an organisation's)
        that the body never writes after a given name is the one full name of the page's key
        terms that ends in it; news sites list the people of an article by full name in its
        keywords ("news_keywords", "article:tag") even when its text, after the headline or a
        first mention elsewhere, calls them "Mr. X" or "X" only. Otherwise ``name``."""
        if name is None or len(name.split()) != 1 or name in self.org_names:
            return name
        name = self.full_name(name)
        if len(name.split()) != 1:
            return name
        folded = fold_text(name)
        found = {k for k in self.keyword_names if fold_text(_surname(k) or "") == folded}
        return found.pop() if len(found) == 1 else name

    def half_named(self, name: str | None) -> bool:
        """Whether ``name`` is a person named by one word only (a person of the entities or a
        name they lack read as a person's, not an organisation's): one the page never names in
        full (``completed``). An acronym ("NASA") is an organisation's."""
        if name is None or len(name.split()) != 1 or name in self.org_names or name.isupper():
            return False
        return name in self.person_names or any(
            m.name == name and m.kind == "person" for m in self.resolved
        )

    @cached_property
    def person_names(self) -> frozenset[str]:
        return frozenset(e.name for e in self.entities if e.type == "person")

    @cached_property
    def org_names(self) -> frozenset[str]:
        return frozenset(e.name for e in self.entities if e.type == "organization")

    def salient(self, pos: int, kinds: frozenset[str], gender: str | None = None) -> str | None:
        """The entity of ``kinds`` a pronoun at ``pos`` most likely stands for: the first one
        (the subject, as a rule) of the nearest sentence before that names one, the current
        sentence up to ``pos`` first (salience: a subject outranks an object); with
        ``gender`` ("m", "f"), the first one that may have it (``_may_be``)."""
        starts = self.sentence_starts
        k = bisect_right(starts, pos) - 1
        end = pos
        while k >= 0:  # however far back: the antecedent is the last entity that fits
            for m in self._mentions_in(starts[k], end):
                if m.kind in kinds and (gender is None or self._may_be(m.name, gender)):
                    if gender is not None and self._same_pronoun_before(starts[k], m.start, gender):
                        break  # the sentence goes on about the one its pronoun names
                    return m.name
            end = starts[k]
            k -= 1
        return None

    def _may_be(self, name: str, gender: str) -> bool:
        """Whether "he" ("m") or "she" ("f") may stand for ``name``: the article or the first
        name gives it that gender, or none and it is a full name. A one-word person nothing
        genders is no antecedent: news names in full whoever it quotes, and a lone
        capitalised word read as a person is often no person at all."""
        found = self.gender(name)
        return found == gender or (found is None and len(name.split()) > 1)

    def _same_pronoun_before(self, start: int, end: int, gender: str) -> bool:
        """Whether "he" ("she" for ``gender`` "f") stands in ``[start, end)`` outside quotations:
        a sentence that names someone of that gender by pronoun before it names another ("he
        was photographed with Epstein") is about who the pronoun stands for, as the pronoun
        being resolved is (a chain of pronouns follows one person)."""
        word = "he" if gender == "m" else "she"
        return any(
            not self._in_quote(at + start) for at in _all_words_at(self.folded[start:end], word)
        )

    def _mentions_in(self, start: int, end: int) -> list[_Mention]:
        """Mentions and resolved pronouns in ``[start, end)``, in order."""
        out = []
        for seq, keys in ((self.mentions, self.mention_starts), (self.resolved, None)):
            starts = keys if keys is not None else [m.start for m in seq]
            k = bisect_left(starts, start)
            while k < len(seq) and seq[k].start < end:
                out.append(seq[k])
                k += 1
        return sorted(out, key=lambda m: m.start)

    @cached_property
    def genders(self) -> dict[str, str]:
        """Person -> "m" or "f" where the article shows it: a title before a mention ("Mr",
        "Ms") or the pronouns (outside quotations) of the sentences that open with that person
        ("Omar asked ..., saying she ...") and of the next one if one opens it ("She claimed"),
        one gender at least twice as often as the other. A first name borne mostly by one sex
        ("Anna Berg") counts as much as two titles: the pronouns after a name are weak evidence
        ("Doe left early. She added ..." is about someone else)."""
        counts: dict[str, list[int]] = {}
        for name in self.person_names:
            sex = _first_name_genders().get(name.split()[0].split("-")[0])
            if sex is not None and len(name.split()) > 1:
                counts[name] = [_FIRST_NAME_WEIGHT, 0] if sex == "m" else [0, _FIRST_NAME_WEIGHT]
        starts = self.sentence_starts
        for m in self.mentions:
            if m.kind != "person":
                continue
            c = counts.setdefault(m.name, [0, 0])
            title = _TITLE_BEFORE.search(self.body, max(0, m.start - 16), m.start)
            if title is not None:
                c[0 if title.group(1).lower() in _MALE_TITLES else 1] += 2
            k = bisect_right(starts, m.start) - 1
            if bisect_left(self.mention_starts, starts[k]) < bisect_left(
                self.mention_starts, m.start
            ):
                continue  # not the sentence's first name: its pronouns are another's
            stop = starts[k + 1] if k + 1 < len(starts) else len(self.body)
            words = [
                w.group(0)
                for w in _PRONOUN_WORDS.finditer(self.folded, m.end, stop)
                if not self._in_quote(w.start())
            ]
            opening = _PRONOUN_WORDS.match(self.folded, stop)  # "... . She claimed ..."
            if opening is not None and opening.group(0) in _SUBJECT_PRONOUNS:
                words.append(opening.group(0))
            c[0] += sum(w in _MALE_PRONOUNS for w in words)
            c[1] += sum(w not in _MALE_PRONOUNS for w in words)
        out = {}
        for name, (male, female) in counts.items():
            if male >= 2 * female and male:
                out[name] = "m"
            elif female >= 2 * male and female:
                out[name] = "f"
        return out

    def gender(self, name: str) -> str | None:
        """``genders``; for a name the entities lack (noted as a speaker), its first name's."""
        if name in self.genders or name in self.person_names or len(name.split()) < 2:
            return self.genders.get(name)
        return _first_name_genders().get(name.split()[0].split("-")[0])

    def _titled(self, start: int, role: str) -> bool:
        """Whether a title with ``role`` stands right before a mention: a word right before it
        ("the singer X", "Sen. X") or one of the capitalised words of a title before it
        ("Foreign Minister X", "Secretary of State X", "Chairman and CEO X")."""
        if not self.body[start - 1 : start].isspace():
            return False
        words = self.body[max(0, start - _ROLE_CONTEXT) : start].split()
        if words and _role_word(words[-1]) == role:
            return True
        for word in reversed(words):
            folded = fold_text(word)
            if word[:1].isupper() and (word[-1:] not in ".,;:!?" or folded in _TITLE_ABBREVIATIONS):
                if _role_word(word) == role:
                    return True
            elif folded not in ("of", "and", "for", "&"):
                return False  # the title ends where its capitals do
        return False

    def with_role(self, role: str, pos: int) -> str | None:
        """The person named last before ``pos`` whose mention carries the role noun: as a title
        ("Foreign Minister X") or at the head of an apposition ("X, the foreign minister,")."""
        for m in reversed([m for m in self.mentions if m.start < pos and m.kind == "person"]):
            if self._titled(m.start, role):
                return m.name
            after = _APPOSITION.match(self.folded, m.end, m.end + _ROLE_CONTEXT)
            if after is not None and role in after.group(1).split():
                return m.name
        return None


# --------------------------------------------------------------------------- speakers


def _role_word(word: str) -> str:
    """A word of a title as a role noun: folded, an abbreviation spelled out ("Sen." ->
    "senator")."""
    folded = fold_text(word)
    return _TITLE_ABBREVIATIONS.get(folded, folded)


def _inside(token, spans: Sequence[_Span]) -> bool:
    return any(s.outer_start <= token.idx < s.outer_end for s in spans)


def _comma_verb(doc, close, spans: Sequence[_Span]):
    """The verb right after a quotation ending in a comma whose subject stands between them
    ("“…,” he continued", "“…,” Lucas responded with a sigh"): in English a clause so placed
    reports the quotation, whatever its verb. Not when that subject is a document or a
    crowd (``_NOT_SPEAKERS``): with a verb that need not report speech, that is too weak a
    sign to keep the quotation with nobody named."""
    after = close.end
    for k in range(after, min(after + _COMMA_VERB_WINDOW, len(doc))):
        tok = doc[k]
        if _inside(tok, spans) or tok.is_punct:
            return None
        subjects = [c for c in tok.children if c.dep_ == "nsubj" and after <= c.i < k]
        if subjects and subjects[0].left_edge.i == after and subjects[0].right_edge.i == k - 1:
            # Only someone who can speak: "“…,” the report continued" names no speaker.
            return tok if subjects[0].lower_ not in _NOT_SPEAKERS else None
    return None


@dataclass(frozen=True)
class _Verbs:
    """The speech verbs of a paragraph's parse outside its quotations, and the tokens that
    open its quotations: the same for each quotation of the paragraph, so read once."""

    verbs: list
    starts: list[int]


def _paragraph_verbs(doc, spans: Sequence[_Span]) -> _Verbs:
    return _Verbs(
        [t for t in doc if _is_speech_verb(t) and not _inside(t, spans)],
        _quote_starts(doc, spans),
    )


def _speech_verb(doc, span: _Span, spans: Sequence[_Span], comma: bool, found: _Verbs):
    """The speech verb of a quotation: after it in its sentence (or just after), else before
    it in its sentence. A participle after it ("…", saying ...) yields to a verb before it: the
    main clause reports the quotation. ``found``: the paragraph's ``_paragraph_verbs``."""
    close = doc.char_span(span.outer_end - 1, span.outer_end, alignment_mode="expand")
    open_ = doc.char_span(span.outer_start, span.outer_start + 1, alignment_mode="expand")
    if close is None or open_ is None:
        return None
    verbs, starts = found.verbs, found.starts
    after = [
        v
        for v in verbs
        if v.i > close.start
        and (v.sent == close[0].sent or (v.i - close.start <= _AFTER_WINDOW and _bare(v)))
        and not any(close.start < s_i < v.i for s_i in starts)
    ]
    before = [v for v in verbs if v.i < open_.start and v.sent == open_[0].sent]
    first_after = min(after, key=lambda v: v.i) if after else None
    if first_after is None and comma:
        first_after = _comma_verb(doc, close, spans)
    if first_after is not None and (not first_after.lower_.endswith("ing") or not before):
        return first_after
    return max(before, key=lambda v: v.i) if before else first_after


def _bare(verb) -> bool:
    """Whether a speech verb reports nothing of its own: no clause or object hangs on it
    ("“….” Smith said."). Past a full stop only such a verb attributes the quotation before
    it; "“….” Smith said the plan would fail" reports new words, not the quotation (the
    object of "told" is the listener: "Putin told reporters." is bare)."""
    listener = verb.lower_ in _HEARING_VERBS  # "Putin told reporters.": whom, not what
    return not any(
        c.dep_ in _OWN_CONTENT_DEPS and not (listener and c.dep_ == "dobj") for c in verb.children
    )


def _is_speech_verb(token) -> bool:
    """Whether ``token`` is a speech or naming verb as used (the word first: most tokens are
    neither, and their dependency need not be read)."""
    low = token.lower_
    if low not in SPEECH_VERBS and low not in NAMING_VERBS:
        return False
    if token.dep_ in _NOUN_DEPS:
        return False
    if low in NAMING_VERBS:
        return token.dep_ != "acl" and not any(c.dep_ == "auxpass" for c in token.children)
    return True


def _quote_starts(doc, spans: Sequence[_Span]) -> list[int]:
    out = []
    for s in spans:
        tok = doc.char_span(s.outer_start, s.outer_start + 1, alignment_mode="expand")
        if tok is not None:
            out.append(tok.start)
    return out


def _subject_head(verb):
    """The token that names who speaks through ``verb``: its subject (the nearest, when the
    parser gives two), the subject of the clause it hangs on when it has none of its own
    ("issued a statement, saying "…""), the object of "according to", or the name after an
    inverted verb ("…," said Putin)."""
    if verb.lower_ == "according":
        for to in verb.children:
            objects = [c for c in to.children if c.dep_ == "pobj"]
            if to.lower_ == "to" and objects:
                return objects[0]
        return None
    hearing = verb.lower_ in _HEARING_VERBS
    deps = {"nsubj"} if hearing else _SUBJECT_DEPS
    subjects = [c for c in verb.children if c.dep_ in deps and not c.is_punct]
    step = verb
    while not subjects and step.dep_ in ("conj", "advcl", "xcomp") and step.head is not step:
        step = step.head  # a participle or coordinated verb shares its head's subject
        subjects = [c for c in step.children if c.dep_ in _SUBJECT_DEPS and not c.is_punct]
    if not subjects:
        # "…," said Putin: a parser may hang the name on the verb as object or attribute.
        subjects = [
            c
            for c in verb.rights
            if c.dep_ in ("dobj", "attr", "npadvmod") and c.text[:1].isupper()
        ]
    if not subjects:
        return None
    head = min(subjects, key=lambda c: abs(c.i - verb.i))
    if head.lower_ in _RELATIVES and step.dep_ == "relcl":
        head = step.head  # "said Jason Foy, who represents Noel": who is Jason Foy
    return head


def _name_words(head) -> str:
    """The head with the compound words before it, lower-case modifiers ("14th-ranked") off."""
    left = head.i
    while (
        left - 1 >= 0
        and head.doc[left - 1].dep_ in _NAME_DEPS
        and head.doc[left - 1].head.i in (range(left - 1, head.i + 1))
    ):
        left -= 1
    tokens = [t for t in head.doc[left : head.i + 1] if t.i == head.i or not t.is_lower]
    return _LEADING.sub("", " ".join(t.text for t in tokens)).strip()


def _resolve(head, pos: int, ctx: _Context) -> str | None:
    """The canonical name (or, for a name the article's entities lack, the words) of who speaks
    through the subject ``head`` of a speech verb, at body offset ``pos``; None for a speaker
    the text does not name."""
    low = head.lower_
    if low in PRONOUNS or low == "it":
        kinds = {"he": {"person"}, "she": {"person"}, "they": {"person", "organization"}}
        gender = {"he": "m", "she": "f"}.get(low)
        found = ctx.salient(pos, frozenset(kinds.get(low, {"organization"})), gender)
        if found is not None:
            ctx.note(pos, found)
        return found
    if low in _ANONYMOUS or low in _RELATIVES:
        return None
    words = _name_words(head)
    subtree = head.doc[head.left_edge.i : head.right_edge.i + 1].text
    # A common noun with a name before it is a group around the name, not the name:
    # "Varga supporters", "Acme employees" (who speaks for it is it: "Acme spokesman").
    named = head.text if _common_noun(head) and low not in _SPOKES else words
    found = _find_form(named, ctx.person_forms)
    if found is not None:
        return ctx.full_name(found)
    found = _find_form(named, ctx.org_forms)
    if found is not None and len(found.split()) == 1:
        found = ctx.full_name(found)  # "Lopez" typed as a company
    if found is None and not head.text[:1].isupper():
        # "Chairman and CEO Craig Menear" is Menear; "a spokesperson for the Foreign Office"
        # speaks for it (who speaks for an organisation is it); "a lawyer for X", "the head
        # of X" are someone else, not X.
        found = _role_named(head, ctx)
        if found is None and low in _SPOKES:
            found = _find_form(subtree, ctx.org_forms)
    if found is not None:
        return found
    definite = any(c.dep_ == "poss" or c.lower_ in ("the", "this", "that") for c in head.children)
    if low in _NOT_SPEAKERS:
        if not low.startswith("spokes"):
            return None
        # "the spokesman" is the one introduced so; "a spokesperson for X" speaks for X.
        found = ctx.with_role(low, pos) if definite else None
        return found or _find_form(subtree, ctx.person_forms) or _proper_words(subtree)
    if head.text[:1].isupper() and _word_at(ctx.body, low, len(ctx.body)) < 0:
        return _unnamed(_proper_run(head), pos, ctx)  # (not a common noun opening a sentence)
    if not definite:
        return None  # "an official said": nobody named
    if any(c.text[:1].isupper() and c.dep_ in _NAME_DEPS for c in head.lefts):
        return words or None  # "the French foreign ministry": named here, no anaphor
    # (a possessive is another's: "Menear's lawyer" is not named)
    found = None
    if low in _ORG_NOUNS:
        found = ctx.salient(pos, frozenset({"organization"}))
    else:
        found = ctx.with_role(low, pos)
    if found is not None:
        ctx.note(pos, found)
    return found


def _unnamed(words: str, pos: int, ctx: _Context) -> str | None:
    """The speaker a name the entities lack stands for: its words without the capitalised
    ones that name no one, as an entity of the article if they name one, else in full as the
    body writes it ("Apte" -> "Joshua Apte"). A person so named is noted for the pronouns
    after it."""
    words = _unnamed_words(words, ctx)
    if not words:
        return None
    found = _find_form(words, ctx.person_forms) or _find_form(words, ctx.org_forms)
    if found is not None:
        return ctx.full_name(found) if found in ctx.person_names else found
    name = ctx.full_name(words)
    if not any(w in _org_words() for w in name.split()):
        ctx.note(pos, name, "person")
    return name


@lru_cache(maxsize=1)
def _not_given_names() -> frozenset[str]:
    """Capitalised words that stand before a name without being a given name (titles, days,
    months, "The"): the entity step's list (imported late: that module imports this one)."""
    from newsflow.transforms.enrich.entities import _NOT_FIRST_NAMES, _TITLE_WORDS

    return frozenset(_NOT_FIRST_NAMES | _TITLE_WORDS)


@lru_cache(maxsize=1)
def _first_name_genders() -> dict[str, str]:
    """First name -> "m" or "f" for names borne mostly by one sex
    (``mappings/first_name_genders.txt``, US census); read once."""
    lines = FIRST_NAME_GENDERS_PATH.read_text(encoding="utf-8").splitlines()
    pairs = (line.split() for line in lines if line.strip() and not line.startswith("#"))
    return {name: sex for name, sex in pairs}


@lru_cache(maxsize=1)
def _org_words() -> frozenset[str]:
    """Words that make a name an organisation's ("Office", "Union"): the entity step's."""
    from newsflow.transforms.enrich.entities import _ORG_WORDS

    return frozenset(_ORG_WORDS)


def _proper_run(head) -> str:
    """The capitalised words that end in ``head`` ("Taliban spokesman Zabihullah Mujahid" ->
    "Zabihullah Mujahid"): a lowercase word ends a name."""
    left = head.i
    while left - 1 >= 0 and head.doc[left - 1].dep_ in _NAME_DEPS:
        if head.doc[left - 1].is_lower or not head.doc[left - 1].text[:1].isalpha():
            break
        left -= 1
    return " ".join(t.text for t in head.doc[left : head.i + 1])


def _unnamed_words(words: str, ctx: _Context) -> str:
    """A name the entities lack without its leading words that the body writes in lowercase
    elsewhere, nor titles ("Mr", "Senator"; a royal's stays: "Prince Andrew"): capitals at a
    sentence start or on a title-case line say nothing of a name ("Are Following Trump" ->
    "Trump")."""
    tokens = words.split()
    while tokens and (
        tokens[0].lower() in ctx.lowercase
        or (tokens[0].rstrip(".") in _not_given_names() and tokens[0] not in _ROYALS)
    ):
        tokens.pop(0)
    return " ".join(tokens)


def _common_noun(token) -> bool:
    """Whether ``token`` is a lowercase word on its own, not the end of a hyphenated name
    ("Soo-min", "al-Rashid" end in lowercase: the tokenizer splits them at the hyphen)."""
    if token.text[:1].isupper():
        return False
    doc, i = token.doc, token.i
    hyphen = i >= 2 and doc[i - 1].text == "-" and not doc[i - 2].whitespace_
    return not (hyphen and not doc[i - 1].whitespace_ and doc[i - 2].text[:1].isupper())


def _role_named(head, ctx: _Context) -> str | None:
    """The person a lowercase subject names in apposition or as a title ("chairman, CEO and
    president Craig Menear said"): the subject's words without what hangs on it by a
    preposition, a possessive or a clause ("a spokesman for X", "X's lawyer" are not X), or
    as a name before it ("X supporters")."""
    skip = {"prep", "poss", "relcl", "acl", "advcl"}
    tokens = []
    for t in head.subtree:
        step, kept = t, True
        while step.i != head.i:  # the path from the word up to the subject
            # A name before the noun is what the group is around ("Varga supporters").
            before = step.i < head.i and step.head.i == head.i and step.dep_ in _NAME_DEPS
            if step.dep_ in skip or (before and _common_noun(head)):
                kept = False
                break
            step = step.head
        if kept:
            tokens.append(t.text)
    return _find_form(" ".join(tokens), ctx.person_forms)


def _proper_words(text: str) -> str | None:
    """The capitalised words of "a Commission spokesperson" or "a spokesperson for the Foreign
    Office": the organisation the spokesperson speaks for."""
    words = [w for w in text.split() if w[:1].isupper() and w.lower() not in ("a", "an", "the")]
    return " ".join(words) or None


def _sentence_subject(doc, token):
    """Who the sentence before ``token``'s is about: the subject of its last speech verb ("At
    current rates, Bridenstine said, ..."), else of its main clause; None if it has none."""
    sent = token.sent
    if sent.start == 0:
        return None
    previous = doc[sent.start - 1].sent
    for verb in reversed([t for t in previous if _is_speech_verb(t)]):
        head = _subject_head(verb)
        if head is not None:
            return head
    subjects = [c for c in previous.root.children if c.dep_ == "nsubj"]
    return subjects[0] if subjects else None


def _clean_text(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text[:-1].rstrip() if text.endswith(",") else text


@dataclass(frozen=True)
class _Said:
    """Who said a quotation: ``attributed`` when the text says someone did, ``speaker`` the
    name (None: someone the text does not name)."""

    attributed: bool
    speaker: str | None = None


_UNSAID = _Said(False)


class _Deferred:
    """Who spoke last in the paragraph before, found only if a quotation asks (it costs a
    parse)."""

    def __init__(self, find: Callable[[], _Said]) -> None:
        self._find = find

    def get(self) -> _Said:
        return self._find()


def attribute(
    ctx: _Context,
    para: _Paragraph,
    doc,
    pairs: Sequence[tuple[_Span, _Span]],
    carried: _Said | _Deferred,
) -> tuple[list[Quote], _Said]:
    """Quotes of one paragraph (``doc``: the parse of its masked text, or None when nothing
    outside its quotations needs one; ``pairs``: the quotations' (original, masked) spans)
    and who speaks last in it. ``carried``: who spoke last in the paragraph before, which a
    paragraph opening with a quotation continues."""
    masked = [m for _, m in pairs]
    found = _paragraph_verbs(doc, masked) if doc is not None else None
    out: list[Quote] = []
    previous = _UNSAID
    opens = bool(_OPENS.match(para.text))
    for k, (span, mspan) in enumerate(pairs):
        said = _UNSAID
        pos = para.offset + span.outer_start
        if found is not None:
            comma = para.text[span.start : span.end].rstrip().endswith(",")
            verb = _speech_verb(doc, mspan, masked, comma, found)
            if verb is not None:
                head = _subject_head(verb)
                at = para.offset + _unmasked(head.idx, pairs) if head is not None else pos
                said = _Said(True, _resolve(head, at, ctx) if head is not None else None)
            elif k > 0 or not opens:
                said = _standing_alone(doc, mspan, para.offset, pairs, ctx, previous)
                if not said.attributed and para.text[: span.outer_start].rstrip().endswith(":"):
                    said = _introduced(doc, mspan, para.offset, pairs, ctx)
        elif k > 0:
            said = previous
        if not said.attributed and k == 0 and opens:
            # A paragraph that opens with a quotation goes on from the last.
            said = carried.get() if isinstance(carried, _Deferred) else carried
        speaker = ctx.completed(said.speaker)
        if said.attributed and not ctx.half_named(speaker):
            text = _clean_text(para.text[span.start : span.end])
            out.append(Quote(text=text, speaker=speaker, offset=para.offset + span.start))
        previous = said
    return out, previous


def _unmasked(pos: int, pairs: Sequence[tuple[_Span, _Span]]) -> int:
    """The paragraph offset of masked offset ``pos`` (outside the quotations)."""
    for original, masked in pairs:
        if masked.outer_end <= pos:
            pos += (original.end - original.start) - (masked.end - masked.start)
    return pos


def _standing_alone(
    doc,
    mspan: _Span,
    offset: int,
    pairs: Sequence[tuple[_Span, _Span]],
    ctx: _Context,
    previous: _Said,
) -> _Said:
    """A quotation with no speech verb that opens a sentence: the words of the person the
    sentence before is about ("Aderholt returned to the issue. “What commercial ...?”"), else
    of the quotation before it in the paragraph, unless the story moved on between them
    (``_moved_on``): then no one's."""
    open_ = doc.char_span(mspan.outer_start, mspan.outer_start + 1, alignment_mode="expand")
    if open_ is not None and open_[0].sent.start == open_.start:
        subject = _sentence_subject(doc, open_[0])
        if subject is not None and (subject.lower_ in PRONOUNS or subject.text[:1].isupper()):
            speaker = _resolve(subject, offset + _unmasked(subject.idx, pairs), ctx)
            if speaker is not None and (speaker in ctx.person_names or subject.lower_ in PRONOUNS):
                return _Said(True, speaker)
    if open_ is not None and _moved_on(doc, open_.start, [m for _, m in pairs], mspan):
        return _UNSAID
    return previous


def _moved_on(doc, start: int, masked: Sequence[_Span], mspan: _Span) -> bool:
    """Whether a sentence with a subject of its own stands between the quotation before
    ``mspan`` and the token ``start`` that opens it: a new sentence about someone or something
    moves the story on ("“…,” Varga said. The report found …"), so what follows is no longer
    surely the last speaker's words."""
    k = next((i for i, m in enumerate(masked) if m == mspan), 0)
    if k == 0:
        return False
    before = masked[k - 1]
    close = doc.char_span(before.outer_end - 1, before.outer_end, alignment_mode="expand")
    if close is None:
        return False
    between = doc[close.end : start]
    return any(t.is_sent_start for t in between) and any(t.dep_ in _SUBJECT_DEPS for t in between)


def _introduced(
    doc, mspan: _Span, offset: int, pairs: Sequence[tuple[_Span, _Span]], ctx: _Context
) -> _Said:
    """A quotation after a colon is one a clause introduces ("She put it simply: “…”", "in the
    words of the patient: “…”"): by the subject of that clause when it names a person or an
    organisation."""
    mark = doc.char_span(mspan.outer_start, mspan.outer_start + 1, alignment_mode="expand")
    words = [t for t in doc[: mark.start] if not t.is_punct] if mark is not None else []
    if not words:
        return _Said(True, None)
    return _colon_clause(words[-1], lambda t: offset + _unmasked(t.idx, pairs), ctx)


def _colon_clause(last, offset_of: Callable[[Any], int], ctx: _Context) -> _Said:
    """Who the clause ending in ``last``, right before a colon, introduces to speak: the
    subject of that clause when it names a person or an organisation of the article ("The
    ministry put it plainly:"), else someone not named. ``offset_of``: a
    token's offset in the body."""
    limit = last.i
    # The clause before the colon: the last word's nearest head (itself included) that has a
    # subject before the colon (the parser may hang that clause on the stand-in's verb).
    for clause in [last, *last.ancestors]:
        if clause.i > limit:
            break
        subjects = [c for c in clause.children if c.dep_ == "nsubj" and c.i < limit]
        if subjects:
            head = subjects[0]
            speaker = _resolve(head, offset_of(head), ctx)
            named = speaker in ctx.person_names or speaker in ctx.org_names
            return _Said(True, speaker if named else None)
    return _Said(True, None)


def _paragraph_speaker(ctx: _Context, para: _Paragraph, parser) -> _Said:
    """Who a paragraph without quotations has speak last: the subject of its last speech verb
    ("Erekat said it was only the latest move."), for a quotation paragraph after it; ending
    in a colon, it introduces that quotation as a clause before a colon does."""
    colon = para.text.rstrip().endswith(":")
    if not colon and not _has_speech_verb(para.text):
        return _UNSAID
    doc = parser(para.text)
    for verb in reversed([t for t in doc if _is_speech_verb(t)]):
        head = _subject_head(verb)
        if head is not None:
            return _Said(True, _resolve(head, para.offset + head.idx, ctx))
    words = [t for t in doc if not t.is_punct]
    if colon and words:  # "... which contains the following statement:" then the quotation
        return _colon_clause(words[-1], lambda t: para.offset + t.idx, ctx)
    return _UNSAID


def _has_speech_verb(text: str) -> bool:
    return any(
        w.lower() in SPEECH_VERBS or w.lower() in NAMING_VERBS for w in _LETTERS.findall(text)
    )


def _needs_parse(masked: str, pairs: Sequence[tuple[_Span, _Span]]) -> bool:
    """Whether a paragraph's parse can give any of its quotations a speaker: it has a speech
    verb outside them, or a quotation that a clause follows at once ("“…,” he continued"),
    that a colon introduces, or that opens a sentence after another (the rules of step 2)."""
    if _has_speech_verb(masked):
        return True
    for _, m in pairs:
        before = masked[: m.outer_start].rstrip()
        if masked[m.end - 1 : m.end] in _LEADS_ON and _LETTERS.match(
            masked[m.outer_end :].lstrip()
        ):
            return True
        if before.endswith(":") or (_LETTERS.search(before) and _ENDS_SENTENCE.search(before)):
            return True
    return False


@dataclass
class _Item:
    para: _Paragraph
    masked: str
    pairs: list[tuple[_Span, _Span]]
    doc: object = None


def _plan(body: str) -> list[_Item]:
    """The body's quotation paragraphs, in order, masked."""
    items = []
    for para, spans in _quote_paragraphs(body):
        masked, pairs = mask_quotations(para.text, runs_on=para.runs_on, spans=spans)
        items.append(_Item(para, masked, pairs))
    return items


def _paragraph_at(body: str, offset: int) -> _Paragraph:
    end = body.find("\n", offset)
    return _Paragraph(offset, body[offset : end if end >= 0 else len(body)], True, -1)


def extract_quotes(
    bodies: Sequence[str],
    entities: Sequence[Sequence[Entity]],
    model_name: str,
    batch_size: int = 64,
    keywords: Sequence[Sequence[str]] | None = None,
) -> list[list[Quote]]:
    """Quotes of each body, parsing only the paragraphs that hold quotation marks (batched
    across all bodies) and, for one that opens with a quotation of no one, the paragraph
    before it. ``ParserUnavailable``/``OSError`` when the model cannot parse."""
    plans = [_plan(body or "") for body in bodies]
    out: list[list[Quote]] = [[] for _ in bodies]
    if not any(plans):
        return out
    parser = load_parser(model_name)
    todo = [item for plan in plans for item in plan if _needs_parse(item.masked, item.pairs)]
    # Copies of one story (wire copy, a page fetched twice) hold the same paragraphs: each
    # distinct text is parsed once and its parse, which attribution only reads, is shared.
    texts = list(dict.fromkeys(item.masked for item in todo))
    parsed = dict(zip(texts, parser.pipe(texts, batch_size=batch_size), strict=True))
    for item in todo:
        item.doc = parsed[item.masked]
    for i, plan in enumerate(plans):
        body = bodies[i] or ""
        ctx = _Context(body, entities[i], keywords[i] if keywords is not None else ())
        last, last_at = _UNSAID, -1
        for item in plan:
            previous = item.para.previous
            carried: _Said | _Deferred
            if previous >= 0 and previous == last_at:
                carried = last
            elif previous >= 0 and _OPENS.match(item.para.text):
                before = _paragraph_at(body, previous)
                # Parsed on demand, when a quotation of this paragraph needs it: rarely.
                carried = _Deferred(partial(_paragraph_speaker, ctx, before, parser))
            else:
                carried = _UNSAID
            quotes, last = attribute(ctx, item.para, item.doc, item.pairs, carried)
            out[i] += quotes
            last_at = item.para.offset
    return out


def with_quotes(
    items: Sequence[EnrichedArticle], model_name: str, max_chars: int
) -> list[EnrichedArticle]:
    """``items`` with their quotes (body up to ``max_chars``). A model that cannot parse
    yields no quotes, logged, rather than a failed batch."""
    bodies = [item.article.body[:max_chars] for item in items]
    try:
        found = extract_quotes(
            bodies,
            [item.entities for item in items],
            model_name,
            keywords=[item.article.tags for item in items],
        )
    except (ParserUnavailable, OSError) as exc:
        log.warning("no quotes extracted with model %r: %s", model_name, exc)
        return list(items)
    return [replace(item, quotes=q) for item, q in zip(items, found, strict=True)]
