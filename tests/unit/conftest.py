"""Unit tests run without an Elasticsearch node or a browser (``make test-unit``)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def es_client():
    """Replaces the session's node for tests/unit, so that no unit test starts or needs one
    (the fixtures built on it, such as ``settings`` and ``index_alias``, fail the same way)."""
    pytest.fail("a unit test asked for Elasticsearch: it belongs in tests/integration")
