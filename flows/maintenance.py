"""The ``maintenance`` flow: dead-letter retry, stale re-enrichment, index stats. Daily.

Re-enrichment picks articles whose ``enrichment_version`` differs from the current one
(``transforms/versions.py``) and runs them through the batch pipeline: from the archived page
when there is one (``archive`` batches: clean + enrich, as a re-process), else from the text
already in the index (``index`` batches: enrich only). Wiring only.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from newsflow.flows import pipeline
from newsflow.flows.engine import flow
from newsflow.settings import Settings
from newsflow.store import articles, indices, load
from newsflow.store.archive import Archive, ArchiveError, ArchiveRecord
from newsflow.store.client import make_client
from newsflow.transforms import versions
from newsflow.transforms.batch.documents import article_from_document
from newsflow.transforms.models import Article, Failure


@task(name="retry-dead-letters", retries=2, retry_delay_seconds=[5, 20], cache_policy=NO_CACHE)
def retry_dead_letters_task(settings: Settings, run_id: str) -> load.LoadResult:
    return load.retry_dead_letters(make_client(settings), settings.index, run_id)


def reenrich_stale(run: pipeline.Run, limit: int | None) -> dict[str, int]:
    """Re-enrich stale articles, from the archive where possible; counts go into the run's."""
    settings = run.settings
    stale = articles.stale_documents(
        run.client,
        settings.index,
        versions.enrichment_version(settings.spacy_model, settings.aliases_path),
        limit,
    )
    archive = Archive(settings.effective_archive_url) if settings.archive_enabled else None
    records: list[ArchiveRecord] = []
    from_index: list[Article] = []
    for doc in stale:
        try:
            record = archive.get(doc["url"]) if archive is not None else None
        except ArchiveError as exc:
            run.logger.warning("%s: archive unreadable, using the index: %s", doc["url"], exc)
            record = None
        if record is not None:
            records.append(record)
            continue
        try:
            from_index.append(article_from_document(doc))
        except (KeyError, TypeError, ValueError) as exc:
            url = doc.get("url", doc.get("id", "?"))
            run.counts.failures.append(Failure(url, "enrich", f"bad document: {exc}"))
    run.counts.discovered += len(stale)
    size = settings.batch_size
    work = pipeline.batches("archive", records, size) + pipeline.batches("index", from_index, size)
    pipeline.process(run, work)
    return {"stale": len(stale), "from_archive": len(records), "from_index": len(from_index)}


@flow(
    name="maintenance",
    log_prints=False,
    task_runner=ThreadPoolTaskRunner(max_workers=4),
)
def maintenance(
    retry_dead_letters: bool = True,
    reenrich: bool = False,
    reenrich_limit: int | None = 10_000,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Retry dead letters, optionally re-enrich stale articles, and report index stats."""
    settings = settings or Settings()
    run = pipeline.open_run("maintenance", settings)
    client, counts = run.client, run.counts
    dead_letters: dict[str, int] = {}
    if retry_dead_letters:
        before = load.count_dead_letters(client, settings.index)
        retried = retry_dead_letters_task(settings, run.run_id)
        counts.indexed += retried.indexed
        counts.failures += retried.failures
        dead_letters = {
            "before": before,
            "indexed": retried.indexed,
            "rejected": len(retried.rejected),
            "left": load.count_dead_letters(client, settings.index),
        }
        # The re-enrichment below searches: it must see the documents the retry just loaded.
        load.refresh(client, settings.index)
    reenriched = reenrich_stale(run, reenrich_limit) if reenrich else {}
    load.refresh(client, settings.index)
    stats = indices.stats(client, settings.index)
    run.logger.info(
        "index %s: %d documents, %d dead letters, mapping version %s",
        settings.index,
        stats["documents"],
        stats["dead_letters"],
        stats["mapping_version"],
    )
    return pipeline.finish_run(run, dead_letters=dead_letters, reenriched=reenriched, stats=stats)
