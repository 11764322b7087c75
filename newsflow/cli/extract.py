"""``newsflow extract``: what the pipeline makes of a page, without indexing it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from newsflow.cli.common import load_settings, out

# The document fields an extract record shows, in this order; entities are grouped by type.
_FIELDS = (
    "url",
    "canonical_url",
    "title",
    "body",
    "authors",
    "published",
    "site_name",
    "language",
)


def _record(document: dict[str, Any]) -> dict[str, Any]:
    """The fields of an index document a person reads, entities grouped by type."""
    entities: dict[str, list[dict[str, Any]]] = {}
    for ent in document["entities"]:
        entities.setdefault(ent["type"], []).append({"name": ent["name"], "count": ent["count"]})
    record = {name: document[name] for name in _FIELDS}
    record |= {"entities": entities, "quotes": document["quotes"]}
    record |= {k: document[k] for k in ("story_id", "story_lead", "story_bands")}
    return record


def _print_record(record: dict[str, Any]) -> None:
    out.print(f"[bold]{record['title']}[/bold] ({record['url']})")
    out.print(
        f"  {record['published'] or 'undated'} · {record['site_name']} · "
        f"{record['language']} · by {', '.join(record['authors']) or 'unknown'}"
    )
    for etype, ents in record["entities"].items():
        out.print(f"  {etype}: " + ", ".join(f"{x['name']} ({x['count']})" for x in ents))
    for q in record["quotes"]:
        out.print(f"  quote: {escape(q['speaker'] or 'unnamed')}: “{escape(q['text'])}”")
    lead = " (lead)" if record["story_lead"] else ""
    out.print(f"  story: {record['story_id']}{lead}")
    out.print(f"  {record['body'][:300]}…\n")


def extract(
    inputs: Annotated[list[str], typer.Argument(help="HTML files or http(s) URLs.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per input line.")
    ] = False,
) -> None:
    """Clean and enrich pages without indexing them: what would the pipeline make of this page?"""
    from newsflow.options import fetch_options
    from newsflow.transforms.batch.transform import transform_pages, use_caches
    from newsflow.transforms.enrich.stories import StoryClusters, assign_documents
    from newsflow.transforms.fetch.download import fetch_pages

    settings = load_settings()
    # The gazetteer and the language model from their pickles in the cache directory (built
    # and kept there the first time).
    use_caches(settings.cache_dir)
    urls = [i if "://" in i else Path(i).resolve().as_uri() for i in inputs]
    # The same limits, politeness and address guard as a pipeline run.
    pages, failures = fetch_pages(urls, fetch_options(settings))
    # The transform the pipeline's workers run on a batch: clean, enrich, shape documents.
    result = transform_pages(
        pages,
        model_name=settings.spacy_model,
        min_body_chars=settings.min_body_chars,
        run_id="extract",
        aliases_path=settings.aliases_path,
        site_rules_path=settings.site_rules,
    )
    failed = {f.url: f for f in [*failures, *result.failures, *result.skips]}
    # Story fields as the pipeline computes them, the inputs clustered among themselves only.
    assign_documents(StoryClusters(), result.documents)
    documents = {doc["url"]: doc for doc in result.documents}
    for url in urls:
        if url in failed:
            f = failed[url]
            record: dict[str, Any] = {"url": url, "error": f.reason, "stage": f.stage}
        else:
            record = _record(documents[url])
        if as_json:
            print(json.dumps(record, ensure_ascii=False))
        elif "error" in record:
            out.print(f"[red]{url}[/red]: failed at {record['stage']}: {record['error']}")
        else:
            _print_record(record)
    if len(failed) == len(urls):
        raise typer.Exit(1)
