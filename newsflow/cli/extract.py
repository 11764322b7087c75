"""``newsflow extract``: what the pipeline makes of a page, without indexing it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from newsflow.cli.common import load_settings, out


def extract(
    inputs: Annotated[list[str], typer.Argument(help="HTML files or http(s) URLs.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per input line.")
    ] = False,
) -> None:
    """Clean and enrich pages without indexing them: what would the pipeline make of this page?"""
    from newsflow.flows.ingest import fetch_options
    from newsflow.transforms.clean.extract import clean_pages
    from newsflow.transforms.enrich.entities import enrich_articles
    from newsflow.transforms.fetch.download import fetch_pages

    settings = load_settings()
    urls = [i if "://" in i else Path(i).resolve().as_uri() for i in inputs]
    # The same limits, politeness and address guard as a pipeline run.
    pages, failures = fetch_pages(urls, fetch_options(settings))
    articles, clean_failures = clean_pages(pages, min_body_chars=settings.min_body_chars)
    failures += clean_failures
    enriched = {e.article.url: e for e in enrich_articles(articles, settings.spacy_model)}
    # Story fields as the pipeline computes them, the inputs clustered among themselves only.
    from newsflow.transforms.batch.documents import to_document
    from newsflow.transforms.enrich.stories import StoryClusters, assign_documents

    docs = {url: to_document(e, "extract") for url, e in enriched.items()}
    assign_documents(StoryClusters(), list(docs.values()))
    failed = {f.url: f for f in failures}
    for url in urls:
        if url in failed:
            f = failed[url]
            record: dict[str, Any] = {"url": url, "error": f.reason, "stage": f.stage}
        else:
            e = enriched[url]
            a = e.article
            entities: dict[str, list[dict[str, Any]]] = {}
            for ent in e.entities:
                entities.setdefault(ent.type, []).append({"name": ent.name, "count": ent.count})
            record = {
                "url": url,
                "canonical_url": a.canonical_url,
                "title": a.title,
                "body": a.body,
                "authors": a.authors,
                "published": a.published,
                "site_name": a.site_name,
                "language": a.language,
                "entities": entities,
                "quotes": [q.as_dict() for q in e.quotes],
                "story_id": docs[url]["story_id"],
                "story_lead": docs[url]["story_lead"],
                "story_bands": docs[url]["story_bands"],
            }
        if as_json:
            print(json.dumps(record, ensure_ascii=False))
        elif "error" in record:
            out.print(f"[red]{url}[/red]: failed at {record['stage']}: {record['error']}")
        else:
            out.print(f"[bold]{record['title']}[/bold] ({url})")
            out.print(
                f"  {record['published'] or 'undated'} · {record['site_name']} · "
                f"{record['language']} · by {', '.join(record['authors']) or 'unknown'}"
            )
            for etype, ents in record["entities"].items():
                out.print(f"  {etype}: " + ", ".join(f"{x['name']} ({x['count']})" for x in ents))
            for q in record["quotes"]:
                out.print(f"  quote: {escape(str(q['speaker']))}: “{escape(q['text'])}”")
            lead = " (lead)" if record["story_lead"] else ""
            out.print(f"  story: {record['story_id']}{lead}")
            out.print(f"  {record['body'][:300]}…\n")
    if len(failed) == len(urls):
        raise typer.Exit(1)
