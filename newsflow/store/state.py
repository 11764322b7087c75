"""Crawl state in Elasticsearch, so every machine running the flow sees the same state.

Two look-ups make runs incremental: the validators (``ETag``/``Last-Modified``) each feed and
sitemap last answered with, kept in the small index ``<alias>-state`` (``mappings/state.json``),
and the articles already in the articles alias, looked up by ``url``/``canonical_url`` with one
terms query per chunk of URLs. A missing index means "nothing known yet", never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers

from newsflow.resources import MAPPINGS_DIR
from newsflow.transforms.models import SourceState, Validators

log = logging.getLogger(__name__)

LOOKUP_CHUNK = 500


def state_index(alias: str) -> str:
    return f"{alias}-state"


def _state_id(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:40]


def ensure_state_index(client: Elasticsearch, alias: str) -> str:
    """Create ``<alias>-state`` from ``mappings/state.json`` unless it exists."""
    name = state_index(alias)
    if not client.indices.exists(index=name):
        spec = json.loads((MAPPINGS_DIR / "state.json").read_text(encoding="utf-8"))
        # 400 = created meanwhile by another run: fine.
        client.options(ignore_status=400).indices.create(
            index=name, settings=spec["settings"], mappings=spec["mappings"]
        )
    return name


def _chunks(items: list[str], size: int = LOOKUP_CHUNK) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class EsCrawlState:
    """The crawl state of one articles alias, read and written in Elasticsearch."""

    def __init__(self, client: Elasticsearch, alias: str) -> None:
        self.client, self.alias = client, alias

    def validators(self, urls: list[str]) -> dict[str, Validators]:
        """Stored validators per feed/sitemap URL (only URLs that have some)."""
        found: dict[str, Validators] = {}
        for chunk in _chunks(sorted(set(urls))):
            try:
                reply = self.client.mget(
                    index=state_index(self.alias), ids=[_state_id(u) for u in chunk]
                )
            except NotFoundError:
                return {}
            for doc in reply["docs"]:
                src = doc.get("_source") if doc.get("found") else None
                if src and (src.get("etag") or src.get("last_modified")):
                    found[src["url"]] = Validators(src.get("etag"), src.get("last_modified"))
        return found

    def save(self, states: Iterable[SourceState]) -> int:
        """Remember validators and last-seen time; returns the number of documents written."""
        now = datetime.now(UTC).isoformat()
        actions = []
        for s in states:
            doc = {
                "url": s.url,
                "kind": s.kind,
                "source": s.source,
                "last_status": s.status,
                "last_seen": now,
            }
            if s.changed:
                # A 304 keeps the validators already stored (partial update below).
                doc |= {
                    "etag": s.validators.etag,
                    "last_modified": s.validators.last_modified,
                    "last_changed": now,
                }
            actions.append(
                {
                    "_op_type": "update",
                    "_index": state_index(self.alias),
                    "_id": _state_id(s.url),
                    "doc": doc,
                    "doc_as_upsert": True,
                }
            )
        if not actions:
            return 0
        try:
            ensure_state_index(self.client, self.alias)
            written, errors = helpers.bulk(self.client, actions, raise_on_error=False)
        except (ApiError, TransportError) as exc:
            # The run's articles are loaded; without state the next run just reads every
            # feed in full again.
            log.warning("crawl state not saved in %s: %s", state_index(self.alias), exc)
            return 0
        # A list of errors without stats_only (the annotation also allows a count).
        for error in errors if isinstance(errors, list) else ():
            log.warning("crawl state not saved: %s", error)
        return written

    def indexed(self, urls: list[str]) -> dict[str, datetime]:
        """``fetched_at`` of the URLs already in the articles alias (by url or canonical_url).

        ``urls`` are spelt by ``transforms/urls.py canonicalize``, as discovery gives them: the
        clean step spells ``canonical_url`` with it too, so the terms match exactly."""
        found: dict[str, datetime] = {}
        wanted = set(urls)
        for chunk in _chunks(sorted(wanted)):
            try:
                reply = self.client.search(
                    index=self.alias,
                    query={
                        "bool": {
                            "should": [
                                {"terms": {"url": chunk}},
                                {"terms": {"canonical_url": chunk}},
                            ]
                        }
                    },
                    source={"includes": ["url", "canonical_url", "fetched_at"]},
                    size=min(2 * len(chunk), 10_000),
                )
            except NotFoundError:
                return {}  # no articles index yet: nothing indexed
            for hit in reply["hits"]["hits"]:
                src = hit["_source"]
                fetched = _parse_date(src.get("fetched_at"))
                for key in (src.get("url"), src.get("canonical_url")):
                    if key in wanted:
                        found[key] = max(found.get(key, fetched), fetched)
        return found


def _parse_date(value: str | None) -> datetime:
    if not value:
        return datetime.min.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
