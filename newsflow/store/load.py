"""Load step: bulk indexing that loses nothing, and the dead letters of what the cluster refused.

The client is passed in (built once from the settings). Documents are keyed by a stable hash
of the canonical URL, so loading the same article again updates it instead of adding a copy,
and a document that is unchanged as a whole (``transforms/batch/documents.py content_hash``) is
not written again. Every document written carries the hash of what it holds.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from elasticsearch import (
    ApiError,
    ConnectionError,
    ConnectionTimeout,
    Elasticsearch,
    TransportError,
)
from elasticsearch.helpers import scan, streaming_bulk

from newsflow.store.indices import ensure_index_from_file
from newsflow.transforms.batch.documents import RUN_FIELDS, canonical_json, content_hash
from newsflow.transforms.models import Failure


@dataclass(frozen=True)
class Rejected:
    """A document the cluster refused for good (mapping error, oversized field...)."""

    document: dict[str, Any]
    reason: str
    error_type: str


@dataclass
class LoadResult:
    indexed: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def failures(self) -> list[Failure]:
        return [
            Failure(r.document.get("url", f"id:{r.document.get('id')}"), "load", r.reason)
            for r in self.rejected
        ]

    def add(self, other: LoadResult) -> None:
        self.indexed += other.indexed
        self.unchanged += other.unchanged
        self.rejected += other.rejected


class ClusterUnavailableError(RuntimeError):
    """The cluster did not accept documents within the allowed time; nothing was recorded as
    loaded, so a later run loads them."""


# Statuses that say "not now" rather than "never": retried with backoff, not dead-lettered.
_TRANSIENT = {429, 502, 503, 504, "N/A"}


def _reason(info: dict[str, Any]) -> tuple[str, str]:
    error = info.get("error")
    if isinstance(error, dict):
        error_type = str(error.get("type"))
        reason = f"{error_type}: {error.get('reason')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            reason += f" (caused by {cause.get('type')}: {cause.get('reason')})"
    else:
        error_type = type(info.get("exception")).__name__ if info.get("exception") else "error"
        reason = str(error or "unknown error")
    return f"HTTP {info.get('status', '?')}: {reason}"[:1000], error_type


# Only what the loader reads of a bulk answer: a few dozen bytes per document to parse instead
# of the full item (index, version, shards, sequence numbers).
_BULK_FILTER = "errors,items.*._id,items.*.status,items.*.error"
_RUN_FIELD_ORDER = tuple(sorted(RUN_FIELDS))


def _ndjson(doc: dict[str, Any]) -> bytes:
    """The action and source lines of one document, setting its ``content_hash``.

    The document is serialised once: the canonical bytes that ``content_hash`` hashes become its
    source, with the run fields (the hash among them) appended before the closing brace; the
    action line names only the id, as the request goes to ``/<alias>/_bulk``."""
    canonical = canonical_json(doc)
    doc["content_hash"] = hashlib.sha256(canonical).hexdigest()
    run = orjson.dumps({key: doc[key] for key in _RUN_FIELD_ORDER if key in doc})
    source = canonical[:-1] + b"," + run[1:] if len(canonical) > 2 else run
    return b'{"index":{"_id":' + orjson.dumps(doc["id"]) + b"}}\n" + source + b"\n"


def _bodies(lines: Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    """``lines`` joined into request bodies of at most ``max_bytes`` (a single larger document
    goes alone), so that no request exceeds what the cluster accepts."""
    body: list[bytes] = []
    size = 0
    for line in lines:
        if body and size + len(line) > max_bytes:
            yield b"".join(body)
            body, size = [], 0
        body.append(line)
        size += len(line)
    if body:
        yield b"".join(body)


def _error_info(exc: ApiError) -> dict[str, Any]:
    """A whole-request error in the shape of a bulk item, so that one rule classifies both."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else str(exc)
    return {"status": exc.meta.status, "error": error}


