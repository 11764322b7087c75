"""Session fixtures: settings, the real Elasticsearch node, Prefect's test harness, a local site."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Prefect reads these when imported; keep its state out of the user's home and quiet.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="newsflow-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# Commands run in the test process must not hand their flow runs to a developer's local Prefect
# server (`newsflow prefect start`): they look for it on this port, where none listens.
with socket.socket() as _sock:
    _sock.bind(("127.0.0.1", 0))
    os.environ.setdefault("NEWSFLOW_PREFECT_PORT", str(_sock.getsockname()[1]))

from elasticsearch import Elasticsearch

from newsflow import es_local
from newsflow.settings import Settings
from newsflow.store.client import check_cluster, make_client
from tests.support import local_site


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    """Settings from the environment, with fast network limits for the broken test pages.

    The test servers listen on 127.0.0.1, which the fetch step's SSRF guard refuses unless
    allowed explicitly."""
    return Settings(
        fetch_timeout=1.5,
        fetch_retries=1,
        batch_size=20,
        allowed_private_networks=["127.0.0.0/8"],
    )


@pytest.fixture(scope="session")
def es_client(base_settings: Settings) -> Iterator[Elasticsearch]:
    """The real node: NEWSFLOW_ES_URL if set, else the local node (started once, or reused).

    A node that cannot be started or reached fails the tests that need it; nothing is skipped.
    """
    started = False
    if base_settings.uses_local_node and not es_local.status(base_settings).healthy:
        es_local.start(base_settings)
        started = True
    client = make_client(base_settings)
    check_cluster(client, base_settings.effective_es_url)
    yield client
    if started and not os.environ.get("NEWSFLOW_KEEP_ES"):
        es_local.stop(base_settings)


@pytest.fixture(scope="session")
def own_es_state() -> Iterator[Path]:
    """State directory for tests that start Elasticsearch nodes of their own on other ports
    (they stop and kill them, which the shared node must never be): the distribution is
    unpacked there once per session, and the directory is removed at the end."""
    root = Path(tempfile.mkdtemp(prefix="newsflow-own-es-"))
    root.chmod(0o755)  # the unprivileged user the nodes run as must reach it
    yield root
    shutil.rmtree(root, ignore_errors=True)


@contextmanager
def fresh_alias(client: Elasticsearch) -> Iterator[str]:
    """A new alias name; its indices and template are removed afterwards."""
    alias = f"test-{uuid.uuid4().hex[:10]}"
    yield alias
    # The articles indices and the alias's companions (dead letters, crawl state, run history).
    client.indices.delete(index=f"{alias}-*", ignore_unavailable=True, allow_no_indices=True)
    client.options(ignore_status=404).indices.delete_index_template(name=f"newsflow-{alias}")


@pytest.fixture
def index_alias(es_client: Elasticsearch) -> Iterator[str]:
    with fresh_alias(es_client) as alias:
        yield alias


@pytest.fixture
def settings(base_settings: Settings, index_alias: str) -> Settings:
    return base_settings.model_copy(update={"index": index_alias})


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    """Base URL of the demo corpus (and /broken/* pages) served on 127.0.0.1."""
    with local_site() as base_url:
        yield base_url
