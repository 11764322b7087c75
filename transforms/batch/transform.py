"""Clean, enrich and shape one batch of pages into index documents: the CPU-bound part of the
pipeline, as one plain function so that it can run in a worker process."""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path

from newsflow.transforms.batch import spool
from newsflow.transforms.batch.documents import to_document
from newsflow.transforms.batch.results import Timer, TransformResult
from newsflow.transforms.batch.spool import SpooledPages
from newsflow.transforms.clean.extract import Skipped, clean_pages, load_language_model
from newsflow.transforms.clean.siterules import load_rules
from newsflow.transforms.enrich.entities import enrich_articles, gazetteer, load_model
from newsflow.transforms.enrich.quotes import ParserUnavailable, load_parser
from newsflow.transforms.models import Article, Failure, Page


def transform_pages(
    pages: list[Page],
    *,
    model_name: str,
    min_body_chars: int,
    run_id: str,
    aliases_path: str | Path | None = None,
    site_rules_path: str | Path | None = None,
) -> TransformResult:
    """Pages -> index documents (clean, then NER), with the failures of the clean step and
    the pages it skipped as not articles. ``aliases_path`` replaces ``mappings/aliases.json``,
    ``site_rules_path`` ``mappings/site_rules.yaml``."""
    timer = Timer()
    rules = load_rules(site_rules_path)
    articles, failures = clean_pages(pages, min_body_chars=min_body_chars, rules=rules)
    clean_time = timer.lap()
    skips: list[Failure] = [f for f in failures if isinstance(f, Skipped)]
    failures = [f for f in failures if not isinstance(f, Skipped)]
    enriched = transform_articles(
        articles,
        model_name=model_name,
        run_id=run_id,
        aliases_path=aliases_path,
        site_rules_path=site_rules_path,
    )
    return TransformResult(
        enriched.documents, failures, len(articles), {"clean": clean_time, **enriched.times}, skips
    )


def use_caches(cache_dir: str | Path | None) -> None:
    """Load what this process would otherwise parse again from the installed packages at its
    first page, from the pickles kept in ``cache_dir``: the gazetteer and the language model
    (seconds of every one-page command and every worker start; a no-op once loaded)."""
    gazetteer(cache_dir)
    load_language_model(cache_dir)


def warm_up(model_name: str, cache_dir: str | Path | None = None) -> None:
    """Make this process ready to transform batches: the NER model, the gazetteer and the
    language model (from their pickles in ``cache_dir`` when there is one) and the quote
    parser loaded once, before the first batch arrives."""
    load_model(model_name)
    use_caches(cache_dir)
    # A model without a parser still serves NER (the batch says so when it runs).
    with contextlib.suppress(ParserUnavailable, OSError):
        load_parser(model_name)
    # The models' ~200,000 Python objects live as long as the process: out of the collector's
    # generations, they are not walked again by every full collection (GC time per article
    # 1.3 -> 0.8 ms on the benchmark's pages).
    gc.collect()
    gc.freeze()


def transform_articles(
    articles: list[Article],
    *,
    model_name: str,
    run_id: str,
    aliases_path: str | Path | None = None,
    site_rules_path: str | Path | None = None,
) -> TransformResult:
    """Cleaned articles -> index documents (NER only): the second half of
    ``transform_pages``, and alone for re-enriching an article whose page was not archived
    (rebuilt from its indexed text)."""
    timer = Timer()
    enriched = enrich_articles(articles, model_name, aliases_path=aliases_path)
    documents = [
        to_document(
            item,
            run_id,
            model_name=model_name,
            aliases_path=aliases_path,
            site_rules_path=site_rules_path,
        )
        for item in enriched
    ]
    return TransformResult(documents, [], 0, {"enrich": timer.lap()})


def transform_batch(
    batch: list[Page] | SpooledPages | list[Article],
    *,
    model_name: str,
    min_body_chars: int,
    run_id: str,
    aliases_path: str | Path | None = None,
    site_rules_path: str | Path | None = None,
) -> TransformResult:
    """A batch given as pages, as a spool file of pages (read here) or as articles."""
    if spool.holds_articles(batch):
        return transform_articles(
            batch,
            model_name=model_name,
            run_id=run_id,
            aliases_path=aliases_path,
            site_rules_path=site_rules_path,
        )
    return transform_pages(
        spool.read(batch),
        model_name=model_name,
        min_body_chars=min_body_chars,
        run_id=run_id,
        aliases_path=aliases_path,
        site_rules_path=site_rules_path,
    )
