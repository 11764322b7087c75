"""Shards and replicas of new article indices, as the settings ask."""

from __future__ import annotations

from newsflow.store.indices import load_template, with_shards


def _index_settings(spec: dict) -> dict:
    return spec["template"]["settings"]["index"]


def test_unset_counts_keep_the_template_as_it_is():
    template = load_template()
    assert with_shards(template) == template
    assert _index_settings(template)["number_of_shards"] == 1
    assert _index_settings(template)["auto_expand_replicas"] == "0-1"


def test_shards_and_a_fixed_replica_count_replace_the_template_s():
    template = load_template()
    spec = with_shards(template, shards=3, replicas=1)
    index = _index_settings(spec)
    assert (index["number_of_shards"], index["number_of_replicas"]) == (3, 1)
    # auto_expand_replicas would override the fixed count: it must go.
    assert "auto_expand_replicas" not in index
    assert _index_settings(template)["auto_expand_replicas"] == "0-1"  # not changed in place
    assert with_shards(template, replicas=0)["template"]["settings"]["index"] == {
        **{k: v for k, v in _index_settings(template).items() if k != "auto_expand_replicas"},
        "number_of_replicas": 0,
    }