def _load_chunk(
    client: Elasticsearch,
    alias: str,
    chunk: list[tuple[dict[str, Any], bytes]],
    *,
    max_chunk_bytes: int,
    unavailable_timeout: float,
    backoff: float,
) -> LoadResult:
    """One chunk of documents (each with its NDJSON lines), sent until each is indexed or
    rejected for good. Transient trouble (429, 502-504, node down, a connection cut) is retried
    for the documents it touched, with exponential backoff and jitter, up to
    ``unavailable_timeout``; any other error status rejects the document with the cluster's
    reason. A retry resends the same ids, so a document is indexed once however often sent."""
    result = LoadResult()
    pending = {doc["id"]: (doc, line) for doc, line in chunk}
    deadline = time.monotonic() + unavailable_timeout
    attempt = 0
    last_error = ""
    while pending:
        for body in _bodies([line for _, line in pending.values()], max_chunk_bytes):
            try:
                # The client sends bytes as they are (its NDJSON serialiser passes them on);
                # its annotation only names the list-of-dicts form.
                answer = client.bulk(
                    index=alias,
                    operations=cast(Sequence[Mapping[str, Any]], body),
                    filter_path=_BULK_FILTER,
                )
                items = [next(iter(item.values())) for item in answer.body.get("items", ())]
            except ApiError as exc:
                info = _error_info(exc)
                items = [{"_id": i, **info} for i in _ids(body)]
            except (ConnectionError, ConnectionTimeout, TransportError) as exc:
                # The whole request is sent again (same ids, so nothing is duplicated).
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            for info in items:
                status = info.get("status")
                doc_id = info.get("_id")
                if "error" not in info and isinstance(status, int) and status < 300:
                    result.indexed += 1
                    pending.pop(doc_id, None)
                elif status in _TRANSIENT:
                    last_error = _reason(info)[0]
                elif doc_id in pending:
                    reason, error_type = _reason(info)
                    result.rejected.append(Rejected(pending.pop(doc_id)[0], reason, error_type))
        if not pending:
            break
        if time.monotonic() >= deadline:
            raise ClusterUnavailableError(
                f"Elasticsearch did not accept {len(pending)} documents within "
                f"{unavailable_timeout:.0f}s; last error: {last_error}"
            )
        attempt += 1
        time.sleep(min(30.0, backoff * 2 ** min(attempt, 6)) * (0.5 + random.random()))
    return result


def _ids(body: bytes) -> list[str]:
    """The ids of a request body's documents, read back from its action lines (every other
    line) when the whole request failed."""
    lines = body.split(b"\n")
    return [orjson.loads(action)["index"]["_id"] for action in lines[0:-1:2]]


def _chunks(
    documents: Iterable[dict[str, Any]], size: int
) -> Iterator[list[tuple[dict[str, Any], bytes]]]:
    """``size`` documents at a time, each with its NDJSON lines: built here, on the calling
    thread, while the bulk threads send the chunks before, so that only bytes cross over."""
    it = iter(documents)
    while chunk := [(doc, _ndjson(doc)) for doc in itertools.islice(it, size)]:
        yield chunk


def bulk_load(
    client: Elasticsearch,
    alias: str,
    documents: Iterable[dict[str, Any]],
    *,
    chunk_size: int = 500,
    max_chunk_bytes: int = 10_000_000,
    concurrency: int = 1,
    unavailable_timeout: float = 120.0,
    backoff: float = 1.0,
) -> LoadResult:
    """Index documents through the alias in bulk requests of at most ``chunk_size`` documents
    and ``max_chunk_bytes`` bytes, ``concurrency`` requests at a time. Each document's
    ``content_hash`` is set to the hash of what it holds as it is sent.

    Every document ends indexed or in ``rejected`` with the cluster's reason; a 200 bulk
    response can still carry per-item errors, which are collected too. Each document is
    serialised once, by orjson, into the NDJSON the request carries (``_ndjson``), on the
    calling thread; the bulk threads only send and read the answers. Raises
    ``ClusterUnavailableError`` when the cluster stays unreachable past ``unavailable_timeout``.
    """
    load = functools.partial(
        _load_chunk,
        client,
        alias,
        max_chunk_bytes=max_chunk_bytes,
        unavailable_timeout=unavailable_timeout,
        backoff=backoff,
    )
    result = LoadResult()
    if concurrency <= 1:
        for chunk in _chunks(documents, chunk_size):
            result.add(load(chunk))
        return result
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bulk") as pool:
        in_flight: set[Future[LoadResult]] = set()
        for chunk in _chunks(documents, chunk_size):
            # Bounded look-ahead keeps memory flat however many documents come in.
            if len(in_flight) >= 2 * concurrency:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    result.add(future.result())
            in_flight.add(pool.submit(load, chunk))
        for future in in_flight:
            result.add(future.result())
    return result


