"""An index made by an older mapping version is brought up to date in place when the new
version only adds fields, and refused with a pointer to `index migrate` when it changes one;
the versions of an alias are its `<alias>-v<N>` indices only."""

from __future__ import annotations

import copy

import pytest
from elasticsearch import Elasticsearch

from newsflow.store.indices import (
    IndexSetupError,
    ensure_index,
    load_template,
    mapping_version,
    versions,
)


def older_spec(drop: str) -> dict:
    spec = copy.deepcopy(load_template())
    spec["mapping_version"] -= 1
    spec["template"]["mappings"]["_meta"]["mapping_version"] -= 1
    del spec["template"]["mappings"]["properties"][drop]
    return spec


def test_added_fields_reach_an_existing_index(es_client: Elasticsearch, index_alias: str) -> None:
    old = older_spec(drop="section")
    index = ensure_index(es_client, index_alias, old)
    assert (
        "section" not in es_client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    )
    # Strict mapping: a document with the new field is refused by the old index.
    with pytest.raises(Exception, match="strict_dynamic_mapping_exception"):
        es_client.index(index=index_alias, id="x", document={"section": "Business"})

    assert ensure_index(es_client, index_alias) == index  # same index, upgraded in place
    assert mapping_version(es_client, index) == load_template()["mapping_version"]
    es_client.index(index=index_alias, id="x", document={"section": "Business"}, refresh=True)
    found = es_client.search(index=index_alias, query={"term": {"section": "Business"}})
    assert found["hits"]["total"]["value"] == 1


def test_a_changed_field_asks_for_a_migration(es_client: Elasticsearch, index_alias: str) -> None:
    old = older_spec(drop="section")
    old["template"]["mappings"]["properties"]["word_count"] = {"type": "keyword"}
    ensure_index(es_client, index_alias, old)
    with pytest.raises(IndexSetupError, match="index migrate"):
        ensure_index(es_client, index_alias)


def test_a_field_added_without_a_version_bump_still_arrives(
    es_client: Elasticsearch, index_alias: str
) -> None:
    same_version = copy.deepcopy(load_template())
    del same_version["template"]["mappings"]["properties"]["section"]
    index = ensure_index(es_client, index_alias, same_version)
    ensure_index(es_client, index_alias)
    properties = es_client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert properties["section"]["type"] == "keyword"


def test_versions_are_the_numbered_indices_of_the_alias_only(
    es_client: Elasticsearch, index_alias: str
) -> None:
    ensure_index(es_client, index_alias)
    others = ("-v10", "-v9", "-v2-copy", "-videos-v1")  # the last two match the wildcard
    for suffix in others:
        es_client.indices.create(index=index_alias + suffix)
    assert versions(es_client, index_alias) == [
        f"{index_alias}-v1",
        f"{index_alias}-v9",
        f"{index_alias}-v10",
    ]
