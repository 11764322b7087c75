"""``newsflow search``: full-text and faceted search of the alias, from the terminal."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from newsflow.cli.common import client, fail, load_settings, out
from newsflow.settings import Settings

if TYPE_CHECKING:
    from newsflow.search import SearchRequest, SearchResult


def run_search(settings: Settings, request: SearchRequest) -> SearchResult:
    """The request against the configured alias (the local node started when needed)."""
    from newsflow.store.search import search

    return search(client(settings), settings.index, request)


def print_result(result: SearchResult) -> None:
    """Hits with their snippets, then the facet counts."""
    out.print(f"[bold]{result.total}[/bold] articles")
    for hit in result.hits:
        out.print(f"\n[bold]{hit.title}[/bold]\n  {hit.url}")
        out.print(f"  {hit.published or 'undated'} · {hit.source}")
        snippet = hit.snippet.replace("<em>", "[reverse]").replace("</em>", "[/reverse]")
        out.print(f"  {snippet}")
    for name, buckets in result.facets.items():
        if buckets:
            values = ", ".join(f"{b['value']} ({b['count']})" for b in buckets)
            out.print(f"\n[bold]{name}[/bold]: {values}")


def search_cmd(
    query: Annotated[
        str, typer.Argument(help="Free text; quotes, +, | and - work as in simple_query_string.")
    ] = "",
    person: Annotated[
        list[str] | None, typer.Option(help="Only articles naming this person.")
    ] = None,
    organization: Annotated[
        list[str] | None, typer.Option(help="Only articles naming this organization.")
    ] = None,
    location: Annotated[
        list[str] | None, typer.Option(help="Only articles naming this location.")
    ] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only articles from this site.")] = None,
    language: Annotated[
        list[str] | None, typer.Option(help="Only articles in this language (ISO code).")
    ] = None,
    subject: Annotated[
        list[str] | None,
        typer.Option(help="Only articles mainly about this entity (named twice, or early)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Published on or after this day (YYYY-MM-DD), the publisher's own."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Published on or before this day (YYYY-MM-DD), the publisher's own."),
    ] = None,
    size: Annotated[int, typer.Option(min=1, max=100, help="Hits to show.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Search the index: hits with highlighted snippets and facet counts."""
    settings = load_settings()
    try:
        since_d = date.fromisoformat(since) if since else None
        until_d = date.fromisoformat(until) if until else None
    except ValueError as exc:
        raise fail(f"--since/--until must be dates like 2026-11-01: {exc}", 2) from exc
    filters = {
        "person": person or [],
        "organization": organization or [],
        "location": location or [],
        "source": source or [],
        "language": language or [],
    }
    from newsflow.search import SearchRequest

    request = SearchRequest(
        query=query,
        filters={k: v for k, v in filters.items() if v},
        subjects=subject or [],
        since=since_d,
        until=until_d,
        size=size,
    )
    try:
        result = run_search(settings, request)
    except ValueError as exc:
        raise fail(str(exc), 2) from exc
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        print_result(result)
