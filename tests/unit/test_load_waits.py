"""The load step's reads wait for a cluster that is briefly away, as its bulk requests do."""

from __future__ import annotations

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, ConnectionError

from newsflow.store.load import ClusterUnavailableError, _when_reachable


def _api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "x", 9200))
    return ApiError("error", meta, {"error": "x"})


def test_a_restart_is_waited_for_then_the_answer_returned() -> None:
    outcomes = [ConnectionError("refused"), _api_error(503), {"docs": []}]

    def call():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert _when_reachable(call, timeout=30, backoff=0.01) == {"docs": []}
    assert outcomes == []


def test_a_cluster_gone_for_good_gives_a_clear_error() -> None:
    def call():
        raise ConnectionError("refused")

    with pytest.raises(ClusterUnavailableError, match="unreachable for 0s"):
        _when_reachable(call, timeout=0, backoff=0.01)


def test_a_real_refusal_is_not_retried() -> None:
    calls = []

    def call():
        calls.append(1)
        raise _api_error(400)

    with pytest.raises(ApiError):
        _when_reachable(call, timeout=30, backoff=0.01)
    assert len(calls) == 1
