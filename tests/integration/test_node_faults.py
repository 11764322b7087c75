"""The load step when the node goes away: wait, retry, complete — or fail clearly, in time."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from newsflow import es_local
from newsflow.settings import Settings
from newsflow.store.client import ClusterUnavailable, check_cluster, make_client
from newsflow.store.indices import ensure_index
from newsflow.store.load import ClusterUnavailableError, bulk_load
from tests.integration.test_load import docs
from tests.support import running_local_es


@pytest.fixture(scope="module")
def own_node(own_es_state: Path) -> Iterator[Settings]:
    """A single local node of this module's own (HTTP 9260), which the test stops: never the
    node the other tests share."""
    settings = Settings(
        es_url=None,
        state_dir=own_es_state,
        local_es_port=9260,
        local_es_transport_port=9360,
        local_es_heap="512m",
    )
    with running_local_es(settings):
        yield settings


@pytest.mark.own_nodes
def test_a_node_restarted_mid_load_loses_nothing(own_node: Settings):
    total = 10_000
    client = make_client(own_node)
    alias = f"test-{uuid.uuid4().hex[:10]}"
    ensure_index(client, alias)
    outcome: dict = {}

    def load():
        try:
            outcome["result"] = bulk_load(
                make_client(own_node),
                alias,
                docs(total),
                chunk_size=250,
                unavailable_timeout=240,
                backoff=0.5,
            )
        except Exception as exc:  # reported by the assertion below
            outcome["error"] = exc

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    deadline = time.monotonic() + 300
    while (before := client.count(index=alias)["count"]) < 1000:
        assert loader.is_alive() and time.monotonic() < deadline, (before, outcome)
        time.sleep(0.2)
    assert es_local.stop(own_node, log=lambda _: None), "the node was not running"
    # The node is down while the load runs: it had not returned, and part of it was in.
    assert loader.is_alive() and not outcome
    assert 0 < before < total
    with pytest.raises(ClusterUnavailable):
        check_cluster(make_client(own_node), own_node.effective_es_url)
    time.sleep(2)
    assert loader.is_alive(), "the load gave up instead of waiting for the node"
    es_local.start(own_node, log=lambda _: None)
    loader.join(timeout=300)
    assert not loader.is_alive()
    assert "error" not in outcome, outcome.get("error")
    client.indices.refresh(index=alias)
    assert client.count(index=alias)["count"] == total
    assert (outcome["result"].indexed, outcome["result"].rejected) == (total, [])
    client.indices.delete(index=f"{alias}-*")


def _tripped(client: Elasticsearch) -> int:
    stats = client.nodes.stats(metric="breaker")["nodes"].values()
    return sum(n["breakers"]["inflight_requests"]["tripped"] for n in stats)


@pytest.mark.own_nodes
def test_bulk_requests_refused_with_429_are_retried_until_the_node_takes_them(own_node: Settings):
    # The in-flight-requests breaker, set below one bulk body, makes the node answer every
    # bulk request with 429 circuit_breaking_exception; once it is lifted the load completes.
    client = make_client(own_node)
    alias = f"test-{uuid.uuid4().hex[:10]}"
    ensure_index(client, alias)
    total = 300
    before = _tripped(client)
    limit = "network.breaker.inflight_requests.limit"
    client.cluster.put_settings(persistent={limit: "2kb"})
    outcome: dict = {}

    def load():
        try:
            outcome["result"] = bulk_load(
                make_client(own_node), alias, docs(total), chunk_size=100, backoff=0.2
            )
        except Exception as exc:  # reported by the assertion below
            outcome["error"] = exc

    loader = threading.Thread(target=load, daemon=True)
    try:
        loader.start()
        deadline = time.monotonic() + 120
        while _tripped(client) < before + 5:  # the client's own retries, then the loader's
            assert loader.is_alive() and time.monotonic() < deadline, outcome
            time.sleep(0.1)
        assert loader.is_alive() and not outcome, "the load gave up on a 429"
        assert client.count(index=alias)["count"] == 0
    finally:
        client.cluster.put_settings(persistent={limit: None})
    loader.join(timeout=150)
    assert not loader.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert (outcome["result"].indexed, outcome["result"].rejected) == (total, [])
    client.indices.refresh(index=alias)
    assert client.count(index=alias)["count"] == total
    client.indices.delete(index=f"{alias}-*")


def test_an_unreachable_cluster_fails_clearly_within_the_time_allowed():
    client = Elasticsearch("http://127.0.0.1:1", max_retries=0)
    with pytest.raises(ClusterUnavailableError, match=r"did not accept 10 documents within 3s"):
        bulk_load(client, "nowhere", docs(10), unavailable_timeout=3, backoff=0.2)
