"""The ``backfill`` flow: load a date range from sitemaps, feeds, URL lists or WARC files,
resumably, with index refreshes off.

Discovery is the ingest flow's (``transforms/sources.py``): sitemaps and feeds are read,
WARC files give their pages in hand, and URLs already indexed are left out. The date range
then keeps the sitemap URLs whose news publication date falls in it (URLs without one are
kept: nothing says they are outside) and the WARC captures whose ``WARC-Date`` does. URLs
are fetched by ``ingest`` (as a subflow, backfill mode); WARC pages go into the page archive
and are processed from there, never fetched. A killed backfill is started again with the same
parameters and does only what is not indexed yet. Wiring only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE

from newsflow.flows.ingest import discover_task, ingest
from newsflow.flows.reprocess import finish_summary, parse_since, process_records
from newsflow.settings import Settings
from newsflow.store import indices, load
from newsflow.store.archive import Archive, ArchiveRecord
from newsflow.store.client import check_cluster, make_client
from newsflow.transforms.models import Failure, Page, StageCounts


def date_range(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``[since, until]``; a plain date as ``until`` means the whole day."""
    low, high = parse_since(since), parse_since(until)
    if high is not None and until and len(until) == 10:
        high += timedelta(days=1) - timedelta(microseconds=1)
    return low, high


def in_range(moment: datetime | date | str | None, low: datetime | None, high: datetime | None):
    """Whether a moment lies in the range; an unknown or unreadable moment is kept."""
    if not moment:
        return True
    try:
        moment = parse_since(moment)
    except ValueError:
        return True
    return (low is None or moment >= low) and (high is None or moment <= high)


def indexed_urls(client: Elasticsearch, alias: str, urls: Sequence[str]) -> set[str]:
    """Which of ``urls`` (as fetched, the ``url`` field) are in the index already."""
    found: set[str] = set()
    for i in range(0, len(urls), 1000):
        chunk = list(urls[i : i + 1000])
        resp = client.search(
            index=alias, size=len(chunk), source=["url"], query={"terms": {"url": chunk}}
        )
        found.update(hit["_source"]["url"] for hit in resp["hits"]["hits"])
    return found


@task(name="archive-pages", cache_policy=NO_CACHE)
def archive_pages_task(
    archive_url: str, pages: list[Page]
) -> tuple[list[ArchiveRecord], list[Failure]]:
    """Put pages in hand (WARC captures) into the archive; their records and failures."""
    archive = Archive(archive_url)
    result = archive.archive_pages(pages)
    failed = {f.url for f in result.failures}
    records = [archive.get(p.url) for p in pages if p.url not in failed]
    return [r for r in records if r is not None], result.failures


@flow(name="backfill", log_prints=False)
def backfill(
    sources: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Index what ``sources`` hold in ``[since, until]`` (YYYY-MM-DD) that the index lacks."""
    settings = settings or Settings()
    logger = get_run_logger()
    run_id = uuid.uuid4().hex
    started = time.monotonic()
    counts = StageCounts()
    low, high = date_range(since, until)  # a bad date fails here, before any work
    client = make_client(settings)
    check_cluster(client, settings.effective_es_url)
    concrete_index = indices.ensure_index(client, settings.index)

    found = discover_task(sources or settings.sources, settings)
    counts.failures += found.failures
    counts.skips += found.duplicates
    already = len(found.already_indexed)
    hints = found.hints
    urls = [u for u in found.urls if in_range(hints.get(u, {}).get("published"), low, high)]
    pages = [p for p in found.pages if in_range(p.fetched_at, low, high)]
    outside = len(found.urls) - len(urls) + len(found.pages) - len(pages)
    # URL lists are not incremental in discovery; a resumed backfill must not refetch them.
    done = indexed_urls(client, settings.index, [*urls, *(p.url for p in pages)])
    urls = [u for u in urls if u not in done]
    pages = [p for p in pages if p.url not in done]
    already += len(done)
    logger.info(
        "backfill %s: %d URLs and %d WARC pages to load; %d already indexed, %d outside %s..%s",
        run_id,
        len(urls),
        len(pages),
        already,
        outside,
        since,
        until,
    )

    ingested: dict[str, Any] | None = None
    if urls:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        url_list = settings.state_dir / f"backfill-{run_id}.txt"
        url_list.write_text("\n".join(urls) + "\n", encoding="utf-8")
        try:
            ingested = ingest([str(url_list)], settings, backfill=True)
        finally:
            url_list.unlink(missing_ok=True)
        for name in ("discovered", "fetched", "cleaned", "enriched", "indexed", "unchanged"):
            setattr(counts, name, getattr(counts, name) + ingested[name])
        counts.failures += [Failure(**f) for f in ingested["failures"]]
        counts.skips += [Failure(**s) for s in ingested["skips"]]
    if pages:
        records, failures = archive_pages_task(settings.effective_archive_url, pages)
        counts.discovered += len(pages)
        counts.failures += failures
        with indices.backfill_mode(client, settings.index):
            process_records(records, settings, run_id, counts, force=True)
    load.refresh(client, settings.index)
    return finish_summary(
        "backfill",
        counts,
        settings,
        run_id,
        started,
        concrete_index=concrete_index,
        already_indexed=already,
        outside_range=outside,
        ingest_run_id=ingested["run_id"] if ingested else None,
    )
