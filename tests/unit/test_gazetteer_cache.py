"""The gazetteer's pickle in the cache directory: read instead of parsing GeoNames again, rebuilt
when its source changes, ignored (and replaced) when damaged."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from newsflow.transforms import pickle_cache
from newsflow.transforms.enrich import entities
from newsflow.transforms.enrich.entities import Place


@pytest.fixture
def fake_geonames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """GeoNames' files in a directory of the test's own, a build that counts its calls, and no
    table made yet in this process."""
    data = tmp_path / "geonames"
    data.mkdir()
    for name in entities._GEONAMES_FILES:
        (data / name).write_text("{}", encoding="utf-8")
    calls = {"builds": 0}

    def build() -> dict[str, Place]:
        calls["builds"] += 1
        return {"gothenburg": Place("Gothenburg", "city", 572_799)}

    monkeypatch.setattr(entities, "_geonames_dir", lambda: data)
    monkeypatch.setattr(entities, "_build_gazetteer", build)
    monkeypatch.setattr(entities, "_gazetteer", None)
    return calls


def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(entities, "_gazetteer", None)


def test_a_second_process_reads_the_table_from_the_cache(tmp_path, fake_geonames, monkeypatch):
    cache = tmp_path / "cache"
    first = entities.gazetteer(cache)
    assert fake_geonames["builds"] == 1 and (cache / "gazetteer.pickle").is_file()
    assert entities.gazetteer() is first  # once per process
    _new_process(monkeypatch)
    assert entities.gazetteer(cache) == first
    assert fake_geonames["builds"] == 1


def test_a_changed_source_file_rebuilds_the_table(tmp_path, fake_geonames, monkeypatch):
    cache = tmp_path / "cache"
    entities.gazetteer(cache)
    cities = tmp_path / "geonames" / "cities15000.json"
    cities.write_text('{"1": {}}', encoding="utf-8")  # another size
    _new_process(monkeypatch)
    entities.gazetteer(cache)
    assert fake_geonames["builds"] == 2
    # The same size, a new modification time (a reinstalled package): rebuilt too.
    info = cities.stat()
    os.utime(cities, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))
    _new_process(monkeypatch)
    entities.gazetteer(cache)
    assert fake_geonames["builds"] == 3
    _new_process(monkeypatch)
    entities.gazetteer(cache)
    assert fake_geonames["builds"] == 3  # and kept again


@pytest.mark.parametrize("damage", [b"", b"not a pickle at all", b"\x80\x05\x95garbage"])
def test_a_corrupt_cache_file_is_ignored_with_a_log_line_and_replaced(
    tmp_path, fake_geonames, monkeypatch, caplog, damage
):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "gazetteer.pickle").write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger=pickle_cache.__name__):
        table = entities.gazetteer(cache)
    assert table == {"gothenburg": Place("Gothenburg", "city", 572_799)}
    assert fake_geonames["builds"] == 1
    assert any("corrupt cache file" in r.getMessage() for r in caplog.records)
    _new_process(monkeypatch)
    assert entities.gazetteer(cache) == table and fake_geonames["builds"] == 1  # rewritten


def test_an_unwritable_cache_directory_costs_only_the_build(tmp_path, fake_geonames, caplog):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the directory should be", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger=pickle_cache.__name__):
        assert entities.gazetteer(blocker)
    assert any("cannot write the cache file" in r.getMessage() for r in caplog.records)


def test_the_cached_gazetteer_is_the_one_built_from_geonames(tmp_path, monkeypatch):
    monkeypatch.setattr(entities, "_gazetteer", None)
    built = entities.gazetteer(tmp_path)
    monkeypatch.setattr(entities, "_gazetteer", None)
    read = entities.gazetteer(tmp_path)
    assert read is not built and read == built
    assert read["gothenburg"].kind == "city" and read["sweden"].kind == "country"


def test_the_language_model_is_read_from_its_pickle_and_classifies_as_the_shipped_one(
    tmp_path, monkeypatch
):
    from py3langid import langid

    from newsflow.transforms.clean.extract import detect_language, load_language_model

    loads = {"n": 0}
    shipped = langid._load_identifier

    def counted():
        loads["n"] += 1
        return shipped()

    monkeypatch.setattr(langid, "_load_identifier", counted)
    monkeypatch.setattr(langid, "IDENTIFIER", None)
    load_language_model(tmp_path)
    assert loads["n"] == 1 and (tmp_path / "py3langid.pickle").is_file()
    texts = [
        "Dockworkers at the port of Gothenburg went on strike on Monday morning.",
        "Los estibadores del puerto se declararon en huelga el lunes por la mañana.",
        "Les dockers du port se sont mis en grève lundi matin après l'échec des négociations.",
    ]
    fresh = [detect_language(t) for t in texts]
    monkeypatch.setattr(langid, "IDENTIFIER", None)  # another process
    load_language_model(tmp_path)
    assert loads["n"] == 1  # read back, not decompressed again
    assert [detect_language(t) for t in texts] == fresh == ["en", "es", "fr"]
