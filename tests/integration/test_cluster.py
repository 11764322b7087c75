"""A local cluster of three nodes: a load survives the death of a node, searches keep
answering while it is down, and a migration keeps every document.

The module starts its own cluster (``es_local`` with ``local_es_nodes=3``: HTTP 9251-9253,
transport 9351-9353, 400 MB heap each) once, and stops it at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from newsflow import es_local
from newsflow.settings import Settings
from newsflow.store.client import make_client
from newsflow.store.indices import alias_indices, ensure_index
from newsflow.store.load import bulk_load
from tests.corpora import ROOT
from tests.integration.test_load import docs
from tests.support import running_local_es

pytestmark = pytest.mark.own_nodes

# Enough for the load to run on well after the kill: searches are counted meanwhile.
TOTAL = 12_000


@pytest.fixture(scope="module")
def cluster(own_es_state: Path) -> Iterator[Settings]:
    """Settings of a running 3-node cluster; new article indices get 3 shards, 1 replica."""
    settings = Settings(
        es_url=None,
        state_dir=own_es_state,
        local_es_nodes=3,
        local_es_port=9251,
        local_es_transport_port=9351,
        local_es_heap="400m",
        index_shards=3,
        index_replicas=1,
    )
    with running_local_es(settings):
        yield settings


@pytest.fixture
def alias(cluster: Settings) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    client = make_client(cluster)
    client.indices.delete(index=f"{name}-*", ignore_unavailable=True, allow_no_indices=True)
    client.options(ignore_status=404).indices.delete_index_template(name=f"newsflow-{name}")


def _wait_green(client: Elasticsearch, index: str) -> None:
    health = client.options(request_timeout=330).cluster.health(
        index=index, wait_for_status="green", timeout="300s"
    )
    assert health["status"] == "green", health


def _shard_counts(client: Elasticsearch, index: str) -> tuple[int, int]:
    found = client.indices.get_settings(index=index)[index]["settings"]["index"]
    return int(found["number_of_shards"]), int(found["number_of_replicas"])


def _stored_ids(client: Elasticsearch, alias: str) -> list[str]:
    return [hit["_id"] for hit in scan(client, index=alias, source=False, size=5000)]


def _victim(client: Elasticsearch, index: str) -> int:
    """Number of the node to kill: one holding a primary of the index, the elected master if
    it holds one (its death also makes the others elect a new master)."""
    shards = client.cat.shards(index=index, format="json", h="prirep,state,node")
    primaries = {s["node"] for s in shards if s["prirep"] == "p" and s["state"] == "STARTED"}
    master = client.cat.master(format="json")[0]["node"]
    name = master if master in primaries else sorted(primaries)[0]
    return int(name.rsplit("-", 1)[1])


def _cli_env(settings: Settings, alias: str) -> dict[str, str]:
    """The environment of a user whose settings name the local cluster."""
    env = {k: v for k, v in os.environ.items() if k != "NEWSFLOW_ES_URL"}
    return env | {
        "NEWSFLOW_INDEX": alias,
        "NEWSFLOW_STATE_DIR": str(settings.state_dir),
        "NEWSFLOW_LOCAL_ES_NODES": str(settings.local_es_nodes),
        "NEWSFLOW_LOCAL_ES_PORT": str(settings.local_es_port),
        "NEWSFLOW_LOCAL_ES_TRANSPORT_PORT": str(settings.local_es_transport_port),
        "NEWSFLOW_LOCAL_ES_HEAP": settings.local_es_heap,
        "NEWSFLOW_INDEX_SHARDS": str(settings.index_shards),
        "NEWSFLOW_INDEX_REPLICAS": str(settings.index_replicas),
    }


def _newsflow(settings: Settings, alias: str, *args: str) -> subprocess.CompletedProcess:
    """Run the ``newsflow`` command as that user; it must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", "newsflow", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=_cli_env(settings, alias),
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_a_node_killed_mid_load_loses_nothing_and_searches_keep_answering(
    cluster: Settings, alias: str
):
    client = make_client(cluster)
    index = ensure_index(
        client, alias, shards=cluster.index_shards, replicas=cluster.index_replicas
    )
    _wait_green(client, index)
    assert _shard_counts(client, index) == (3, 1)
    documents = docs(TOTAL)
    outcome: dict = {}

    def load() -> None:
        try:
            outcome["result"] = bulk_load(
                make_client(cluster),
                alias,
                documents,
                chunk_size=250,
                concurrency=2,
                unavailable_timeout=240,
                backoff=0.5,
            )
        except Exception as exc:  # reported by the assertions below
            outcome["error"] = exc

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    deadline = time.monotonic() + 300
    while (before := client.count(index=alias)["count"]) < TOTAL // 5:
        assert loader.is_alive() and time.monotonic() < deadline, (before, outcome)
        time.sleep(0.2)
    victim = _victim(client, index)
    pid = es_local.status(cluster).nodes[victim - 1].pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # The load was running when the node died: it had not returned, and part of it was in.
    assert loader.is_alive() and not outcome
    assert 0 < before < TOTAL

    answered: list[int] = []
    failed: list[Exception] = []
    health: list[str] = []
    outage_over = threading.Event()

    def search_loop() -> None:
        searcher = make_client(cluster)
        while not outage_over.is_set():
            try:
                resp = searcher.search(
                    index=alias,
                    query={"match": {"body": "ministers Oslo"}},
                    size=10,
                    track_total_hits=True,
                )
                answered.append(resp["_shards"]["failed"])  # shards that did not answer
                health.append(searcher.cluster.health()["status"])
            except Exception as exc:
                failed.append(exc)
            time.sleep(0.1)

    searches = threading.Thread(target=search_loop, daemon=True)
    searches.start()
    try:
        loader.join(timeout=600)
        assert not loader.is_alive(), "the load did not finish within 600 s"
        assert "error" not in outcome, outcome.get("error")
        # With the node still down, every document is in and searchable, also by a user's
        # command, which uses the nodes that run instead of waiting for the dead one.
        assert es_local.status(cluster).nodes[victim - 1].pid is None
        client.indices.refresh(index=alias)
        assert client.count(index=alias)["count"] == TOTAL
        searched = _newsflow(cluster, alias, "search", "--json", "--size", "1")
        assert json.loads(searched.stdout)["total"] == TOTAL
        assert es_local.status(cluster).nodes[victim - 1].pid is None
    finally:
        outage_over.set()
        searches.join()
    # Every search answered, from all shards: a replica stood in for each lost copy.
    assert failed == [], failed[:3]
    assert len(answered) >= 20 and set(answered) == {0}
    assert "yellow" in health and "red" not in health

    back = es_local.start_node(cluster, victim, timeout=300, log=lambda _m: None)
    assert back.complete
    _wait_green(client, index)
    assert client.cluster.health()["number_of_nodes"] == 3
    assert client.count(index=alias)["count"] == TOTAL
    result = outcome["result"]
    assert (result.indexed, result.rejected) == (TOTAL, [])
    ids = _stored_ids(client, alias)
    assert len(ids) == len(set(ids)) == TOTAL
    assert set(ids) == {d["id"] for d in documents}


def test_index_migrate_on_the_cluster_reshards_and_keeps_every_document(
    cluster: Settings, alias: str
):
    client = make_client(cluster)
    total = 5_000
    # The template's own layout first: one shard (and, auto-expanded, a replica).
    first = ensure_index(client, alias)
    _wait_green(client, first)
    assert _shard_counts(client, first) == (1, 1)
    result = bulk_load(client, alias, docs(total), chunk_size=500, concurrency=2)
    assert (result.indexed, result.rejected) == (total, [])
    client.indices.refresh(index=alias)

    migrated = _newsflow(cluster, alias, "index", "migrate")
    assert f"{alias}-v1 -> {alias}-v2" in migrated.stdout
    assert f"{total} documents" in migrated.stdout

    assert list(alias_indices(client, alias)) == [f"{alias}-v2"]
    _wait_green(client, f"{alias}-v2")
    assert _shard_counts(client, f"{alias}-v2") == (3, 1)
    assert client.count(index=alias)["count"] == total
    ids = _stored_ids(client, alias)
    assert len(ids) == len(set(ids)) == total
    assert set(ids) == set(_stored_ids(client, f"{alias}-v1"))
