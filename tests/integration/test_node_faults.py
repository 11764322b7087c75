"""The load step when the node goes away: wait, retry, complete — or fail clearly, in time."""

from __future__ import annotations

import threading
import time

import pytest
from elasticsearch import Elasticsearch

from newsflow import es_local
from newsflow.settings import Settings
from newsflow.store.client import make_client
from newsflow.store.indices import ensure_index
from newsflow.store.load import ClusterUnavailableError, bulk_load
from tests.integration.test_load import docs


def test_a_node_restarted_mid_load_loses_nothing(
    es_client: Elasticsearch, index_alias: str, base_settings: Settings
):
    if not base_settings.uses_local_node:
        pytest.skip("needs the project's local node, which this test stops and starts")
    total = 30_000
    ensure_index(es_client, index_alias)
    outcome: dict = {}

    def load():
        try:
            outcome["result"] = bulk_load(
                make_client(base_settings),
                index_alias,
                docs(total),
                chunk_size=250,
                unavailable_timeout=240,
                backoff=0.5,
            )
        except Exception as exc:  # reported by the assertion below
            outcome["error"] = exc

    loader = threading.Thread(target=load)
    loader.start()
    while es_client.count(index=index_alias)["count"] < 1000:
        time.sleep(0.2)
    es_local.stop(base_settings, log=lambda _: None)
    time.sleep(2)
    es_local.start(base_settings, log=lambda _: None)
    loader.join(timeout=300)
    assert not loader.is_alive()
    assert "error" not in outcome, outcome.get("error")
    es_client.indices.refresh(index=index_alias)
    assert es_client.count(index=index_alias)["count"] == total
    assert outcome["result"].rejected == []


def test_an_unreachable_cluster_fails_clearly_within_the_time_allowed():
    client = Elasticsearch("http://127.0.0.1:1", max_retries=0)
    with pytest.raises(ClusterUnavailableError, match=r"did not accept 10 documents within 3s"):
        bulk_load(client, "nowhere", docs(10), unavailable_timeout=3, backoff=0.2)
