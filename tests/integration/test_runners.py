"""The CPU stage on each task runner: the demo corpus (served on 127.0.0.1) gives the same
documents and facets with threads, Prefect's process pool and a Dask cluster of a scheduler and
two workers started as separate processes; a Dask worker killed in the middle of a run loses
nothing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from distributed import Client
from elasticsearch import Elasticsearch

from newsflow.cli import DEMO_CORPUS
from newsflow.corpus_server import page_urls
from newsflow.flows.ingest import ingest
from newsflow.flows.runners import dask_runner
from newsflow.settings import Settings
from tests.conftest import fresh_alias
from tests.dask_cluster import DaskCluster, dask_cluster

pytestmark = pytest.mark.usefixtures("prefect_harness")

FACETS = ("person", "organization", "location")
# What differs between two runs over the same pages: which run wrote a document, and when.
RUN_FIELDS = ("run_id", "indexed_at", "fetched_at")


def _documents(es: Elasticsearch, alias: str) -> dict[str, dict]:
    """Every indexed document by id, all fields but the run's own, facets sorted."""
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, size=500)["hits"]["hits"]
    documents = {}
    for hit in hits:
        source = {k: v for k, v in hit["_source"].items() if k not in RUN_FIELDS}
        for facet in FACETS:
            source[facet] = sorted(source.get(facet) or [])
        documents[hit["_id"]] = source
    return documents


