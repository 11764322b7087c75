"""The Elasticsearch client, built once from the settings and passed to whoever needs it."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from newsflow.settings import Settings


class ClusterUnavailable(RuntimeError):
    """The configured cluster does not answer; the message names the URL (never credentials)."""


def make_client(settings: Settings) -> Elasticsearch:
    """A client for the configured cluster (or the local node when none is configured)."""
    kwargs: dict = {
        "request_timeout": settings.es_request_timeout,
        "retry_on_timeout": True,
        "max_retries": 3,
    }
    if settings.es_api_key is not None:
        kwargs["api_key"] = settings.es_api_key.get_secret_value()
    elif settings.es_username:
        password = settings.es_password.get_secret_value() if settings.es_password else ""
        kwargs["basic_auth"] = (settings.es_username, password)
    if settings.es_ca_certs is not None:
        kwargs["ca_certs"] = str(settings.es_ca_certs)
    if not settings.es_verify_certs:
        kwargs["verify_certs"] = False
    return Elasticsearch(settings.effective_es_url, **kwargs)


def check_cluster(client: Elasticsearch, url: str) -> str:
    """Return the cluster health status or raise ``ClusterUnavailable`` with a clear reason.

    Cluster health rather than ``ping()``/``info()``: the local test distribution does not
    serve ``GET /``.
    """
    try:
        return client.cluster.health(timeout="10s")["status"]
    except Exception as exc:  # connection, TLS and auth errors all mean "cannot use it"
        raise ClusterUnavailable(
            f"Elasticsearch at {url} is not usable: {type(exc).__name__}: {exc}"
        ) from exc
