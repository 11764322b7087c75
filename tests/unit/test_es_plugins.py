"""Building the analysis plugin: the zip is cached by its sources and the node's version."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile

import pytest

from newsflow import es_local, es_plugins
from newsflow.settings import Settings


@pytest.fixture(scope="module")
def es_home():
    """The real unpacked distribution (downloaded once, cached in ~/.cache/newsflow)."""
    return es_local.install(Settings(), log=lambda _m: None).home


@pytest.fixture(scope="module")
def java_home():
    return es_local.find_java_home()


def test_second_build_is_cached_and_runs_no_javac(es_home, java_home, tmp_path, monkeypatch):
    first = es_plugins.build_analysis_plugin(es_home, java_home, tmp_path)
    built_at = first.stat().st_mtime_ns

    def no_subprocess(command, *args, **kwargs):
        raise AssertionError(f"a cached build ran {command}")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    second = es_plugins.build_analysis_plugin(es_home, java_home, tmp_path)
    assert second == first
    assert second.stat().st_mtime_ns == built_at

    with zipfile.ZipFile(first) as zf:
        assert sorted(zf.namelist()) == [
            "analysis-newsflow.jar",
            "named_components.json",
            "stable-plugin-descriptor.properties",
        ]
        components = json.loads(zf.read("named_components.json"))
        descriptor = zf.read("stable-plugin-descriptor.properties").decode()
    assert components == {
        "org.elasticsearch.plugin.analysis.AnalyzerFactory": {
            "english": "newsflow.analysis.EnglishAnalyzerFactory"
        },
        "org.elasticsearch.plugin.analysis.TokenFilterFactory": {
            "asciifolding": "newsflow.analysis.AsciiFoldingTokenFilterFactory"
        },
    }
    assert f"elasticsearch.version={es_plugins.es_version(es_home)}" in descriptor
    assert "@" not in descriptor.split("version=", 1)[1]


def test_changed_sources_are_rebuilt(es_home, java_home, tmp_path):
    sources = tmp_path / "src-copy"
    shutil.copytree(es_plugins.PLUGIN_SOURCE_DIR, sources)
    build_dir = tmp_path / "build"
    first = es_plugins.build_analysis_plugin(es_home, java_home, build_dir, sources)

    java = next(sources.rglob("EnglishAnalyzerFactory.java"))
    java.write_text(java.read_text() + "\n// changed\n")
    second = es_plugins.build_analysis_plugin(es_home, java_home, build_dir, sources)
    assert second != first and second.is_file()
    assert not first.exists(), "the outdated zip is removed"


def test_compile_errors_carry_the_javac_output(es_home, java_home, tmp_path):
    sources = tmp_path / "src-copy"
    shutil.copytree(es_plugins.PLUGIN_SOURCE_DIR, sources)
    java = next(sources.rglob("EnglishAnalyzerFactory.java"))
    java.write_text(java.read_text().replace("new EnglishAnalyzer()", "new EnglishAnalyser()"))
    with pytest.raises(es_plugins.PluginBuildError) as info:
        es_plugins.build_analysis_plugin(es_home, java_home, tmp_path / "build", sources)
    assert isinstance(info.value, es_local.LocalNodeError)
    assert "EnglishAnalyser" in str(info.value) and "cannot find symbol" in str(info.value)