@pytest.fixture(scope="module")
def url_list(site: str, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("runners") / "urls.txt"
    path.write_text("\n".join(page_urls(DEMO_CORPUS, site)) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def thread_run(base_settings: Settings, es_client: Elasticsearch, url_list: str, prefect_harness):
    with fresh_alias(es_client) as alias:
        settings = base_settings.model_copy(update={"index": alias, "task_runner": "workers"})
        summary = ingest([url_list], settings)
        yield summary, _documents(es_client, alias)


def test_dask_cluster_of_separate_processes_gives_the_same_documents_one_model_per_worker(
    thread_run, base_settings, es_client, url_list
):
    threads_summary, threads_docs = thread_run
    assert threads_summary["indexed"] == len(threads_docs) >= 40
    with dask_cluster(2) as cluster, fresh_alias(es_client) as alias:
        settings = base_settings.model_copy(
            update={
                "index": alias,
                "task_runner": "dask",
                "dask_address": cluster.address,
                # Other batches than the thread run's, so none is answered from its cache.
                "batch_size": 16,
            }
        )
        summary = ingest([url_list], settings)
        docs = _documents(es_client, alias)
        with Client(cluster.address) as client:
            loads = client.run(_model_loads, settings.spacy_model)
    assert summary["task_runner"] == "dask"
    assert (summary["transform_batches"], summary["transform_cache_hits"]) == (3, 0)
    assert (summary["dask_workers_lost"], summary["transform_rescheduled"]) == ([], 0)
    assert summary["failures"] == threads_summary["failures"] == []
    assert docs.keys() == threads_docs.keys()
    for doc_id, doc in docs.items():
        assert doc == threads_docs[doc_id], doc["url"]  # every field but the run's own
    # Three batches on two workers; each worker that ran one loaded the model exactly once.
    assert set(loads.values()) <= {0, 1} and sum(loads.values()) >= 1, loads


class _Progress(logging.Handler):
    """The pipeline's progress records (``batch <loaded>/<total>``): batches loaded so far."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded = self.total = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.loaded, self.total = record.args  # type: ignore[misc]


@contextmanager
def _progress() -> Iterator[_Progress]:
    logger, handler = logging.getLogger("newsflow.progress"), _Progress()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _executing(dask_worker: Any) -> list[str]:
    return [str(task.key) for task in dask_worker.state.executing]


def _kill_a_busy_worker(
    cluster: DaskCluster, flow: threading.Thread, timeout: float = 300
) -> tuple[str, str]:
    """Wait until a worker runs a transform batch, then kill it (nanny and worker process):
    its address and the batch's task key."""
    deadline = time.monotonic() + timeout
    with Client(cluster.address) as client:
        while time.monotonic() < deadline and flow.is_alive():
            for address, keys in client.run(_executing).items():
                batches = [key for key in keys if key.startswith("transform")]
                if batches:
                    cluster.kill_worker(client.scheduler_info()["workers"][address]["name"])
                    return address, batches[0]
            time.sleep(0.1)
    raise AssertionError("no Dask worker ran a transform batch while the flow ran")


def test_a_dask_worker_killed_mid_run_loses_nothing_and_the_summary_says_so(
    base_settings, es_client, url_list
):
    pages = len(page_urls(DEMO_CORPUS, "http://x"))
    outcome: dict[str, Any] = {}
    with dask_cluster(2) as cluster, fresh_alias(es_client) as alias, _progress() as progress:
        settings = base_settings.model_copy(
            update={
                "index": alias,
                "task_runner": "dask",
                "dask_address": cluster.address,
                # 12 batches (other sizes than the other tests', so none comes from the cache).
                "batch_size": 4,
            }
        )

        def run() -> None:
            try:
                outcome["summary"] = ingest([url_list], settings)
            except BaseException as exc:  # reported by the assertion below
                outcome["error"] = exc

        flow = threading.Thread(target=run, daemon=True)
        flow.start()
        victim, batch = _kill_a_busy_worker(cluster, flow)
        # In the middle of the run: most batches were still to be loaded when the worker died.
        loaded_at_kill, running_at_kill = progress.loaded, flow.is_alive()
        flow.join(timeout=420)
        assert not flow.is_alive(), "the run did not finish after the worker was killed"
        with Client(cluster.address) as client:
            events = [event for _, event in client.get_events("all")]
            alive = list(client.scheduler_info()["workers"])
        es_client.indices.refresh(index=alias)
        count = es_client.count(index=alias)["count"]
        urls = es_client.search(
            index=alias, size=0, aggs={"urls": {"cardinality": {"field": "url"}}}
        )["aggregations"]["urls"]["value"]
    assert "error" not in outcome, outcome.get("error")
    summary = outcome["summary"]
    assert running_at_kill and loaded_at_kill <= summary["transform_batches"] - 6, loaded_at_kill
    assert victim not in alive and len(alive) == 1
    # The scheduler saw the worker go while it ran the batch, and gave the batch to the other.
    removed = [e for e in events if e.get("action") == "remove-worker" and e["worker"] == victim]
    assert len(removed) == 1 and batch in removed[0]["processing-tasks"], removed
    assert summary["dask_workers_lost"] == [victim]
    assert 1 <= summary["transform_rescheduled"] <= len(removed[0]["processing-tasks"])
    # Every batch was transformed (none from a cache) and every article indexed once.
    assert (summary["transform_batches"], summary["transform_cache_hits"]) == (12, 0)
    assert summary["failures"] == [] and summary["unchanged"] == 0
    assert summary["indexed"] == count == urls == pages


def _model_loads(model_name: str) -> int:
    from newsflow.transforms.enrich.entities import load_model

    return load_model.cache_info().misses


def test_process_pool_runner_gives_the_same_documents_and_facets(
    thread_run, base_settings, es_client, url_list
):
    _, threads_docs = thread_run
    with fresh_alias(es_client) as alias:
        settings = base_settings.model_copy(
            update={"index": alias, "task_runner": "processes", "batch_size": 12}
        )
        summary = ingest([url_list], settings)
        docs = _documents(es_client, alias)
    assert summary["task_runner"] == "processes"
    assert summary["cpu_workers"] == min(base_settings.cpu_workers, 4)  # 46 pages, 4 batches
    # Batches of other tests over the same pages may be cached (the cache outlives a run);
    # most of these were not, so the process pool did the work.
    assert summary["transform_cache_hits"] < summary["transform_batches"] / 2
    assert summary["failures"] == []
    assert docs == threads_docs


def test_dask_runner_without_an_address_starts_a_local_cluster_of_single_thread_workers():
    runner = dask_runner(Settings(task_runner="dask", dask_workers=3))
    assert runner.resolved_cluster_class.__name__ == "LocalCluster"
    assert runner.cluster_kwargs["n_workers"] == 3
    assert runner.cluster_kwargs["threads_per_worker"] == 1
    assert dask_runner(Settings(task_runner="dask", dask_address="tcp://10.0.0.5:8786")).address
