"""A re-run writes an article again exactly when its document would change, facets included:
the demo pages served on 127.0.0.1, the ingest flow with worker processes, the real node."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from newsflow.flows.ingest import ingest
from newsflow.settings import Settings
from newsflow.transforms import versions
from tests.support import alias_table

pytestmark = pytest.mark.usefixtures("prefect_harness")

STRIKE = "nordic-wire/gothenburg-port-strike.html"  # names Anders Lindgren
OTHER = "harbour-gazette/storm-isolde-power-cuts.html"


def _by_url(es_client: Elasticsearch, alias: str) -> dict[str, dict]:
    es_client.indices.refresh(index=alias)
    hits = es_client.search(index=alias, size=10)["hits"]["hits"]
    return {hit["_source"]["url"]: hit["_source"] for hit in hits}


def test_a_changed_alias_table_reaches_the_index_and_nothing_is_unchanged(
    settings: Settings, site: str, es_client: Elasticsearch, tmp_path
):
    urls = [f"{site}/{STRIKE}", f"{site}/{OTHER}"]
    source = tmp_path / "urls.txt"
    source.write_text("\n".join(urls) + "\n")
    # Two batches, two workers: the transform runs in spawned processes, as in production.
    run = settings.model_copy(update={"archive_enabled": False, "batch_size": 1, "cpu_workers": 2})

    first = ingest([str(source)], run)
    assert first["failures"] == [] and first["indexed"] == 2
    before = _by_url(es_client, run.index)
    assert "Anders Lindgren" in before[urls[0]]["person"]
    again = ingest([str(source)], run)
    assert (again["indexed"], again["unchanged"], again["failures"]) == (0, 2, [])

    table = alias_table(
        tmp_path / "aliases.json", person={"Anders J. Lindgren": ["Anders Lindgren"]}
    )
    renamed = run.model_copy(update={"aliases_path": table})
    third = ingest([str(source)], renamed)

    assert third["failures"] == []
    assert (third["indexed"], third["unchanged"]) == (2, 0)
    after = _by_url(es_client, run.index)
    person = after[urls[0]]["person"]
    assert "Anders J. Lindgren" in person and "Anders Lindgren" not in person
    assert after[urls[0]]["content_hash"] != before[urls[0]]["content_hash"]
    # The other article's facets are the same, but it was enriched by another version.
    current = versions.enrichment_version(renamed.spacy_model, table)
    assert after[urls[1]]["person"] == before[urls[1]]["person"]
    assert {doc["enrichment_version"] for doc in after.values()} == {current}
