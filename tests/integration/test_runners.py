"""The CPU stage on each task runner: the demo corpus (served on 127.0.0.1) gives the same
documents and facets with threads, Prefect's process pool and a 2-worker Dask cluster."""

from __future__ import annotations

import pytest
from distributed import Client, LocalCluster
from elasticsearch import Elasticsearch

from newsflow.cli import DEMO_CORPUS
from newsflow.corpus_server import page_urls
from newsflow.flows.ingest import ingest
from newsflow.flows.runners import dask_runner
from newsflow.settings import Settings
from tests.conftest import fresh_alias

pytestmark = pytest.mark.usefixtures("prefect_harness")

FACETS = ("person", "organization", "location")


def _documents(es: Elasticsearch, alias: str) -> dict[str, dict]:
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, size=500, source=["url", *FACETS])["hits"]["hits"]
    return {h["_id"]: {f: sorted(h["_source"].get(f) or []) for f in FACETS} for h in hits}


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


@pytest.fixture(scope="module")
def dask_cluster():
    # Started here rather than by the runner, so the test can ask the workers what they loaded.
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster


def test_dask_runner_gives_the_same_documents_and_facets_and_one_model_per_worker(
    thread_run, dask_cluster, base_settings, es_client, url_list
):
    threads_summary, threads_docs = thread_run
    assert threads_summary["indexed"] == len(threads_docs) >= 40
    with fresh_alias(es_client) as alias:
        settings = base_settings.model_copy(
            update={
                "index": alias,
                "task_runner": "dask",
                "dask_address": dask_cluster.scheduler_address,
                # Other batches than the thread run's, so none is answered from its cache.
                "batch_size": 16,
            }
        )
        summary = ingest([url_list], settings)
        docs = _documents(es_client, alias)
    assert summary["task_runner"] == "dask"
    assert (summary["transform_batches"], summary["transform_cache_hits"]) == (3, 0)
    assert summary["failures"] == threads_summary["failures"] == []
    assert docs.keys() == threads_docs.keys()
    assert docs == threads_docs  # same entity facets on every document
    with Client(dask_cluster) as client:
        loads = client.run(_model_loads, settings.spacy_model)
    # Three batches on two workers; each worker that ran one loaded the model exactly once.
    assert set(loads.values()) <= {0, 1} and sum(loads.values()) >= 1, loads


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
