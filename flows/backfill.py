"""The ``backfill`` flow: load a date range from URL sources or WARC files, resumably.

- URL sources (URL lists, directories, single URLs; sitemaps once discovery reads them) are
  discovered, the URLs already in the index are left out, and the rest goes through ``ingest``
  with refreshes off.
- WARC files are copied into the page archive (responses captured in ``[since, until]``), then
  processed from there like a re-process: the captures are never fetched again.

Resumable: a backfill that was killed is started again with the same parameters and only does
what is not indexed yet. Wiring only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from elasticsearch import Elasticsearch
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE

from flows.ingest import ingest
from flows.reprocess import finish_summary, parse_since, process_records
from newsflow.es import check_cluster, make_client
from newsflow.settings import Settings
from transforms import indices, load
from transforms.archive import Archive, ArchiveRecord, import_warc
from transforms.models import Failure, StageCounts
from transforms.sources import discover


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


@task(name="import-warc", cache_policy=NO_CACHE)
def import_warc_task(
    archive_url: str, path: str, since: str | None, until: str | None
) -> tuple[list[ArchiveRecord], list[Failure]]:
    # A plain date as ``until`` means the whole day.
    high = date.fromisoformat(until) if until and len(until) == 10 else parse_since(until)
    return import_warc(Archive(archive_url), path, since=parse_since(since), until=high)


@flow(name="backfill", log_prints=False)
def backfill(
    sources: list[str] | None = None,
    warc: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Index what ``sources`` and ``warc`` files hold that the index lacks; WARC captures
    outside ``[since, until]`` (YYYY-MM-DD) are left out."""
    settings = settings or Settings()
    logger = get_run_logger()
    run_id = uuid.uuid4().hex
    started = time.monotonic()
    counts = StageCounts()
    client = make_client(settings)
    check_cluster(client, settings.effective_es_url)
    concrete_index = indices.ensure_index(client, settings.index)
    for bound in (since, until):
        parse_since(bound)  # a bad date fails here, before any work

    found = discover(sources or []) if sources else None
    already = 0
    ingested: dict[str, Any] | None = None
    if found is not None:
        counts.failures += found.failures
        counts.skips += found.duplicates
        done = indexed_urls(client, settings.index, found.urls)
        todo = [u for u in found.urls if u not in done]
        already += len(done)
        logger.info("backfill %s: %d URLs, %d already indexed", run_id, len(found.urls), len(done))
        if todo:
            settings.state_dir.mkdir(parents=True, exist_ok=True)
            url_list = settings.state_dir / f"backfill-{run_id}.txt"
            url_list.write_text("\n".join(todo) + "\n", encoding="utf-8")
            try:
                ingested = ingest([str(url_list)], settings, backfill=True)
            finally:
                url_list.unlink(missing_ok=True)
            for name in ("discovered", "fetched", "cleaned", "enriched", "indexed", "unchanged"):
                setattr(counts, name, getattr(counts, name) + ingested[name])
            counts.failures += [Failure(**f) for f in ingested["failures"]]
            counts.skips += [Failure(**s) for s in ingested["skips"]]

    for path in warc or []:
        records, failures = import_warc_task(settings.effective_archive_url, path, since, until)
        counts.skips += [f for f in failures if f.reason.startswith("WARC:")]
        counts.failures += [f for f in failures if not f.reason.startswith("WARC:")]
        done = indexed_urls(client, settings.index, [r.url for r in records])
        todo = [r for r in records if r.url not in done]
        already += len(done)
        counts.discovered += len(records)
        logger.info(
            "backfill %s: %s holds %d pages, %d indexed", run_id, path, len(records), len(done)
        )
        with indices.backfill_mode(client, settings.index):
            process_records(todo, settings, run_id, counts, force=True)
    load.refresh(client, settings.index)
    return finish_summary(
        "backfill",
        counts,
        settings,
        run_id,
        started,
        concrete_index=concrete_index,
        already_indexed=already,
        ingest_run_id=ingested["run_id"] if ingested else None,
    )