def _when_reachable(action: Callable[[], Any], timeout: float, backoff: float = 1.0) -> Any:
    """``action()``, tried again while the cluster is unreachable or not ready (a restart, a
    network blip, shards still recovering), for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        try:
            return action()
        except (ConnectionError, ConnectionTimeout) as exc:
            error: Exception = exc
        except ApiError as exc:
            if exc.meta.status not in _TRANSIENT:
                raise
            error = exc
        if time.monotonic() >= deadline:
            raise ClusterUnavailableError(
                f"Elasticsearch unreachable for {timeout:.0f}s; last error: {error}"
            ) from error
        attempt += 1
        time.sleep(min(30.0, backoff * 2 ** min(attempt, 6)) * (0.5 + random.random()))


def drop_unchanged(
    client: Elasticsearch,
    alias: str,
    documents: list[dict[str, Any]],
    unavailable_timeout: float = 120.0,
) -> tuple[list[dict[str, Any]], int]:
    """Documents that differ from what the index holds (new ones included), and the number
    left out because the same document is indexed already: its stored ``content_hash`` is the
    hash of the document as it is now (facets, stories and versions included; only the
    per-run stamps left out). Waits up to ``unavailable_timeout`` for a cluster that cannot be
    reached, like the bulk requests."""
    if not documents:
        return [], 0
    found = _when_reachable(
        lambda: client.mget(index=alias, ids=[d["id"] for d in documents], source=["content_hash"]),
        unavailable_timeout,
    )
    stored = {d["_id"]: d["_source"].get("content_hash") for d in found["docs"] if d.get("found")}
    changed = [d for d in documents if stored.get(d["id"]) != content_hash(d)]
    return changed, len(documents) - len(changed)


def drop_repeats(
    documents: list[dict[str, Any]], seen: dict[str, str]
) -> tuple[list[dict[str, Any]], list[Failure]]:
    """Keep the first document of each canonical URL in a run (``seen`` spans its batches);
    the others are skips that name the page kept."""
    kept: list[dict[str, Any]] = []
    skips: list[Failure] = []
    for doc in documents:
        first = seen.setdefault(doc["id"], doc["url"])
        if first != doc["url"]:
            skips.append(Failure(doc["url"], "clean", f"same canonical URL as {first}"))
        else:
            kept.append(doc)
    return kept, skips


def load_documents(
    client: Elasticsearch,
    alias: str,
    documents: list[dict[str, Any]],
    run_id: str,
    *,
    chunk_size: int = 500,
    max_chunk_bytes: int = 10_000_000,
    concurrency: int = 1,
    unavailable_timeout: float = 120.0,
) -> LoadResult:
    """The load step: skip unchanged articles, bulk-index the rest, dead-letter rejections."""
    changed, unchanged = drop_unchanged(client, alias, documents, unavailable_timeout)
    result = bulk_load(
        client,
        alias,
        changed,
        chunk_size=chunk_size,
        max_chunk_bytes=max_chunk_bytes,
        concurrency=concurrency,
        unavailable_timeout=unavailable_timeout,
    )
    result.unchanged = unchanged
    record_dead_letters(client, alias, result.rejected, run_id)
    return result


# --- Dead letters ------------------------------------------------------------------------


def dead_letter_index(alias: str) -> str:
    return f"{alias}-deadletter"


def ensure_dead_letter_index(client: Elasticsearch, alias: str) -> str:
    return ensure_index_from_file(client, dead_letter_index(alias), "deadletter.json")


def record_dead_letters(
    client: Elasticsearch, alias: str, rejected: list[Rejected], run_id: str
) -> int:
    """Store rejected documents with their error and run id; raises if even that fails, so a
    document is never dropped without a record."""
    if not rejected:
        return 0
    index = ensure_dead_letter_index(client, alias)
    now = datetime.now(UTC).isoformat()
    actions = [
        {
            "_op_type": "index",
            "_index": index,
            "_id": r.document.get("id"),
            "_source": {
                "id": r.document.get("id"),
                "url": r.document.get("url"),
                "run_id": run_id,
                "stage": "load",
                "reason": r.reason,
                "error_type": r.error_type,
                "failed_at": now,
                "attempts": int(r.document.get("_attempts", 0)) + 1,
                "document": {k: v for k, v in r.document.items() if k != "_attempts"},
            },
        }
        for r in rejected
    ]
    errors = [
        item
        for ok, item in streaming_bulk(
            client, actions, raise_on_error=False, max_retries=5, initial_backoff=1
        )
        if not ok
    ]
    if errors:
        raise RuntimeError(f"could not record {len(errors)} dead letters in {index}: {errors[:3]}")
    client.indices.refresh(index=index)
    return len(actions)


def retry_dead_letters(client: Elasticsearch, alias: str, run_id: str) -> LoadResult:
    """Send every dead-lettered document again; those indexed now leave the dead-letter index,
    the others stay with their new error."""
    index = dead_letter_index(alias)
    if not client.indices.exists(index=index):
        return LoadResult()
    letters = [
        hit["_source"] for hit in scan(client, index=index, query={"query": {"match_all": {}}})
    ]
    result = bulk_load(client, alias, [letter["document"] for letter in letters])
    rejected_ids = {r.document["id"] for r in result.rejected}
    for r in result.rejected:
        previous = next(letter for letter in letters if letter["id"] == r.document["id"])
        r.document["_attempts"] = previous.get("attempts", 1)
    record_dead_letters(client, alias, result.rejected, run_id)
    done = [letter["id"] for letter in letters if letter["id"] not in rejected_ids]
    for ok, item in streaming_bulk(
        client,
        ({"_op_type": "delete", "_index": index, "_id": i} for i in done),
        raise_on_error=False,
    ):
        if not ok and next(iter(item.values())).get("status") != 404:
            raise RuntimeError(f"could not remove retried dead letter: {item}")
    client.indices.refresh(index=index)
    return result


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered document as a person reads it: where it came from and why it failed."""

    url: str
    run_id: str
    attempts: int
    reason: str
    failed_at: str


def list_dead_letters(
    client: Elasticsearch, alias: str, size: int = 20
) -> tuple[int, list[DeadLetter]]:
    """How many dead letters the alias has, and the newest ``size`` of them (without their
    documents); ``(0, [])`` when none was ever recorded."""
    index = dead_letter_index(alias)
    if not client.indices.exists(index=index):
        return 0, []
    hits = client.search(
        index=index, size=size, sort=[{"failed_at": "desc"}], source_excludes=["document"]
    )["hits"]
    letters = [
        DeadLetter(
            url=s["url"],
            run_id=s["run_id"],
            attempts=s["attempts"],
            reason=s["reason"],
            failed_at=s["failed_at"],
        )
        for s in (hit["_source"] for hit in hits["hits"])
    ]
    return hits["total"]["value"], letters


def count_dead_letters(client: Elasticsearch, alias: str) -> int:
    index = dead_letter_index(alias)
    if not client.indices.exists(index=index):
        return 0
    return client.count(index=index)["count"]


def refresh(client: Elasticsearch, alias: str) -> None:
    """Make everything loaded so far visible to search."""
    client.indices.refresh(index=alias)
