"""Faceted full-text search over the articles alias: one request in, hits and facet counts out.

Everything here is pure, so it can be tested without a node: the ``build_*`` functions turn a
request into an Elasticsearch body and the ``parse_*`` functions (and ``StoryPage``) turn the
responses into results. ``newsflow.store.search`` runs them with the client it is given; the
CLI (``newsflow search``) and the HTTP API (``newsflow.api``) share both.

Story collapsing and cursors: the first page of a collapsed search is one collapsed request
(``build_page_query``: the best article of each of the first stories, with the facets and total
of the whole result set; the story count and histogram in ``build_counts_query``, run at the
same time), then one small aggregation request for the stories it shows
(``build_others_query``: each story's matching articles counted, and its latest ones listed, by
a terms aggregation on ``story_id`` with ``top_hits``). That is much cheaper than
``inner_hits``, which runs one more search per story shown.

Elasticsearch refuses ``collapse`` together with ``search_after`` unless the sort is on the
collapse field alone, so a later page (one with a cursor) is built in rounds. The uncollapsed,
totally ordered stream of matching articles is read with ``search_after``; the stories first
seen in it are then fetched with one collapsed query and their other articles with
``build_others_query``, and a story is shown only where its best article stands in the stream.
A story whose best article lies before the cursor was shown on an earlier page, so every story
appears exactly once across pages, and the cursor stays a few sort values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

ENTITY_TYPES = ("person", "organization", "location", "group", "event", "product")
# What the CLI shows by default; the API asks for ALL_FACET_FIELDS.
FACET_FIELDS = ("person", "organization", "location", "source", "language")
ALL_FACET_FIELDS = (*ENTITY_TYPES, "source", "language", "authors", "section", "free_access")
FILTER_FIELDS = ALL_FACET_FIELDS  # every facet can also filter
MAX_QUERY_CHARS = 500
MAX_PAGE_SIZE = 50
MAX_PREFIX_CHARS = 100
SNIPPET_CHARS = 160
# Stream articles read per round for a collapsed page, and rounds before a page is returned
# short (with a cursor): bounds the work a page of huge stories can cause.
STREAM_BATCH_MIN = 30
STREAM_BATCH_MAX = 150
STREAM_MAX_ROUNDS = 5
# cardinality is exact below this many distinct stories, approximate above.
STORY_COUNT_PRECISION = 40_000
_CURSOR_VERSION = 1
_HIT_SOURCE = (
    "id",
    "url",
    "title",
    "published",
    "source",
    "body",
    "authors",
    "language",
    "section",
    "story_id",
    *ENTITY_TYPES,
)
_OTHER_SOURCE = ("id", "url", "title", "source", "published")
_PUBLISHED_DESC = {"published": {"order": "desc", "missing": "_last"}}
# Date filters and histograms count the publisher's own calendar day (``published_day``, the
# date part of ``published`` with the offset the page gave it), not the UTC one: an article
# published at 23:30-05:00 belongs to its local day, not the next.
DAY_FIELD = "published_day"
# The document id breaks ties, so the sort is a total order and search_after never skips or
# repeats an article.
_TIEBREAK = {"id": "asc"}

SortMode = Literal["relevance", "date"]


class InvalidCursor(ValueError):
    """A cursor that was not made by ``encode_cursor`` for the same query."""


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)  # field -> values (AND)
    subjects: list[str] = field(default_factory=list)  # entities the articles are mainly about
    since: date | None = None
    until: date | None = None
    size: int = 10
    facet_size: int = 10
    # None: by relevance when there is text, newest first otherwise.
    sort: SortMode | None = None
    collapse: bool = False  # one hit per story (story_id), the others in Hit.others
    search_after: tuple[Any, ...] | None = None  # sort values of the last hit already shown
    facets: tuple[str, ...] = FACET_FIELDS
    count_stories: bool = False  # fill SearchResult.stories (cardinality of story_id)
    html: bool = False  # snippets as HTML: text escaped, matches in <em>
    timeout: str | None = None  # Elasticsearch's own search timeout ("20s"), partial results
    others_size: int = 10  # other articles of a story listed per collapsed hit
    histogram: bool = False  # fill SearchResult.histogram (matching articles per week)


@dataclass(frozen=True)
class OtherArticle:
    id: str
    url: str
    title: str
    source: str
    published: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "source": self.source,
            "published": self.published,
        }


@dataclass(frozen=True)
class Hit:
    id: str
    url: str
    title: str
    published: str | None
    source: str
    snippet: str
    entities: dict[str, list[str]]
    title_html: str = ""
    authors: list[str] = field(default_factory=list)
    language: str | None = None
    section: str | None = None
    story_id: str | None = None
    other_count: int = 0  # articles of the same story folded into this hit
    others: list[OtherArticle] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "title_html": self.title_html,
            "published": self.published,
            "source": self.source,
            "language": self.language,
            "section": self.section,
            "authors": self.authors,
            "snippet": self.snippet,
            "story_id": self.story_id,
            "entities": self.entities,
            "other_count": self.other_count,
            "others": [o.as_dict() for o in self.others],
        }


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[dict[str, Any]]]
    stories: int | None = None
    next_after: tuple[Any, ...] | None = None  # sort values to continue from; None: last page
    timed_out: bool = False
    histogram: dict[str, Any] | None = None  # {"interval", "buckets": [{"date", "count"}]}

    def as_dict(self) -> dict[str, Any]:
        out = {
            "total": self.total,
            "stories": self.stories,
            "timed_out": self.timed_out,
            "hits": [h.as_dict() for h in self.hits],
            "facets": self.facets,
        }
        if self.histogram is not None:
            out["histogram"] = self.histogram
        return out


# An entity is a main subject of an article when it is named more than once or early (in the
# headline or the first lines).
MAIN_SUBJECT_MIN_MENTIONS = 2
MAIN_SUBJECT_MAX_OFFSET = 300


def _main_subject(name: str) -> dict[str, Any]:
    return {
        "nested": {
            "path": "entities",
            "query": {
                "bool": {
                    "filter": [{"term": {"entities.name": name}}],
                    "should": [
                        {"range": {"entities.count": {"gte": MAIN_SUBJECT_MIN_MENTIONS}}},
                        {"range": {"entities.first_offset": {"lt": MAIN_SUBJECT_MAX_OFFSET}}},
                    ],
                    "minimum_should_match": 1,
                }
            },
        }
    }


def _text(req: SearchRequest) -> str:
    return req.query.strip()[:MAX_QUERY_CHARS]


def sort_mode(req: SearchRequest) -> SortMode:
    """The sort a request really gets: relevance needs text to rank by."""
    if req.sort == "date" or not _text(req):
        return "date"
    return "relevance"


def _sort(req: SearchRequest) -> list[Any]:
    if sort_mode(req) == "relevance":
        return ["_score", _PUBLISHED_DESC, _TIEBREAK]
    return [_PUBLISHED_DESC, _TIEBREAK]


def _query(req: SearchRequest) -> dict[str, Any]:
    unknown = set(req.filters) - set(FILTER_FIELDS)
    if unknown:
        raise ValueError(f"unknown filter field(s): {', '.join(sorted(unknown))}")
    text = _text(req)
    must: list[dict[str, Any]] = []
    if text:
        must.append(
            {
                "simple_query_string": {
                    "query": text,
                    "fields": ["title^3", "description^2", "body"],
                    "default_operator": "and",
                    # No FUZZY/SLOP/NEAR: user input must stay cheap; PREFIX only applies to
                    # a trailing `*`, so there is no leading wildcard.
                    "flags": "AND|OR|NOT|PHRASE|PRECEDENCE|WHITESPACE|ESCAPE|PREFIX",
                }
            }
        )
    filters: list[dict[str, Any]] = [
        {"term": {name: value}} for name, values in req.filters.items() for value in values
    ]
    filters += [_main_subject(name) for name in req.subjects]
    if req.since or req.until:
        bounds = {}
        if req.since:
            bounds["gte"] = req.since.isoformat()
        if req.until:
            bounds["lte"] = req.until.isoformat()
        filters.append({"range": {DAY_FIELD: bounds}})
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}


def _highlight(req: SearchRequest) -> dict[str, Any]:
    body = {
        "fragment_size": SNIPPET_CHARS,
        "number_of_fragments": 1,
        "no_match_size": SNIPPET_CHARS,
    }
    spec: dict[str, Any] = {
        # 0 fragments: the whole title, highlighted.
        "fields": {"body": body, "title": {"number_of_fragments": 0}},
        "pre_tags": ["<em>"],
        "post_tags": ["</em>"],
    }
    if req.html:
        spec["encoder"] = "html"  # escapes the text around the tags: safe to insert as HTML
    return spec


def _aggs(req: SearchRequest) -> dict[str, Any]:
    aggs: dict[str, Any] = {
        name: {"terms": {"field": name, "size": req.facet_size}} for name in req.facets
    }
    if req.histogram:
        aggs["_histogram"] = {
            "date_histogram": {
                "field": DAY_FIELD,
                "calendar_interval": SEARCH_HISTOGRAM_INTERVAL,
                "format": "yyyy-MM-dd",
                "min_doc_count": 0,
            }
        }
    if req.count_stories:
        aggs["_stories"] = {
            "cardinality": {"field": "story_id", "precision_threshold": STORY_COUNT_PRECISION}
        }
    return aggs


def _stream_batch(req: SearchRequest) -> int:
    return max(STREAM_BATCH_MIN, min(STREAM_BATCH_MAX, 3 * req.size))


def build_query(req: SearchRequest) -> dict[str, Any]:
    """Elasticsearch search body for a request (the first request of a collapsed page).

    User text goes through ``simple_query_string`` (never fails on syntax, no leading
    wildcards), bounded in length. Without ``collapse`` this body is the whole search; with
    it, this body reads the stream of matching articles (ids and story ids only) and the
    facets, and ``build_story_query`` fetches the stories. Raises ``ValueError`` for an
    unknown filter field.
    """
    body: dict[str, Any] = {
        "query": _query(req),
        "track_total_hits": True,
        "sort": _sort(req),
        "aggs": _aggs(req),
    }
    if req.collapse:
        body["size"] = _stream_batch(req)
        body["_source"] = False
        body["docvalue_fields"] = ["story_id"]
    else:
        # One more than asked tells whether there is a next page.
        body["size"] = req.size + 1
        body["_source"] = list(_HIT_SOURCE)
        body["highlight"] = _highlight(req)
    if req.search_after is not None:
        body["search_after"] = list(req.search_after)
    if req.timeout:
        body["timeout"] = req.timeout
    return body


def build_story_query(req: SearchRequest, story_ids: list[str]) -> dict[str, Any]:
    """The best matching article of each of ``story_ids``, in the request's order (their other
    articles come from ``build_others_query``)."""
    query = _query(req)
    query["bool"]["filter"].append({"terms": {"story_id": story_ids}})
    body: dict[str, Any] = {
        "query": query,
        "size": len(story_ids),
        "track_total_hits": False,
        "sort": _sort(req),
        "_source": list(_HIT_SOURCE),
        "highlight": _highlight(req),
        "collapse": {"field": "story_id"},
    }
    if req.timeout:
        body["timeout"] = req.timeout
    return body


def build_page_query(req: SearchRequest) -> dict[str, Any]:
    """A whole first collapsed page (no cursor) in one request: the best article of each of the
    first ``size`` stories (one more tells whether a next page exists), highlighted, with the
    facets, story count and histogram of every matching article.

    Without a cursor, the stories in the order of their best article are exactly the stories
    in the order they are first met in the stream, so this is the page the rounds of
    ``StoryPage`` would put together, read in one go."""
    body = build_query(replace(req, collapse=False, search_after=None))
    body["collapse"] = {"field": "story_id"}
    # The story count and histogram come from build_counts_query, run alongside.
    body["aggs"].pop("_stories", None)
    body["aggs"].pop("_histogram", None)
    return body


def build_counts_query(req: SearchRequest) -> dict[str, Any]:
    """The story count and the histogram of a first collapsed page (``count_stories``,
    ``histogram``): aggregations over every matching article, sent at the same time as
    ``build_page_query`` so that a second core works on them."""
    body: dict[str, Any] = {
        "size": 0,
        "track_total_hits": False,
        "query": _query(req),
        "aggs": _aggs(replace(req, facets=())),
    }
    if req.timeout:
        body["timeout"] = req.timeout
    return body


def build_others_query(req: SearchRequest, story_ids: list[str]) -> dict[str, Any]:
    """How many articles of each of ``story_ids`` match the request, and the latest
    ``others_size + 1`` of them (the best one may be among them): a terms aggregation on
    ``story_id`` limited to those stories, with ``top_hits``. Matching needs no scores, so
    the query runs as a filter."""
    query = _query(req)
    query["bool"]["filter"].append({"terms": {"story_id": story_ids}})
    body: dict[str, Any] = {
        "size": 0,
        "track_total_hits": False,
        "query": {"constant_score": {"filter": query}},
        "aggs": {
            "_others": {
                # include restricts the buckets to these stories on every shard: exact counts.
                "terms": {"field": "story_id", "include": story_ids, "size": len(story_ids)},
                "aggs": {
                    "latest": {
                        "top_hits": {
                            "size": req.others_size + 1,
                            "sort": [_PUBLISHED_DESC, _TIEBREAK],
                            "_source": list(_OTHER_SOURCE),
                        }
                    }
                },
            }
        },
    }
    if req.timeout:
        body["timeout"] = req.timeout
    return body


def parse_others(resp: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Story id -> its bucket in the answer to ``build_others_query`` (empty for None)."""
    if resp is None:
        return {}
    return {b["key"]: b for b in resp.get("aggregations", {}).get("_others", {}).get("buckets", [])}


