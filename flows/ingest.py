"""The ``ingest`` flow: discover the sources, then run their pages through the batch pipeline.

URLs are fetched (``web`` batches), WARC captures go in hand (``warc`` batches); everything
else is the pipeline's (``flows/pipeline.py``). Feed and sitemap validators are saved only at
the end, so a crashed run reads its feeds and sitemaps in full again.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from newsflow.flows import pipeline, runners
from newsflow.flows.engine import flow
from newsflow.options import fetch_options
from newsflow.settings import Settings
from newsflow.store import state
from newsflow.store.client import make_client
from newsflow.transforms.fetch import download
from newsflow.transforms.sources.discover import Discovered, discover


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(source_list: list[str], settings: Settings) -> Discovered:
    """Expand the sources; feeds and sitemaps are downloaded conditionally and the URLs
    already indexed are left out (state read from the cluster)."""
    return discover(
        source_list,
        fetcher=download.fetch_resources,
        opts=fetch_options(settings),
        state=state.EsCrawlState(make_client(settings), settings.index),
        warc_max_bytes=settings.warc_max_bytes,
        defaults={
            "max_urls": settings.source_max_urls,
            "sitemap_depth": settings.sitemap_max_depth,
            "max_sitemaps": settings.sitemap_max_count,
        },
    )


@flow(
    name="ingest",
    log_prints=False,
    task_runner=ThreadPoolTaskRunner(max_workers=16),
)
def ingest(
    sources: list[str] | None = None, settings: Settings | None = None, backfill: bool = False
) -> dict[str, Any]:
    """Ingest sources (URL lists, feeds, sitemaps, WARC files, HTML directories, URLs) into
    the index; return the summary. ``backfill`` turns refreshes off for the run."""
    settings = settings or Settings()
    runners.steady_heap()
    run = pipeline.open_run("ingest", settings)
    found = discover_task(sources or settings.sources, settings)
    counts = run.counts
    counts.discovered = len(found.urls) + len(found.pages)
    counts.failures += found.failures
    counts.skips += found.duplicates
    run.logger.info(
        "run %s: %d URLs into %s (%s)",
        run.run_id,
        counts.discovered,
        settings.index,
        run.concrete_index,
    )
    size = settings.batch_size
    work = pipeline.batches("web", found.urls, size) + pipeline.batches("warc", found.pages, size)
    pipeline.process(run, work, backfill=backfill)
    state.EsCrawlState(run.client, settings.index).save(
        found.states_to_save(f.url for f in counts.failures if f.stage == "fetch")
    )
    return pipeline.finish_run(
        run,
        article_fetches=len(found.urls),
        from_warc=len(found.pages),
        already_indexed=len(found.already_indexed),
        not_modified=len(found.not_modified),
        sources=[report.as_dict() for report in found.sources],
    )
