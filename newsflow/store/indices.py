"""The index behind the alias: template, versioned indices, migration, backfill mode, stats.

Indices are ``<alias>-v<N>``; the alias points at exactly one of them, its write index. The
mapping comes from ``mappings/articles.json`` (a composable index template for
``<alias>-v*``). Every function takes the client it works with.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError
from elasticsearch.helpers import scan, streaming_bulk

from newsflow.resources import MAPPINGS_DIR
from newsflow.transforms.batch.documents import rekeyed, with_published_day

_VERSION = re.compile(r"-v(\d+)$")


class IndexSetupError(RuntimeError):
    """The alias cannot be set up or migrated; the message says why."""


def load_template(path: Path = MAPPINGS_DIR / "articles.json") -> dict[str, Any]:
    """The articles index template as data (``template`` and ``mapping_version``)."""
    return json.loads(path.read_text(encoding="utf-8"))


def index_name(alias: str, version: int) -> str:
    return f"{alias}-v{version}"


def has_analyzer(client: Elasticsearch, name: str) -> bool:
    """Whether the cluster knows an analyzer (the test node lacks ``english`` without the
    project's plugin; the official image has it)."""
    try:
        client.indices.analyze(analyzer=name, text="probe")
    except BadRequestError:
        return False
    return True


def _drop_subfields_using(node: Any, analyzer: str) -> Any:
    """Mapping with every sub-field that uses ``analyzer`` removed."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "fields" and isinstance(value, dict):
                value = {k: v for k, v in value.items() if v.get("analyzer") != analyzer}
                if not value:
                    continue
            out[key] = _drop_subfields_using(value, analyzer)
        return out
    return node


def with_shards(
    spec: dict[str, Any], shards: int | None = None, replicas: int | None = None
) -> dict[str, Any]:
    """The template with its primary shard and replica counts replaced (None keeps the
    template's). A fixed replica count replaces ``auto_expand_replicas``, which would
    otherwise override it."""
    spec = copy.deepcopy(spec)
    index = spec["template"].setdefault("settings", {}).setdefault("index", {})
    if shards is not None:
        index["number_of_shards"] = shards
    if replicas is not None:
        index.pop("auto_expand_replicas", None)
        index["number_of_replicas"] = replicas
    return spec


def template_for_cluster(client: Elasticsearch, spec: dict[str, Any] | None = None) -> dict:
    """The template body adapted to what the cluster offers."""
    spec = copy.deepcopy(spec or load_template())
    if not has_analyzer(client, "english"):
        spec["template"] = _drop_subfields_using(spec["template"], "english")
    return spec


def put_template(
    client: Elasticsearch,
    alias: str,
    spec: dict[str, Any] | None = None,
    *,
    shards: int | None = None,
    replicas: int | None = None,
) -> dict:
    """Install (or replace) the composable template for ``<alias>-v*``, with ``shards``
    primaries and ``replicas`` replicas for the indices created from now on (None: the
    template's); returns what was used."""
    spec = with_shards(template_for_cluster(client, spec), shards, replicas)
    client.indices.put_index_template(
        name=f"newsflow-{alias}",
        index_patterns=[f"{alias}-v*"],
        template=spec["template"],
        priority=200,
        meta={"managed_by": "newsflow", "mapping_version": spec["mapping_version"]},
    )
    return spec


def alias_indices(client: Elasticsearch, alias: str) -> dict[str, dict]:
    """Concrete indices behind the alias with their alias properties ({} when none)."""
    try:
        found = client.indices.get_alias(name=alias).body
    except NotFoundError:
        return {}
    return {index: info["aliases"][alias] for index, info in found.items()}


def write_index(client: Elasticsearch, alias: str) -> str | None:
    indices = alias_indices(client, alias)
    for index, props in indices.items():
        if props.get("is_write_index", len(indices) == 1):
            return index
    return None


def ensure_index(
    client: Elasticsearch,
    alias: str,
    spec: dict[str, Any] | None = None,
    *,
    shards: int | None = None,
    replicas: int | None = None,
) -> str:
    """Install the template and make sure the alias points at a write index (``<alias>-v1`` on
    first use, with ``shards`` and ``replicas`` as ``put_template`` says); also finishes a
    backfill that a killed run left open, and brings an older write index up to the current
    mapping when the change only adds fields. Returns the write index."""
    used = put_template(client, alias, spec, shards=shards, replicas=replicas)
    current = write_index(client, alias)
    if current is None and alias_indices(client, alias):
        raise IndexSetupError(f"alias {alias!r} has indices but none is the write index")
    if current is None:
        if client.indices.exists(index=alias):
            raise IndexSetupError(
                f"{alias!r} is a plain index, not an alias; pick another NEWSFLOW_INDEX or move it"
            )
        current = index_name(alias, 1)
        if client.indices.exists(index=current):
            client.indices.put_alias(index=current, name=alias, is_write_index=True)
        else:
            client.indices.create(index=current, aliases={alias: {"is_write_index": True}})
    # One read of the mapping for both: restoring changes no field the upgrade reads.
    mapping = read_mapping(client, current)
    # A backfill's refreshes first: the upgrade fills documents it finds by searching.
    restore_after_backfill(client, current, dict(mapping.get("_meta", {})))
    upgrade_mapping(client, current, used, mapping)
    return current


def _missing_fields(wanted: dict[str, Any], have: dict[str, Any]) -> bool:
    for name, field in wanted.items():
        if name not in have:
            return True
        if "properties" in field and _missing_fields(
            field["properties"], have[name].get("properties", {})
        ):
            return True
    return False


def upgrade_mapping(
    client: Elasticsearch, index: str, spec: dict[str, Any], mapping: dict[str, Any] | None = None
) -> bool:
    """Add the fields of a newer mapping version to an existing index, in place, and fill the
    ones older documents lack (``fill_published_day``) as ``migrate`` does.

    New fields are all a new version usually brings, and Elasticsearch accepts them on a live
    index; a change to an existing field cannot be made in place and needs ``newsflow index
    migrate``. The new version number is recorded only once the documents are filled, so an
    upgrade that stops half-way is finished by the next call. ``mapping``: the index's
    mapping when the caller has just read it. Returns whether the index was upgraded."""
    mapping = read_mapping(client, index) if mapping is None else mapping
    current = mapping.get("_meta", {}).get("mapping_version") or 0
    if current > spec["mapping_version"]:
        return False
    # Same version number may still lack a field added during development: putting the same
    # properties again is a no-op for Elasticsearch, so compare what is there instead.
    have = mapping.get("properties", {})
    if current == spec["mapping_version"] and not _missing_fields(
        spec["template"]["mappings"]["properties"], have
    ):
        return False
    mappings = spec["template"]["mappings"]
    try:
        client.indices.put_mapping(index=index, properties=mappings["properties"])
    except BadRequestError as exc:
        raise IndexSetupError(
            f"{index} has mapping version {current} and version {spec['mapping_version']} "
            f"changes existing fields ({exc.message}); run `newsflow index migrate`"
        ) from exc
    if "published_day" in mappings["properties"]:
        fill_published_day(client, index)
    client.indices.put_mapping(
        index=index,
        meta=mappings.get("_meta", {}) | {"mapping_version": spec["mapping_version"]},
    )
    return True


def fill_published_day(client: Elasticsearch, index: str) -> int:
    """Give the dated documents of ``index`` that lack ``published_day`` (indexed before
    mapping version 4) the value a run gives them now (``documents.with_published_day``, which
    ``migrate`` applies to what it copies), in place; returns the documents updated.

    Each update is conditional on the sequence number the document was read with: a document
    a run rewrites meanwhile has the field already, and its conflict is left alone."""
    client.indices.refresh(index=index)
    missing = {
        "bool": {
            "filter": [{"exists": {"field": "published"}}],
            "must_not": [{"exists": {"field": "published_day"}}],
        }
    }

    def actions() -> Iterator[dict[str, Any]]:
        for hit in scan(
            client,
            index=index,
            query={"query": missing, "seq_no_primary_term": True},
            size=1000,
            preserve_order=False,
        ):
            doc = with_published_day(hit["_source"])
            if doc["published_day"] is None:
                continue  # a date the day cannot be read from: as a run would store it
            yield {
                "_op_type": "index",
                "_index": index,
                "_id": hit["_id"],
                "_source": doc,
                "if_seq_no": hit["_seq_no"],
                "if_primary_term": hit["_primary_term"],
            }

    written = _write_unless_conflict(client, actions(), f"filling published_day in {index}")
    client.indices.refresh(index=index)
    return written


def read_mapping(client: Elasticsearch, index: str) -> dict[str, Any]:
    """The mapping of the concrete index ``index`` (its ``properties`` and ``_meta``)."""
    return client.indices.get_mapping(index=index)[index]["mappings"]


def mapping_version(client: Elasticsearch, index: str) -> int | None:
    return read_mapping(client, index).get("_meta", {}).get("mapping_version")


# --- Backfill mode -------------------------------------------------------------------------


def _meta(client: Elasticsearch, index: str) -> dict[str, Any]:
    return read_mapping(client, index).get("_meta", {})


BACKFILL_REFRESH_TIMEOUT = 300  # seconds


def restore_after_backfill(
    client: Elasticsearch, index: str, meta: dict[str, Any] | None = None
) -> bool:
    """Put back the refresh interval saved by a backfill that did not finish (a killed run).
    ``meta``: a copy of the index's ``_meta`` when the caller has just read it. Returns True
    when something was restored."""
    meta = _meta(client, index) if meta is None else meta
    saved = meta.get("backfill_saved_refresh_interval")
    if saved is None:
        return False
    client.indices.put_settings(index=index, settings={"index": {"refresh_interval": saved}})
    meta.pop("backfill_saved_refresh_interval")
    client.indices.put_mapping(index=index, meta=meta)
    # The first refresh after a backfill writes every document loaded since it began: on a
    # busy node that takes longer than an ordinary request may.
    client.options(request_timeout=BACKFILL_REFRESH_TIMEOUT).indices.refresh(index=index)
    return True


@contextmanager
def backfill_mode(client: Elasticsearch, alias: str) -> Iterator[str]:
    """Refreshes off during a large load, restored afterwards (even when the load fails), then
    one refresh. The saved interval is kept in the index's ``_meta`` so that a run killed with
    SIGKILL is repaired by the next ``ensure_index``."""
    index = write_index(client, alias)
    if index is None:
        raise IndexSetupError(f"alias {alias!r} has no write index; run ensure_index first")
    restore_after_backfill(client, index)
    settings = client.indices.get_settings(
        index=index, name="index.refresh_interval", include_defaults=True
    )[index]
    current = settings.get("settings", {}).get("index", {}).get("refresh_interval") or settings.get(
        "defaults", {}
    ).get("index", {}).get("refresh_interval", "1s")
    meta = _meta(client, index) | {"backfill_saved_refresh_interval": current}
    client.indices.put_mapping(index=index, meta=meta)
    client.indices.put_settings(index=index, settings={"index": {"refresh_interval": "-1"}})
    try:
        yield index
    finally:
        restore_after_backfill(client, index)


# --- Migration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    source: str
    target: str
    copied: int  # documents in the target
    seconds: float
    mapping_version: int
    rekeyed: int = 0  # documents whose id changed (a canonical URL spelt by older code)
    merged: int = 0  # documents left out for a later fetch of the same article under its new id


def ensure_index_from_file(client: Elasticsearch, name: str, mapping_file: str) -> str:
    """Create the side index ``name`` (dead letters, runs) from the settings and mappings in
    ``mappings/<mapping_file>`` unless it exists; returns ``name``."""
    if not client.indices.exists(index=name):
        spec = json.loads((MAPPINGS_DIR / mapping_file).read_text(encoding="utf-8"))
        # 400: another process created it between the check and here.
        client.options(ignore_status=400).indices.create(
            index=name, settings=spec["settings"], mappings=spec["mappings"]
        )
    return name


def _fetched_millis(document: dict[str, Any]) -> int:
    """``fetched_at`` in epoch milliseconds, 0 when missing or unreadable."""
    try:
        fetched = datetime.fromisoformat(str(document["fetched_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0
    fetched = fetched if fetched.tzinfo else fetched.replace(tzinfo=UTC)
    return max(0, int(fetched.timestamp() * 1000))


def _copy(
    client: Elasticsearch,
    source: str,
    target: str,
    moved: dict[str, str],
    query: dict | None = None,
) -> int:
    """Copy ``source`` into ``target`` re-keyed (``documents.rekeyed``), with the fields the
    current code derives and older documents lack filled in (``published_day``); returns the
    documents written. Old ids that changed go into ``moved`` (old id -> new id).

    Each copy is written with its ``fetched_at`` as external version (``external_gte``), so
    when two old documents get one new id the one fetched last stays, whatever the order they
    come in, and copying a document again (the second pass) rewrites it. The one fetched
    earlier is refused with a version conflict: that is the merge, not an error."""

    def actions() -> Iterator[dict[str, Any]]:
        for hit in scan(
            client,
            index=source,
            query={"query": query or {"match_all": {}}},
            size=1000,
            preserve_order=False,
        ):
            doc = rekeyed(with_published_day(hit["_source"]))
            new_id = doc.get("id") or hit["_id"]
            if new_id != hit["_id"]:
                moved[hit["_id"]] = new_id
            yield {
                "_op_type": "index",
                "_index": target,
                "_id": new_id,
                "_source": doc,
                "version": _fetched_millis(doc),
                "version_type": "external_gte",
            }

    return _write_unless_conflict(client, actions(), f"copying into {target}")


def _write_unless_conflict(
    client: Elasticsearch, actions: Iterator[dict[str, Any]], what: str
) -> int:
    """Send conditional writes (``if_seq_no`` or an external version) in bulk; returns the
    documents written. A version conflict means a newer copy won, which is what the condition
    is for; any other refusal stops the work with the document's id and the cluster's reason."""
    written = 0
    for ok, item in streaming_bulk(
        client,
        actions,
        chunk_size=1000,
        raise_on_error=False,
        max_retries=5,
        initial_backoff=1,
        max_backoff=30,
    ):
        info = next(iter(item.values()))
        if ok:
            written += 1
        elif info.get("status") != 409:
            raise IndexSetupError(f"{what} failed for {info.get('_id')}: {info.get('error')}")
    return written


def _distinct_new_ids(
    client: Elasticsearch, source: str, source_count: int, moved: dict[str, str]
) -> int:
    """How many documents the target must hold: one per distinct new id among the
    ``source_count`` documents of ``source``. Ids that did not move count once each; a new id
    counts unless a document that kept its id already holds it."""
    landing = sorted(set(moved.values()) - set(moved))
    taken = 0
    for i in range(0, len(landing), 1000):
        found = client.mget(index=source, ids=landing[i : i + 1000], source=False)
        taken += sum(1 for doc in found["docs"] if doc.get("found"))
    return source_count - len(moved) + len(set(moved.values())) - taken


def migrate(
    client: Elasticsearch,
    alias: str,
    spec: dict[str, Any] | None = None,
    *,
    shards: int | None = None,
    replicas: int | None = None,
) -> Migration:
    """Build ``<alias>-v<N+1>`` with the current mapping (and ``shards``/``replicas``: the way
    to change the shard count), copy every document (scan + bulk, ``_reindex`` is not on every
    node), check counts, then swap the alias atomically. The old index stays until
    ``drop_index``. Searches through the alias see the old index until the swap and the new,
    complete one after it.

    Documents are re-keyed while copied (``documents.rekeyed``): those whose canonical URL an
    older URL function spelt get the id a run makes now; when two map to one id, the one
    fetched last is kept."""
    started = time.monotonic()
    source = write_index(client, alias)
    if source is None:
        raise IndexSetupError(f"alias {alias!r} does not exist; nothing to migrate")
    match = _VERSION.search(source)
    version = int(match.group(1)) + 1 if match else 2
    target = index_name(alias, version)
    if client.indices.exists(index=target):
        raise IndexSetupError(f"{target} already exists (a failed migration?); drop it first")
    used = put_template(client, alias, spec, shards=shards, replicas=replicas)
    client.indices.create(index=target, settings={"index": {"refresh_interval": "-1"}})
    copy_started = datetime.now(UTC).isoformat()
    moved: dict[str, str] = {}
    _copy(client, source, target, moved)
    # Articles loaded while the copy ran are picked up by a second, short pass.
    _copy(client, source, target, moved, {"range": {"indexed_at": {"gte": copy_started}}})
    client.indices.put_settings(index=target, settings={"index": {"refresh_interval": None}})
    client.indices.refresh(index=source)
    client.indices.refresh(index=target)
    source_count = client.count(index=source)["count"]
    target_count = client.count(index=target)["count"]
    expected = _distinct_new_ids(client, source, source_count, moved)
    if target_count != expected:
        raise IndexSetupError(
            f"migration stopped before the swap: {source} has {source_count} documents "
            f"({expected} once re-keyed), {target} has {target_count}; the alias still "
            f"points at {source}"
        )
    client.indices.update_aliases(
        actions=[
            {"add": {"index": target, "alias": alias, "is_write_index": True}},
            {"remove": {"index": source, "alias": alias}},
        ]
    )
    return Migration(
        source,
        target,
        target_count,
        round(time.monotonic() - started, 2),
        used["mapping_version"],
        rekeyed=len(moved),
        merged=source_count - target_count,
    )


def drop_index(client: Elasticsearch, alias: str, index: str) -> None:
    """Delete an old version of the alias's indices; refuses the one the alias points at."""
    if not re.fullmatch(rf"{re.escape(alias)}-v\d+", index):
        raise IndexSetupError(f"{index!r} is not a version of {alias!r} (<alias>-v<N>)")
    if index in alias_indices(client, alias):
        raise IndexSetupError(f"{index} is behind the alias {alias!r}; migrate before dropping it")
    client.indices.delete(index=index)


def versions(client: Elasticsearch, alias: str) -> list[str]:
    """All ``<alias>-v<N>`` indices, oldest first. The wildcard also matches names that are
    no version of this alias (``<alias>-v2-copy``, ``<alias>-videos-v1``): left out."""
    found = client.indices.get(index=f"{alias}-v*", allow_no_indices=True, expand_wildcards="open")
    numbers = {}
    for name in found.body:
        match = re.fullmatch(rf"{re.escape(alias)}-v(\d+)", name)
        if match:
            numbers[name] = int(match.group(1))
    return sorted(numbers, key=numbers.__getitem__)


def stats(client: Elasticsearch, alias: str, top: int = 5) -> dict[str, Any]:
    """Documents, size, versions, mapping version, last run, top facets and dead letters."""
    from newsflow.store.load import count_dead_letters  # load depends on nothing here

    index = write_index(client, alias)
    if index is None:
        raise IndexSetupError(f"alias {alias!r} does not exist")
    store = client.indices.stats(index=alias, metric="store")["_all"]["primaries"]
    facets = ("person", "organization", "location", "source", "language")
    resp = client.search(
        index=alias,
        size=1,
        sort=[{"indexed_at": "desc"}],
        source={"includes": ["run_id", "indexed_at"]},
        aggs={f: {"terms": {"field": f, "size": top}} for f in facets},
        track_total_hits=True,
    )
    latest = resp["hits"]["hits"][0]["_source"] if resp["hits"]["hits"] else None
    return {
        "alias": alias,
        "write_index": index,
        "versions": versions(client, alias),
        "mapping_version": mapping_version(client, index),
        "documents": resp["hits"]["total"]["value"],
        "size_bytes": store["store"]["size_in_bytes"],
        "last_run": latest,
        "top": {
            f: [
                {"value": b["key"], "count": b["doc_count"]}
                for b in resp["aggregations"][f]["buckets"]
            ]
            for f in facets
        },
        "dead_letters": count_dead_letters(client, alias),
    }
