"""Response models of the search API: the JSON shapes the OpenAPI document promises."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EntityType = Literal["person", "organization", "location", "group", "event", "product"]
FacetField = Literal[
    "person",
    "organization",
    "location",
    "group",
    "event",
    "product",
    "source",
    "language",
    "authors",
    "section",
    "free_access",
]


class _Model(BaseModel):
    # Extra keys are a bug in the API, not data to pass through.
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Model):
    loc: list[str | int] = Field(description="Where the bad value is, e.g. ['query', 'since'].")
    msg: str = Field(description="What is wrong with it.")


class ErrorResponse(_Model):
    """Every 4xx and 5xx answer. Elasticsearch's own error text is never included: the
    server log has it under the same request id."""

    error: str = Field(
        description="Machine-readable code: bad_cursor, not_found, validation_error, "
        "backend_error, unavailable, internal_error, method_not_allowed.",
        examples=["validation_error"],
    )
    message: str = Field(description="What went wrong, for people.")
    request_id: str = Field(description="Also in the X-Request-ID header and the server log.")
    details: list[ErrorDetail] | None = Field(
        None, description="The invalid parameters (422 only)."
    )


class FacetBucket(_Model):
    value: str
    count: int = Field(description="Matching articles with this value.")


class Facets(_Model):
    """Top values (10) of every facet field over the whole result set (all pages); a field
    left out by the `facet` parameter is an empty list."""

    person: list[FacetBucket]
    organization: list[FacetBucket]
    location: list[FacetBucket]
    group: list[FacetBucket]
    event: list[FacetBucket]
    product: list[FacetBucket]
    source: list[FacetBucket]
    language: list[FacetBucket]
    authors: list[FacetBucket]
    section: list[FacetBucket]
    free_access: list[FacetBucket] = Field(
        description='"true" (readable without paying) and "false" (paywalled); articles whose '
        "page does not say are in neither."
    )


class Entities(_Model):
    """Facet values of an article, per entity type."""

    person: list[str]
    organization: list[str]
    location: list[str]
    group: list[str]
    event: list[str]
    product: list[str]


class OtherArticle(_Model):
    """Another article telling the same story (a republication)."""

    id: str
    url: str
    title: str
    source: str
    published: str | None


class SearchHit(_Model):
    id: str
    url: str
    title: str
    title_html: str = Field(
        description="The title as HTML: text escaped, query matches wrapped in <em>."
    )
    published: str | None = Field(description="ISO 8601 date or date-time; null when unknown.")
    source: str
    language: str | None
    section: str | None
    authors: list[str]
    snippet: str = Field(
        description="About 160 characters of the body as HTML: text escaped, query matches "
        "wrapped in <em>; the opening of the body when nothing in it matched."
    )
    story_id: str | None = Field(description="Articles with the same story_id tell one story.")
    entities: Entities
    other_count: int = Field(
        description="Other matching articles of the same story folded into this hit "
        '("and N other sources"); 0 with collapse=false.'
    )
    others: list[OtherArticle] = Field(description="Up to 10 of them, newest first.")


class HistogramBucket(_Model):
    date: str = Field(description="First day of the bucket, YYYY-MM-DD.")
    count: int = Field(
        description="Matching articles published in it (on the publisher's own calendar day)."
    )


class Histogram(_Model):
    interval: str = Field(description="Calendar interval of the buckets (week).")
    buckets: list[HistogramBucket] = Field(
        description="From the earliest to the latest matching article, empty weeks included."
    )


class SearchResponse(_Model):
    total: int = Field(description="Matching articles (not stories).")
    stories: int = Field(
        description="Distinct stories among the matching articles (exact up to 40,000)."
    )
    timed_out: bool = Field(
        description="Elasticsearch hit its time limit: the results may be incomplete."
    )
    hits: list[SearchHit]
    facets: Facets
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page. A page may "
        "hold fewer than `size` hits and still have a next one."
    )
    histogram: Histogram | None = Field(
        None, description="Matching articles over time (all pages), for the chart."
    )


class Suggestion(_Model):
    type: EntityType
    value: str
    count: int = Field(description="Articles naming it.")


class SuggestionsResponse(_Model):
    prefix: str
    type: EntityType | None
    suggestions: list[Suggestion] = Field(description="Most frequent first.")


class DateCount(_Model):
    date: str = Field(description="Start of the bucket, YYYY-MM-DD.")
    count: int = Field(description="Articles published in the bucket.")


class CoOccurring(_Model):
    """Entities named in the same articles (never the entity itself), most frequent first."""

    person: list[FacetBucket]
    organization: list[FacetBucket]
    location: list[FacetBucket]
    group: list[FacetBucket]
    event: list[FacetBucket]
    product: list[FacetBucket]


class Quote(_Model):
    text: str
    speaker: str
    article_id: str
    url: str
    title: str
    published: str | None


class EntityResponse(_Model):
    type: EntityType
    name: str
    articles: int = Field(description="Articles naming the entity.")
    interval: Literal["day", "week", "month", "quarter", "year"] | None = Field(
        description="Width of the mention buckets, chosen from the span of dates: day, week, "
        "month, quarter or year; null when no article has a date."
    )
    mentions: list[DateCount] = Field(
        description="Articles per bucket of `published_day` (the publisher's own day)."
    )
    co_occurring: CoOccurring
    quotes: list[Quote] = Field(
        description="Latest quotes by this person (nested `quotes` field, filled by the enrich "
        "step's quote extraction); always empty for non-people."
    )


class Mention(_Model):
    name: str
    type: str
    count: int
    first_offset: int | None


class QuoteText(_Model):
    text: str
    speaker: str | None


class ArticleResponse(_Model):
    id: str
    url: str
    canonical_url: str | None
    title: str
    description: str | None
    body: str
    authors: list[str]
    published: str | None
    published_day: str | None = Field(
        default=None,
        description="The publisher's own calendar day of `published` (YYYY-MM-DD), the one "
        "date filters and histograms count.",
    )
    free_access: bool | None = Field(
        default=None,
        description="Declared free to read (true) or paywalled (false); null when the page "
        "does not say.",
    )
    fetched_at: str | None
    indexed_at: str | None
    site_name: str | None
    source: str | None
    language: str | None
    section: str | None
    tags: list[str]
    image: str | None
    word_count: int | None
    story_id: str | None
    story_lead: bool | None = Field(
        default=None, description="The earliest copy of its story (by published date, then URL)."
    )
    entities: Entities
    mentions: list[Mention] = Field(description="Every entity with its mention count.")
    quotes: list[QuoteText] = Field(
        description="Direct quotations in the article with their speaker (a canonical person "
        "or organisation name when the article names them; null when it does not)."
    )


class HealthResponse(_Model):
    status: Literal["ok", "unavailable"]
    cluster: Literal["green", "yellow", "red"] | None = Field(
        description="Cluster health; null when Elasticsearch does not answer."
    )
    alias: str
    alias_exists: bool | None
    documents: int | None
    request_id: str
    message: str | None = Field(None, description="Why it is unavailable.")
