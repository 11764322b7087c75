"""The search API: FastAPI over the articles alias, built by ``create_app``.

The query logic lives in ``newsflow.search`` (pure builders and parsers, shared with the CLI)
and ``newsflow.store.search`` runs it against the cluster; this module only validates
parameters, maps results onto the response models and turns failures into answers that say
what the client can do, with a request id and never Elasticsearch's text.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import replace
from datetime import date
from typing import Annotated, Any, Literal

from elasticsearch import ApiError, ConnectionTimeout, Elasticsearch, TransportError
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BeforeValidator, StringConstraints
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsflow import search as core
from newsflow.api.models import (
    ArticleResponse,
    EntityResponse,
    EntityType,
    ErrorResponse,
    FacetField,
    HealthResponse,
    SearchResponse,
    Suggestion,
    SuggestionsResponse,
)
from newsflow.resources import STATIC_DIR
from newsflow.settings import Settings
from newsflow.store import search as store
from newsflow.store.client import explain_error, make_client

log = logging.getLogger("newsflow.api")

MAX_CURSOR_CHARS = 2048
MAX_VALUES_PER_FILTER = 20
MAX_NAME_CHARS = 256
MAX_ID_CHARS = 512
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date_only(value: Any) -> Any:
    # pydantic would also take "1700000000" (a timestamp) as a date; a date here is YYYY-MM-DD.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("must be a date like 2026-10-01")
    return value


IsoDate = Annotated[date, BeforeValidator(_date_only)]
FacetValue = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS)]
FacetValues = Annotated[
    list[FacetValue] | None,
    Query(max_length=MAX_VALUES_PER_FILTER, description="Exact facet value; repeat for AND."),
]

DESCRIPTION = """\
Full-text and faceted search over the news articles that the newsflow pipeline indexed.

* `GET /search`: text, filters, facets, highlighted snippets, one result per story, cursor paging.
* `GET /entities`: facet values by prefix, for autocomplete.
* `GET /entities/{type}/{name}`: one entity's mentions over time, co-occurring entities and
  quotes (the quotes list is empty today: no pipeline step extracts quotes yet).
* `GET /articles/{id}`: one whole article.
* `GET /health`: cluster health, alias and document count.

Every answer has an `X-Request-ID` header; errors carry the same id in their body, and the
server log has the details under it.
"""


class ApiProblem(Exception):
    """An answer other than 2xx that the client can act on: status, code and message."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    meanings = {
        400: "A bad cursor (changed, or from another query).",
        404: "Nothing with that name or id.",
        422: "Invalid parameters; `details` names them.",
        502: "Elasticsearch refused the request (details in the server log).",
        503: "Elasticsearch or the index is unavailable.",
        504: "Elasticsearch did not answer in time.",
    }
    return {s: {"model": ErrorResponse, "description": meanings[s]} for s in statuses}


