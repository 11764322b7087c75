"""The bulk bodies the loader builds: each document serialised once, as the cluster reads it."""

from __future__ import annotations

import json

import orjson

from newsflow.store.load import _bodies, _ids, _ndjson
from newsflow.transforms.batch.documents import content_hash
from tests.unit.test_documents import _document


def test_a_document_becomes_an_action_line_and_its_source_with_the_hash_it_now_holds():
    doc = _document()
    doc["content_hash"] = "stale hash from an older run"
    line = _ndjson(doc)
    action, source, end = line.split(b"\n")
    assert end == b""  # each document's lines end with a newline
    assert json.loads(action) == {"index": {"_id": doc["id"]}}
    assert doc["content_hash"] == content_hash(doc) != "stale hash from an older run"
    assert json.loads(source) == doc  # every field, run fields and the new hash included


def test_the_run_fields_are_spliced_into_the_canonical_bytes_as_one_json_object():
    doc = {"id": "x", "run_id": "r", "indexed_at": "2026-12-06T00:00:00+00:00"}
    _, source, _ = _ndjson(doc).split(b"\n")
    assert orjson.loads(source) == doc  # "content_hash" set by _ndjson, so part of doc
    assert source.count(b"{") == source.count(b"}") == 1


def test_bodies_stay_under_the_byte_limit_and_lose_no_line():
    lines = [_ndjson(_document() | {"id": f"d{n}", "title": "t" * (50 * n)}) for n in range(12)]
    limit = 3 * max(map(len, lines))
    bodies = list(_bodies(lines, limit))
    assert len(bodies) > 1
    assert all(len(b) <= limit for b in bodies)
    assert b"".join(bodies) == b"".join(lines)
    assert [i for b in bodies for i in _ids(b)] == [f"d{n}" for n in range(12)]


def test_a_document_larger_than_the_limit_goes_alone():
    lines = [_ndjson(_document() | {"id": f"d{n}"}) for n in range(3)]
    assert list(_bodies(lines, 10)) == lines