def _snippet(raw: dict[str, Any], req_html: bool) -> tuple[str, str]:
    src = raw["_source"]
    found = raw.get("highlight", {})
    body = found.get("body")
    title = found.get("title")
    if body:
        snippet = body[0]
    else:
        snippet = src.get("body", "")[:SNIPPET_CHARS]
        snippet = html.escape(snippet, quote=False) if req_html else snippet
    title_html = title[0] if title else html.escape(src.get("title") or "", quote=False)
    return snippet, title_html


def _story_key(raw: dict[str, Any]) -> str:
    """The story of a hit with ``_source``: its story_id, or the article itself without one."""
    return str(raw["_source"].get("story_id") or raw["_id"])


def _hit(
    raw: dict[str, Any], req_html: bool = False, others: dict[str, dict[str, Any]] | None = None
) -> Hit:
    """A hit from a raw search hit; ``others`` (from ``parse_others``) folds in the other
    matching articles of its story."""
    src = raw["_source"]
    snippet, title_html = _snippet(raw, req_html)
    folded: list[OtherArticle] = []
    other_count = 0
    bucket = (others or {}).get(_story_key(raw))
    if bucket:
        other_count = max(0, bucket["doc_count"] - 1)
        for o in bucket["latest"]["hits"]["hits"]:
            if o["_id"] == raw["_id"]:
                continue
            s = o["_source"]
            folded.append(
                OtherArticle(
                    id=o["_id"],
                    url=s.get("url", ""),
                    title=s.get("title", ""),
                    source=s.get("source", ""),
                    published=s.get("published"),
                )
            )
    return Hit(
        id=raw["_id"],
        url=src.get("url", ""),
        title=src.get("title", ""),
        published=src.get("published"),
        source=src.get("source", ""),
        snippet=snippet,
        entities={t: src.get(t, []) for t in ENTITY_TYPES},
        title_html=title_html,
        authors=src.get("authors") or [],
        language=src.get("language"),
        section=src.get("section"),
        story_id=src.get("story_id"),
        other_count=other_count,
        others=folded[: max(0, other_count)],
    )


