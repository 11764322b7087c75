"""The ``backfill`` flow: load a date range from sitemaps, feeds, URL lists or WARC files,
resumably, with index refreshes off.

Discovery is the ingest flow's (``transforms/sources/discover.py``): sitemaps and feeds are
read, WARC files give their pages in hand, and URLs already indexed are left out. The date
range then keeps the sitemap URLs whose news publication date falls in it (URLs without one are
kept: nothing says they are outside) and the WARC captures whose ``WARC-Date`` does. Both go
through the batch pipeline in backfill mode (URLs fetched, captures archived, never fetched).
A killed backfill is started again with the same parameters and does only what is not indexed
yet. Wiring only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from newsflow.flows import pipeline
from newsflow.flows.engine import flow
from newsflow.flows.ingest import discover_task
from newsflow.flows.reprocess import parse_since
from newsflow.settings import Settings
from newsflow.store import articles


def date_range(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``[since, until]``; a plain date as ``until`` means the whole day."""
    low, high = parse_since(since), parse_since(until)
    if high is not None and until and len(until) == 10:
        high += timedelta(days=1) - timedelta(microseconds=1)
    return low, high


def in_range(
    moment: datetime | date | str | None, low: datetime | None, high: datetime | None
) -> bool:
    """Whether a moment lies in the range; an unknown or unreadable moment is kept."""
    try:
        when = parse_since(moment)
    except ValueError:
        return True
    if when is None:  # no moment, or an empty one
        return True
    return (low is None or when >= low) and (high is None or when <= high)


@flow(
    name="backfill",
    log_prints=False,
    task_runner=ThreadPoolTaskRunner(max_workers=16),
)
def backfill(
    sources: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Index what ``sources`` hold in ``[since, until]`` (YYYY-MM-DD) that the index lacks."""
    settings = settings or Settings()
    low, high = date_range(since, until)  # a bad date fails here, before any work
    run = pipeline.open_run("backfill", settings)
    counts = run.counts
    found = discover_task(sources or settings.sources, settings)
    counts.failures += found.failures
    counts.skips += found.duplicates
    already = len(found.already_indexed)
    hints = found.hints
    urls = [u for u in found.urls if in_range(hints.get(u, {}).get("published"), low, high)]
    pages = [p for p in found.pages if in_range(p.fetched_at, low, high)]
    outside = len(found.urls) - len(urls) + len(found.pages) - len(pages)
    # URL lists are not incremental in discovery; a resumed backfill must not refetch them.
    done = articles.indexed(run.client, settings.index, [*urls, *(p.url for p in pages)])
    urls = [u for u in urls if u not in done]
    pages = [p for p in pages if p.url not in done]
    already += len(done)
    counts.discovered = len(urls) + len(pages)
    run.logger.info(
        "backfill %s: %d URLs and %d WARC pages to load; %d already indexed, %d outside %s..%s",
        run.run_id,
        len(urls),
        len(pages),
        already,
        outside,
        since,
        until,
    )
    size = settings.batch_size
    work = pipeline.batches("web", urls, size) + pipeline.batches("warc", pages, size)
    pipeline.process(run, work, backfill=True)
    return pipeline.finish_run(run, already_indexed=already, outside_range=outside)
