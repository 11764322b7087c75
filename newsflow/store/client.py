"""The Elasticsearch client, built once from the settings and passed to whoever needs it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from http.client import RemoteDisconnected
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import ApiError, AuthenticationException, AuthorizationException, Elasticsearch

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
            f"Elasticsearch at {redact_url(url)} is not usable: {explain_error(exc)}"
        ) from exc


def redact_url(url: str) -> str:
    """``url`` without the password of ``https://user:password@host`` (the client accepts it)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _causes(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    reason = error.get("reason") if isinstance(error, dict) else error
    return f"HTTP {exc.status_code}: {reason or exc.message}"


def explain_error(exc: BaseException) -> str:
    """One line on why a request failed and what to check; names no credentials."""
    if isinstance(exc, AuthenticationException):
        # The server's reason is always the same generic line (details go to its own log).
        return (
            "authentication failed (HTTP 401); check NEWSFLOW_ES_USERNAME and "
            "NEWSFLOW_ES_PASSWORD, or NEWSFLOW_ES_API_KEY"
        )
    if isinstance(exc, AuthorizationException):
        return f"permission denied ({_reason(exc)})"
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            hint = ""
            # 18/19/20: self-signed or unknown issuer, i.e. a CA the client does not trust.
            if cause.verify_code in (18, 19, 20):
                hint = (
                    " (unknown CA); set NEWSFLOW_ES_CA_CERTS to the CA file that signed the "
                    "cluster's certificate"
                )
            return f"TLS certificate verify failed: {cause.verify_message}{hint}"
        if isinstance(cause, FileNotFoundError | PermissionError):
            return f"cannot read the CA file NEWSFLOW_ES_CA_CERTS: {cause.strerror}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed: {cause.reason or cause}; is the URL right (https)?"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused: nothing listens at that address"
        if isinstance(cause, RemoteDisconnected):
            # What a TLS-only node does with a plain-HTTP request.
            return "the server closed the connection without answering; does it need https://?"
    if isinstance(exc, ApiError):
        return _reason(exc)
    return f"{type(exc).__name__}: {exc}"