class RequestIdMiddleware:
    """Gives every request an id (a sane incoming X-Request-ID is kept, so a proxy's id
    carries through) and returns it in the X-Request-ID header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


def _request_id(request: Request) -> str:
    request_id = getattr(request.state, "request_id", None)
    if request_id is None:  # only when the middleware did not run (it always does)
        request_id = request.state.request_id = uuid.uuid4().hex
    return request_id


def _error(
    request: Request, status: int, error: str, message: str, details: list | None = None
) -> JSONResponse:
    body = ErrorResponse(
        error=error, message=message, request_id=_request_id(request), details=details
    )
    return JSONResponse(body.model_dump(), status_code=status)


def _where(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.method} {request.url.path}{query}"


def _backend_failure(exc: Exception) -> tuple[int, str, str]:
    """Status, code and generic message for an Elasticsearch failure."""
    if isinstance(exc, ConnectionTimeout):
        return 504, "timeout", "The search backend did not answer in time; try again."
    if isinstance(exc, ApiError):
        if exc.status_code == 404:  # the alias is missing: nothing indexed yet
            return 503, "unavailable", "The article index is not available."
        if exc.status_code in (429, 503):
            return 503, "unavailable", "The search backend is busy; try again shortly."
        return 502, "backend_error", "The search backend could not answer this request."
    return 503, "unavailable", "The search backend is not reachable."


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return _error(request, exc.status, exc.error, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # loc and msg only: echoing the input could reflect megabytes back.
        details = [
            {"loc": [str(p) if not isinstance(p, int) else p for p in e["loc"]], "msg": e["msg"]}
            for e in exc.errors()
        ]
        names = ", ".join(sorted({str(d["loc"][-1]) for d in details if d["loc"]}))
        return _error(request, 422, "validation_error", f"Invalid parameter(s): {names}.", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        message = {404: "Not found.", 405: "Method not allowed."}.get(
            exc.status_code, "Request failed."
        )
        response = _error(request, exc.status_code, codes.get(exc.status_code, "error"), message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(TransportError)
    @app.exception_handler(ApiError)
    async def backend(request: Request, exc: Exception) -> JSONResponse:
        status, error, message = _backend_failure(exc)
        request_id = _request_id(request)
        # The whole story goes to the log, keyed by the request id the client was given; a
        # traceback only where Elasticsearch refused a request (a bug here, not an outage).
        log.error(
            "elasticsearch call failed (request_id=%s, %s) -> %s: %s",
            request_id,
            _where(request),
            status,
            explain_error(exc),
            exc_info=exc if status == 502 else None,
        )
        return _error(request, status, error, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = _request_id(request)
        log.error("unhandled error (request_id=%s, %s)", request_id, _where(request), exc_info=exc)
        return _error(request, 500, "internal_error", "Internal error.")


def create_app(settings: Settings, client: Elasticsearch | None = None) -> FastAPI:
    """The API over ``settings.index``. ``client`` defaults to one built from the settings;
    either way every call gets the settings' request timeout (and no retry of a timed-out
    search, which would only multiply the wait)."""
    es = (client or make_client(settings)).options(
        request_timeout=settings.es_request_timeout, retry_on_timeout=False
    )
    alias = settings.index
    # Elasticsearch stops searching a little before the client gives up, so a slow query
    # returns partial results (timed_out) rather than a timeout error.
    search_timeout = f"{max(100, int(settings.es_request_timeout * 800))}ms"

    app = FastAPI(
        title="newsflow search API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "search", "description": "Articles and stories."},
            {"name": "entities", "description": "People, organizations, places... as facets."},
            {"name": "operations", "description": "Is it working?"},
        ],
    )
    app.add_middleware(RequestIdMiddleware)
    _install_error_handlers(app)

    @app.get(
        "/search",
        response_model=SearchResponse,
        tags=["search"],
        summary="Search articles, one result per story",
        responses=_errors(400, 422, 502, 503, 504),
    )
    def search(
        q: Annotated[
            str,
            Query(
                max_length=core.MAX_QUERY_CHARS,
                description='Free text: words (all must match), "phrases", -exclusions, a | b, '
                "trailing wildcard word*. Any text is safe; nothing is a syntax error.",
            ),
        ] = "",
        person: FacetValues = None,
        organization: FacetValues = None,
        location: FacetValues = None,
        group: FacetValues = None,
        event: FacetValues = None,
        product: FacetValues = None,
        source: FacetValues = None,
        language: FacetValues = None,
        author: FacetValues = None,
        section: FacetValues = None,
        free_access: Annotated[
            Literal["true", "false"] | None,
            Query(
                description="true: articles readable without paying; false: behind a paywall "
                "(metered or locked); articles whose page does not say match neither."
            ),
        ] = None,
        subject: Annotated[
            list[FacetValue] | None,
            Query(
                max_length=MAX_VALUES_PER_FILTER,
                description="Only articles mainly about this entity (named at least twice, or "
                "in the headline and first lines).",
            ),
        ] = None,
        since: Annotated[
            IsoDate | None,
            Query(description="Published on or after this day (YYYY-MM-DD), the publisher's own."),
        ] = None,
        until: Annotated[
            IsoDate | None,
            Query(description="Published on or before this day (YYYY-MM-DD), the publisher's own."),
        ] = None,
        sort: Annotated[
            Literal["relevance", "date"],
            Query(description="relevance (newest first when there is no q) or date."),
        ] = "relevance",
        collapse: Annotated[
            bool, Query(description="One result per story; other sources folded in.")
        ] = True,
        facet: Annotated[
            list[FacetField] | None,
            Query(
                description="Facet fields to count (repeatable); all eleven when omitted. The "
                "others come back as empty lists."
            ),
        ] = None,
        size: Annotated[
            int, Query(ge=1, le=core.MAX_PAGE_SIZE, description="Results per page.")
        ] = 10,
        cursor: Annotated[
            str | None,
            Query(
                max_length=MAX_CURSOR_CHARS,
                pattern=r"^[A-Za-z0-9_-]+$",
                description="next_cursor of the previous page, as is (400 for any other value).",
            ),
        ] = None,
    ) -> SearchResponse:
        """Text query, filters (AND), facet counts for the whole result set, highlighted
        snippets and `search_after` cursor paging. With `collapse` (the default) the
        republications of a story are folded into its best-matching article
        (`other_count`, `others`)."""
        filters = {
            "person": person,
            "organization": organization,
            "location": location,
            "group": group,
            "event": event,
            "product": product,
            "source": source,
            "language": language,
            "authors": author,
            "section": section,
            "free_access": [str(free_access)] if free_access else None,
        }
        request = core.SearchRequest(
            query=q,
            filters={k: v for k, v in filters.items() if v},
            subjects=subject or [],
            since=since,
            until=until,
            size=size,
            sort=sort,
            collapse=collapse,
            # In the documented order, whatever order they were asked in.
            facets=tuple(f for f in core.ALL_FACET_FIELDS if not facet or f in facet),
            count_stories=True,
            histogram=True,
            html=True,
            timeout=search_timeout,
        )
        if cursor is not None:
            try:
                request = replace(request, search_after=core.decode_cursor(request, cursor))
            except core.InvalidCursor as exc:
                raise ApiProblem(400, "bad_cursor", str(exc)) from exc
        result = store.search(es, alias, request)
        return SearchResponse.model_validate(
            {
                **result.as_dict(),
                "facets": {f: result.facets.get(f, []) for f in core.ALL_FACET_FIELDS},
                "stories": result.stories or 0,
                "next_cursor": core.encode_cursor(request, result.next_after)
                if result.next_after is not None
                else None,
            }
        )

    @app.get(
        "/articles/{article_id}",
        response_model=ArticleResponse,
        tags=["search"],
        summary="One article",
        responses=_errors(404, 422, 502, 503, 504),
    )
    def article(
        article_id: Annotated[str, PathParam(min_length=1, max_length=MAX_ID_CHARS)],
    ) -> ArticleResponse:
        """The whole stored article; 404 when there is none with this id."""
        doc = store.get_article(es, alias, article_id)
        if doc is None:
            raise ApiProblem(404, "not_found", "No article with this id.")
        return ArticleResponse.model_validate(_article(doc))

    @app.get(
        "/entities",
        response_model=SuggestionsResponse,
        tags=["entities"],
        summary="Facet values by prefix (autocomplete)",
        responses=_errors(422, 502, 503, 504),
    )
    def entities(
        prefix: Annotated[
            str,
            Query(
                max_length=core.MAX_PREFIX_CHARS,
                description="Start of any word of the value, any case; empty: the most "
                "frequent values.",
            ),
        ] = "",
        entity_type: Annotated[
            EntityType | None, Query(alias="type", description="One type; all six if omitted.")
        ] = None,
        size: Annotated[int, Query(ge=1, le=core.MAX_PAGE_SIZE)] = 10,
    ) -> SuggestionsResponse:
        """Entity names that start (at a word) with `prefix`, most frequent first."""
        types = (entity_type,) if entity_type else core.ENTITY_TYPES
        found = store.suggest_entities(es, alias, prefix, types, size, search_timeout)
        suggestions = [Suggestion.model_validate(item) for item in found]
        return SuggestionsResponse(prefix=prefix, type=entity_type, suggestions=suggestions)

    @app.get(
        "/entities/{entity_type}/{name}",
        response_model=EntityResponse,
        tags=["entities"],
        summary="One entity: mentions over time, co-occurring entities, quotes",
        responses=_errors(404, 422, 502, 503, 504),
    )
    def entity(
        entity_type: Annotated[EntityType, PathParam(description="The entity's facet.")],
        name: Annotated[
            str,
            PathParam(min_length=1, max_length=MAX_NAME_CHARS, description="Exact facet value."),
        ],
    ) -> EntityResponse:
        """Articles per date bucket, the entities most often named alongside, and the latest
        quotes by the person. **Quotes are an empty list today**: the `quotes` field exists in
        the mapping, but no pipeline step extracts quotes yet. 404 when no article names the
        entity."""
        profile = store.entity_profile(es, alias, entity_type, name, timeout=search_timeout)
        if not profile["articles"]:
            raise ApiProblem(404, "not_found", f"No article names this {entity_type}.")
        return EntityResponse.model_validate(profile)

    @app.get(
        "/health",
        response_model=HealthResponse,
        tags=["operations"],
        summary="Cluster health, alias and document count",
        responses={503: {"model": HealthResponse, "description": "Not ready to search."}},
    )
    def health(request: Request) -> Any:
        """200 when the cluster answers, is not red and the alias exists; 503 otherwise."""
        request_id = _request_id(request)
        try:
            found = store.alias_health(es, alias)
        except (ApiError, TransportError) as exc:
            log.error("health check failed (request_id=%s): %s", request_id, explain_error(exc))
            body = HealthResponse(
                status="unavailable",
                cluster=None,
                alias=alias,
                alias_exists=None,
                documents=None,
                request_id=request_id,
                message="Elasticsearch does not answer.",
            )
            return JSONResponse(body.model_dump(), status_code=503)
        body = HealthResponse(
            status="ok" if found.ok else "unavailable",
            cluster=found.cluster,
            alias=alias,
            alias_exists=found.alias_exists,
            documents=found.documents,
            request_id=request_id,
            message=None
            if found.ok
            else ("The cluster is red." if found.alias_exists else "The alias does not exist."),
        )
        return JSONResponse(body.model_dump(), status_code=200 if found.ok else 503)

    # Last, so the API routes win over files of the same name.
    if STATIC_DIR.is_dir():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    return app


def _article(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document in the ArticleResponse shape (older documents may lack fields)."""
    return {
        "id": doc["id"],
        "url": doc.get("url") or "",
        "canonical_url": doc.get("canonical_url"),
        "title": doc.get("title") or "",
        "description": doc.get("description"),
        "body": doc.get("body") or "",
        "authors": doc.get("authors") or [],
        "published": doc.get("published"),
        "published_day": doc.get("published_day"),
        "free_access": doc.get("free_access"),
        "fetched_at": doc.get("fetched_at"),
        "indexed_at": doc.get("indexed_at"),
        "site_name": doc.get("site_name"),
        "source": doc.get("source"),
        "language": doc.get("language"),
        "section": doc.get("section"),
        "tags": doc.get("tags") or [],
        "image": doc.get("image"),
        "word_count": doc.get("word_count"),
        "story_id": doc.get("story_id"),
        "story_lead": doc.get("story_lead"),
        "entities": {t: doc.get(t) or [] for t in core.ENTITY_TYPES},
        "mentions": [
            {
                "name": m.get("name", ""),
                "type": m.get("type", ""),
                "count": m.get("count", 0),
                "first_offset": m.get("first_offset"),
            }
            for m in doc.get("entities") or []
        ],
        "quotes": [
            {"text": q.get("text", ""), "speaker": q.get("speaker")}
            for q in doc.get("quotes") or []
        ],
    }