def _facets(req: SearchRequest, resp: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    aggs = resp.get("aggregations", {})
    return {
        # A boolean field's buckets are keyed 1/0, with "true"/"false" as key_as_string.
        name: [
            {"value": str(b.get("key_as_string", b["key"])), "count": b["doc_count"]}
            for b in aggs[name]["buckets"]
        ]
        for name in req.facets
        if name in aggs
    }


# Weeks: a readable number of bars for the months a news index usually spans.
SEARCH_HISTOGRAM_INTERVAL = "week"


def _histogram(resp: dict[str, Any]) -> dict[str, Any] | None:
    agg = resp.get("aggregations", {}).get("_histogram")
    if agg is None:
        return None
    buckets = [{"date": b["key_as_string"], "count": b["doc_count"]} for b in agg["buckets"]]
    return {"interval": SEARCH_HISTOGRAM_INTERVAL, "buckets": buckets}


def _stories(resp: dict[str, Any]) -> int | None:
    agg = resp.get("aggregations", {}).get("_stories")
    return agg["value"] if agg else None


def page_stories(req: SearchRequest, resp: dict[str, Any]) -> list[str]:
    """The stories a first collapsed page shows, from the answer to ``build_page_query``: the
    ones to ask ``build_others_query`` about."""
    return [_story_key(h) for h in resp["hits"]["hits"][: req.size]]


def parse_result(
    req: SearchRequest,
    resp: dict[str, Any],
    others: dict[str, Any] | None = None,
    counts: dict[str, Any] | None = None,
) -> SearchResult:
    """A page from the answer to ``build_query`` (uncollapsed) or to ``build_page_query`` with
    ``others`` and ``counts``, the answers to ``build_others_query`` and
    ``build_counts_query`` (a first collapsed page). Both ask for one hit more than the page
    holds: that one says whether there is a next page."""
    folded = parse_others(others)
    timed_out = bool(resp.get("timed_out")) or bool((counts or {}).get("timed_out"))
    if counts is not None:
        resp = {**resp, "aggregations": {**resp.get("aggregations", {}), **counts["aggregations"]}}
    raw = resp["hits"]["hits"]
    next_after = None
    if len(raw) > req.size:
        raw = raw[: req.size]
        next_after = tuple(raw[-1]["sort"])
    return SearchResult(
        total=resp["hits"]["total"]["value"],
        hits=[_hit(h, req.html, folded) for h in raw],
        facets=_facets(req, resp),
        stories=_stories(resp),
        next_after=next_after,
        timed_out=timed_out,
        histogram=_histogram(resp),
    )


def _story_of(raw: dict[str, Any]) -> str | None:
    values = raw.get("fields", {}).get("story_id")
    return values[0] if values else None


class StoryPage:
    """One collapsed page, put together round by round (see the module docstring for why it
    takes two queries a round). The caller runs ``stream_query``, hands the answer to
    ``read_stream``, runs ``build_story_query`` and ``build_others_query`` for the stories it
    returns (if any), hands those answers to ``read_stories``, and repeats until ``done``; then
    ``result()`` is the page. A first page (no cursor) needs no rounds: ``build_page_query``."""

    def __init__(self, req: SearchRequest) -> None:
        self.req = req
        self.hits: list[Hit] = []
        self.done = False
        self.timed_out = False
        self.next_after: tuple[Any, ...] | None = None
        self._batch = _stream_batch(req)
        self._after = req.search_after
        self._rounds = 0
        self._first: dict[str, Any] | None = None  # the first round's answer: total, facets
        self._seen: set[str] = set()  # stories met in the stream during this page
        self._stream: list[dict[str, Any]] = []
        self._candidates: list[tuple[str, dict[str, Any]]] = []

    def stream_query(self) -> dict[str, Any]:
        """The next stretch of the stream; only the first round counts the total and facets."""
        body = build_query(replace(self.req, search_after=self._after))
        if self._rounds:
            del body["aggs"]
            body["track_total_hits"] = False
        return body

    def read_stream(self, resp: dict[str, Any]) -> list[str]:
        """Take one stretch of the stream; returns the stories first seen in it, in order."""
        self._rounds += 1
        self._first = self._first or resp
        self.timed_out = self.timed_out or bool(resp.get("timed_out"))
        self._stream = resp["hits"]["hits"]
        self._candidates = []
        for raw in self._stream:
            story = _story_of(raw) or raw["_id"]
            if story not in self._seen:
                self._seen.add(story)
                self._candidates.append((story, raw))
        return [story for story, _ in self._candidates]

    def read_stories(
        self, resp: dict[str, Any] | None, others: dict[str, Any] | None = None
    ) -> None:
        """Take the answers to ``build_story_query`` and ``build_others_query`` for those
        stories (None when there were none): a story is shown only where its best article
        stands in the stream. The page is done when full, when the stream ran out, or after
        ``STREAM_MAX_ROUNDS`` rounds."""
        folded = parse_others(others)
        best: dict[str, dict[str, Any]] = {}
        if resp is not None:
            self.timed_out = self.timed_out or bool(resp.get("timed_out"))
            best = {h["_source"].get("story_id") or h["_id"]: h for h in resp["hits"]["hits"]}
        stream = self._stream
        for position, (story, raw) in enumerate(self._candidates):
            top = best.get(story)
            # Otherwise its best article lies before the cursor: an earlier page had it.
            if top is None or top["_id"] != raw["_id"]:
                continue
            self.hits.append(_hit(top, self.req.html, folded))
            if len(self.hits) == self.req.size:
                last_in_stream = raw is stream[-1] and len(stream) < self._batch
                rest = self._candidates[position + 1 :]
                if not (last_in_stream and not rest):
                    self.next_after = tuple(raw["sort"])
                self.done = True
                return
        if len(stream) < self._batch:  # the stream ran out
            self.done = True
            return
        self._after = tuple(stream[-1]["sort"])
        if self._rounds >= STREAM_MAX_ROUNDS:
            # Rounds used up on folded republications: a short page that continues here.
            self.next_after = self._after
            self.done = True

    def result(self) -> SearchResult:
        """The page; ``ValueError`` before any stretch of the stream was read."""
        first = self._first
        if first is None:
            raise ValueError("no stretch of the stream read yet")
        return SearchResult(
            total=first["hits"]["total"]["value"],
            hits=self.hits,
            facets=_facets(self.req, first),
            stories=_stories(first),
            next_after=self.next_after,
            timed_out=self.timed_out,
            histogram=_histogram(first),
        )


# --- cursors ---------------------------------------------------------------------------


def query_fingerprint(req: SearchRequest) -> str:
    """Short hash of what selects and orders the results (not the page size), so a cursor
    from one query is refused by another."""
    key = json.dumps(
        [
            _text(req),
            sorted((k, sorted(v)) for k, v in req.filters.items() if v),
            sorted(req.subjects),
            req.since.isoformat() if req.since else None,
            req.until.isoformat() if req.until else None,
            sort_mode(req),
            req.collapse,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def encode_cursor(req: SearchRequest, after: tuple[Any, ...]) -> str:
    """Opaque cursor: URL-safe base64 of JSON holding the sort values and the query's
    fingerprint."""
    data = {"v": _CURSOR_VERSION, "q": query_fingerprint(req), "a": list(after)}
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def decode_cursor(req: SearchRequest, cursor: str) -> tuple[Any, ...]:
    """Sort values of a cursor made by ``encode_cursor`` for this query; ``InvalidCursor``
    otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("the cursor is not one this API made") from exc
    if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION:
        raise InvalidCursor("the cursor is not one this API made")
    if data.get("q") != query_fingerprint(req):
        raise InvalidCursor("the cursor belongs to another query or sort")
    after = data.get("a")
    relevance = sort_mode(req) == "relevance"
    shape = (_is_number, _is_number, _is_text) if relevance else (_is_number, _is_text)
    if not isinstance(after, list) or len(after) != len(shape):
        raise InvalidCursor("the cursor is not one this API made")
    for value, kind in zip(after, shape, strict=True):
        if not kind(value):
            raise InvalidCursor("the cursor is not one this API made")
    # published is a date in epoch milliseconds; out-of-range values fail inside Elasticsearch.
    published = after[-2]
    if not (isinstance(published, int) and -(2**63) <= published < 2**63):
        raise InvalidCursor("the cursor is not one this API made")
    return tuple(after)


# --- entities --------------------------------------------------------------------------


def _fold_char(char: str) -> str:
    """One character of a Lucene regular expression matching ``char`` in either case."""
    lower, upper = char.lower(), char.upper()
    if char.isalnum():
        if lower != upper and len(lower) == 1 and len(upper) == 1:
            return f"[{lower}{upper}]"
        return char
    # Lucene's syntax: a backslash makes any character literal (letters and digits are not
    # escaped because \d, \w, \s are classes).
    return "\\" + char


def prefix_regex(prefix: str) -> str | None:
    """A Lucene regex (terms ``include``) for values with a word starting with ``prefix``,
    case-insensitively; None for an empty prefix."""
    prefix = prefix.strip()
    if not prefix:
        return None
    word_start = r"(.*[ \-'.(\"/])?"
    return word_start + "".join(_fold_char(c) for c in prefix) + ".*"


def build_suggest_query(
    prefix: str, types: tuple[str, ...] = ENTITY_TYPES, size: int = 10, timeout: str | None = None
) -> dict[str, Any]:
    """Facet values of ``types`` with a word starting with ``prefix``, most frequent first."""
    unknown = set(types) - set(ENTITY_TYPES)
    if unknown:
        raise ValueError(f"unknown entity type(s): {', '.join(sorted(unknown))}")
    include = prefix_regex(prefix[:MAX_PREFIX_CHARS])
    terms: dict[str, Any] = {"size": size}
    if include:
        terms["include"] = include
    body: dict[str, Any] = {
        "size": 0,
        "track_total_hits": False,
        "query": {"match_all": {}},
        "aggs": {t: {"terms": {"field": t, **terms}} for t in types},
    }
    if timeout:
        body["timeout"] = timeout
    return body


def parse_suggestions(
    resp: dict[str, Any], types: tuple[str, ...], size: int
) -> list[dict[str, Any]]:
    """``[{type, value, count}]`` from the answer to ``build_suggest_query``: the ``size`` most
    frequent values over ``types``."""
    found = [
        {"type": t, "value": b["key"], "count": b["doc_count"]}
        for t in types
        for b in resp["aggregations"][t]["buckets"]
    ]
    found.sort(key=lambda s: (-s["count"], s["value"], s["type"]))
    return found[:size]


# Widest span (days) each calendar interval is used for: at most about 100 buckets. The local
# test node has no auto_date_histogram (aggregations module), so the width is chosen here.
HISTOGRAM_INTERVALS = (("day", 90), ("week", 730), ("month", 3650), ("quarter", 9125))
_DAY_MS = 86_400_000


def histogram_interval(first_ms: float | None, last_ms: float | None) -> str | None:
    """Calendar interval for mentions published between two epoch-millisecond times."""
    if first_ms is None or last_ms is None:
        return None
    days = (last_ms - first_ms) / _DAY_MS
    return next((name for name, most in HISTOGRAM_INTERVALS if days <= most), "year")


def _entity_filter(entity_type: str, name: str) -> dict[str, Any]:
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"unknown entity type: {entity_type}")
    return {"bool": {"filter": [{"term": {entity_type: name}}]}}


def build_entity_query(
    entity_type: str, name: str, facet_size: int = 10, timeout: str | None = None
) -> dict[str, Any]:
    """Articles naming an entity: how many, the span of their dates and the entities named
    with them (never the entity itself)."""
    aggs: dict[str, Any] = {
        "first": {"min": {"field": DAY_FIELD}},
        "last": {"max": {"field": DAY_FIELD}},
    }
    for t in ENTITY_TYPES:
        terms: dict[str, Any] = {"field": t, "size": facet_size}
        if t == entity_type:
            terms["exclude"] = [name]
        aggs[t] = {"terms": terms}
    body: dict[str, Any] = {
        "size": 0,
        "track_total_hits": True,
        "query": _entity_filter(entity_type, name),
        "aggs": aggs,
    }
    if timeout:
        body["timeout"] = timeout
    return body


def build_mentions_query(
    entity_type: str, name: str, interval: str, timeout: str | None = None
) -> dict[str, Any]:
    """Articles naming an entity per ``interval`` of the publisher's day (empty buckets
    included)."""
    body: dict[str, Any] = {
        "size": 0,
        "track_total_hits": False,
        "query": _entity_filter(entity_type, name),
        "aggs": {
            "mentions": {
                "date_histogram": {
                    "field": DAY_FIELD,
                    "calendar_interval": interval,
                    "format": "yyyy-MM-dd",
                    "min_doc_count": 0,
                }
            }
        },
    }
    if timeout:
        body["timeout"] = timeout
    return body


def build_quotes_query(speaker: str, size: int = 10, timeout: str | None = None) -> dict[str, Any]:
    """The latest articles quoting ``speaker``, with the quotes as nested inner hits."""
    body: dict[str, Any] = {
        "size": size,
        "track_total_hits": False,
        "query": {
            "nested": {
                "path": "quotes",
                "query": {"term": {"quotes.speaker": speaker}},
                "inner_hits": {"size": 3, "_source": ["quotes.text", "quotes.speaker"]},
            }
        },
        "sort": [_PUBLISHED_DESC, _TIEBREAK],
        "_source": ["id", "url", "title", "published"],
    }
    if timeout:
        body["timeout"] = timeout
    return body


def mentions_interval(resp: dict[str, Any]) -> str | None:
    """The histogram interval for an entity, from the answer to ``build_entity_query``; None
    when no article naming it has a date (no mentions query then)."""
    aggs = resp["aggregations"]
    return histogram_interval(aggs["first"]["value"], aggs["last"]["value"])


def wants_quotes(entity_type: str, resp: dict[str, Any], quotes: int) -> bool:
    """Whether to run ``build_quotes_query``: only people are quoted, and only when some
    article names them."""
    return entity_type == "person" and bool(resp["hits"]["total"]["value"]) and quotes > 0


def parse_entity_profile(
    entity_type: str,
    name: str,
    resp: dict[str, Any],
    mentions: dict[str, Any] | None = None,
    said: dict[str, Any] | None = None,
    quotes: int = 10,
) -> dict[str, Any]:
    """``{type, name, articles, interval, mentions, co_occurring, quotes}`` for one entity from
    the answers to ``build_entity_query``, ``build_mentions_query`` and ``build_quotes_query``
    (None: not asked).

    ``quotes`` are read from the nested ``quotes`` field (filled by the enrich step's quote
    extraction, speakers as canonical person names).
    """
    aggs = resp["aggregations"]
    found_mentions: list[dict[str, Any]] = []
    if mentions is not None:
        found_mentions = [
            {"date": b["key_as_string"], "count": b["doc_count"]}
            for b in mentions["aggregations"]["mentions"]["buckets"]
        ]
    found_quotes: list[dict[str, Any]] = []
    for hit in said["hits"]["hits"] if said is not None else []:
        src = hit["_source"]
        for inner in hit["inner_hits"]["quotes"]["hits"]["hits"]:
            quote = inner["_source"]
            found_quotes.append(
                {
                    "text": quote.get("text", ""),
                    "speaker": quote.get("speaker", name),
                    "article_id": hit["_id"],
                    "url": src.get("url", ""),
                    "title": src.get("title", ""),
                    "published": src.get("published"),
                }
            )
    return {
        "type": entity_type,
        "name": name,
        "articles": resp["hits"]["total"]["value"],
        "interval": mentions_interval(resp),
        "mentions": found_mentions,
        "co_occurring": {
            t: [{"value": b["key"], "count": b["doc_count"]} for b in aggs[t]["buckets"]]
            for t in ENTITY_TYPES
        },
        "quotes": found_quotes[:quotes],
    }


# Pipeline bookkeeping left out of a stored article as the API returns it.
ARTICLE_EXCLUDES = (
    "content_hash",
    "run_id",
    "enrich_note",
    "enrichment_version",
    "story_bands",  # clustering keys, not content
    "story_signature",
)
