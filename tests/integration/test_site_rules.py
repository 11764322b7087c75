"""A run with a site rules file (NEWSFLOW_SITE_RULES) indexes the body and date the rules
shape, for the pages of the rule's host only, and names that host's rule in the pipeline
version of its pages only; a bad rules file stops the run before anything is fetched."""

from __future__ import annotations

from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from newsflow.flows.ingest import ingest
from newsflow.settings import Settings
from newsflow.transforms import versions
from newsflow.transforms.batch.documents import document_id
from newsflow.transforms.clean.siterules import SiteRulesError
from newsflow.transforms.urls import canonicalize
from tests.support import local_site
from tests.unit.test_site_rules import EXTRA, PROMO, PROSE, page_html

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = """\
127.0.0.1:
  keep: ".story-body"
  drop: ["div.box-a"]
  date: "span.pubdate"
"""


def _run(settings: Settings, tmp_path: Path, rules: str, page: str) -> dict:
    site_dir = tmp_path / "site"
    site_dir.mkdir(exist_ok=True)
    (site_dir / "story.html").write_text(page)
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(rules)
    run = settings.model_copy(
        update={"site_rules": rules_file, "cpu_workers": 1, "archive_enabled": False}
    )
    with local_site(site_dir) as base_url:
        listing = tmp_path / "urls.txt"
        listing.write_text(f"{base_url}/story.html\n")
        summary = ingest([str(listing)], run)
        summary["url"] = f"{base_url}/story.html"
    summary["rules_file"] = rules_file
    return summary


def _document(es_client: Elasticsearch, alias: str, url: str) -> dict:
    es_client.indices.refresh(index=alias)
    return es_client.get(index=alias, id=document_id(canonicalize(url)))["_source"]


def test_a_run_with_a_rules_file_indexes_the_rule_shaped_body(
    settings: Settings, es_client: Elasticsearch, tmp_path: Path
):
    summary = _run(settings, tmp_path, RULES, page_html())
    assert summary["failures"] == [] and summary["indexed"] == 1
    doc = _document(es_client, settings.index, summary["url"])
    body = " ".join(doc["body"].split())
    assert all(p[:40] in body for p in PROSE)
    assert PROMO[:40] not in body  # dropped
    assert EXTRA[:40] not in body  # outside the kept node
    assert (doc["published"], doc["published_source"]) == ("2024-03-10", "site-rule")
    assert doc["published_day"] == "2024-03-10"
    clean = versions.clean_version(summary["rules_file"], summary["url"])
    assert doc["pipeline_version"].startswith(f"clean-{clean}+")
    # A page no rule covers (what the shipped, empty file gives every page) has another.
    assert clean != versions.clean_version(summary["rules_file"]) == versions.clean_version()


def test_rules_for_another_host_leave_the_page_as_the_generic_step_makes_it(
    settings: Settings, es_client: Elasticsearch, tmp_path: Path
):
    summary = _run(settings, tmp_path, RULES.replace("127.0.0.1", "harbour.example"), page_html())
    assert summary["indexed"] == 1
    doc = _document(es_client, settings.index, summary["url"])
    assert PROMO[:40] in doc["body"] and EXTRA[:40] in doc["body"]
    assert doc["published_source"] != "site-rule"
    # Nor its version: another host's rule is not part of it.
    assert doc["pipeline_version"] == versions.pipeline_version(
        settings.spacy_model, settings.aliases_path
    )


def test_a_bad_rules_file_stops_the_run_naming_the_file_and_entry(
    settings: Settings, es_client: Elasticsearch, tmp_path: Path
):
    with pytest.raises(SiteRulesError) as err:
        _run(settings, tmp_path, "127.0.0.1:\n  keep: 'div[['\n", page_html())
    assert str(tmp_path / "rules.yaml") in str(err.value) and "127.0.0.1" in str(err.value)
    assert not es_client.indices.exists_alias(name=settings.index)
