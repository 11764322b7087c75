"""Plain data passed between the steps: what comes in and goes out of fetch, clean, enrich, load."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

Stage = Literal["discover", "fetch", "clean", "enrich", "load", "archive"]

# spaCy labels kept as facets; numeric and date labels (DATE, MONEY, CARDINAL...) are not facets.
FACET_TYPES: tuple[str, ...] = ("person", "organization", "location", "group", "event", "product")


@dataclass(frozen=True)
class Failure:
    """One input that did not make it through a stage, and why. Never dropped silently."""

    url: str
    stage: Stage
    reason: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Page:
    """A downloaded (or read) HTML page, already decoded to text."""

    url: str  # the URL asked for (or file:// URL)
    final_url: str  # after redirects
    html: str
    encoding: str
    fetched_at: datetime
    status: int = 200


@dataclass(frozen=True)
class Validators:
    """What a server said about a resource's version, for a conditional request next time."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class SourceState:
    """What to remember about one feed or sitemap URL after a run (discovery makes it, the
    crawl state in the store keeps it)."""

    url: str
    kind: str
    source: str  # the configured source's name
    validators: Validators
    status: int
    changed: bool  # False when it answered 304


@dataclass(frozen=True)
class Article:
    """What the clean step makes of a page."""

    url: str
    canonical_url: str
    title: str
    body: str
    authors: list[str]
    published: str | None  # ISO 8601 date or date-time
    site_name: str | None
    source: str  # host of the canonical URL, e.g. "www.example.com"
    language: str | None
    tags: list[str]
    section: str | None  # the site's own section ("Business"), from article:section etc.
    description: str | None
    image: str | None
    fetched_at: datetime
    word_count: int
    # Where each date came from (json-ld, meta, microdata, url, dateline, markup, visible-text,
    # site-rule), so a wrong date can be traced; see transforms/clean/dates.py.
    published_source: str | None = None
    modified: str | None = None  # ISO 8601 date or date-time of the last update
    modified_source: str | None = None
    # Whether the article can be read without paying: structured data's isAccessibleForFree
    # or a paywall marker (transforms/clean/access.py); None when the page does not say.
    free_access: bool | None = None
    # The URL the page was served from, after redirects: its host chose the site rule
    # (transforms/clean/siterules.py), so it names the clean version. None: ``url``.
    final_url: str | None = None


@dataclass(frozen=True)
class Entity:
    """A named entity of one article: canonical name, facet type, mentions, surface forms."""

    name: str
    type: str
    count: int
    first_offset: int
    forms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Quote:
    """A direct quotation: its words and who said them: the canonical name of the article's
    person or organisation, else the name the text uses; None when the text attributes the
    quotation to someone it does not name ("an official said")."""

    text: str
    speaker: str | None
    offset: int = -1  # character offset of the quotation in the body

    def as_dict(self) -> dict[str, str | None]:
        return {"speaker": self.speaker, "text": self.text}


@dataclass(frozen=True)
class EnrichedArticle:
    article: Article
    entities: list[Entity]
    # Why an article has no entities although it has text (e.g. no model for its language).
    enrich_note: str | None = None
    quotes: list[Quote] = field(default_factory=list)

    def facets(self) -> dict[str, list[str]]:
        """Entity names per facet type, most mentioned first."""
        out: dict[str, list[str]] = {t: [] for t in FACET_TYPES}
        for entity in sorted(self.entities, key=lambda e: (-e.count, e.first_offset)):
            out[entity.type].append(entity.name)
        return out


# The integer counts of a run summary, in pipeline order (reports, run history, the CLI).
COUNT_FIELDS: tuple[str, ...] = (
    "discovered",
    "fetched",
    "cleaned",
    "enriched",
    "indexed",
    "unchanged",
    "skipped",
    "failed",
)


@dataclass
class StageCounts:
    """Counts the run summary reports; one instance accumulates over all batches."""

    discovered: int = 0
    fetched: int = 0
    cleaned: int = 0
    enriched: int = 0
    indexed: int = 0
    unchanged: int = 0  # already indexed with the same content, not written again
    skipped: int = 0
    failed: int = 0
    failures: list[Failure] = field(default_factory=list)
    skips: list[Failure] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "discovered": self.discovered,
            "fetched": self.fetched,
            "cleaned": self.cleaned,
            "enriched": self.enriched,
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "failures": [f.as_dict() for f in self.failures],
            "skips": [s.as_dict() for s in self.skips],
        }
