"""The ``reprocess`` flow: clean, enrich and load again from the page archive, never the web.

After a better extractor or model (the versions in ``transforms/versions.py`` follow the code
and data that make the documents), ``newsflow reprocess`` reads archived pages and runs them
through the batch pipeline (``archive`` batches). Pages whose document already has the current
``pipeline_version`` of its page are left out unless ``force``, so an interrupted or
``--limit``-ed re-process continues where it stopped, and a site rule edited for one host
re-processes that host's pages only.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from newsflow.flows import pipeline
from newsflow.flows.engine import flow
from newsflow.settings import Settings
from newsflow.store import articles
from newsflow.store.archive import Archive, ArchiveRecord
from newsflow.transforms import versions


def parse_since(value: str | date | None) -> datetime | None:
    """``YYYY-MM-DD`` or an ISO date-time (UTC when naive); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"not a date or date-time: {value!r} (use YYYY-MM-DD)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def archive_batches(
    run: pipeline.Run, records: list[ArchiveRecord], *, force: bool
) -> list[pipeline.Batch]:
    """Batches of archived pages to process; without ``force``, those whose URL is indexed
    with the current pipeline version of its page (which names the site rule of the page's
    host) count as ``unchanged`` and are left out."""
    if not force and records:
        settings = run.settings
        by_version: dict[str, list[str]] = defaultdict(list)
        for r in records:
            version = versions.pipeline_version(
                settings.spacy_model,
                settings.aliases_path,
                settings.site_rules,
                r.final_url or r.url,
            )
            by_version[version].append(r.url)
        done: set[str] = set()
        for version, urls in by_version.items():
            done |= set(
                articles.indexed(run.client, settings.index, urls, pipeline_version=version)
            )
        run.counts.unchanged += sum(1 for r in records if r.url in done)
        records = [r for r in records if r.url not in done]
    return pipeline.batches("archive", records, run.settings.batch_size)


@flow(
    name="reprocess",
    log_prints=False,
    task_runner=ThreadPoolTaskRunner(max_workers=4),
)
def reprocess(
    since: str | None = None,
    source: str | None = None,
    limit: int | None = None,
    force: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Re-run clean and enrich on archived pages (fetched on or after ``since``, from host
    ``source``, at most ``limit`` of them, newest first) and load the documents; no web access.
    """
    settings = settings or Settings()
    run = pipeline.open_run("reprocess", settings)
    archive = Archive(settings.effective_archive_url)
    records = archive.records(since=parse_since(since), source=source, limit=limit)
    run.counts.discovered = len(records)
    run.logger.info(
        "reprocess %s: %d archived pages from %s into %s (%s), pipeline %s",
        run.run_id,
        len(records),
        archive.url,
        settings.index,
        run.concrete_index,
        versions.pipeline_version(settings.spacy_model, settings.aliases_path, settings.site_rules),
    )
    pipeline.process(run, archive_batches(run, records, force=force))
    return pipeline.finish_run(run)
