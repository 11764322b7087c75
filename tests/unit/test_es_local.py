from __future__ import annotations

import stat
import zipfile

import pytest

from newsflow import es_local
from newsflow.settings import Settings


def test_no_suitable_java_explains_how_to_install_one(monkeypatch, tmp_path):
    old = tmp_path / "jdk11"
    (old / "bin").mkdir(parents=True)
    java = old / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\"' >&2\n")
    java.chmod(0o755)
    monkeypatch.setattr(es_local, "_java_home_candidates", lambda: [old, tmp_path / "absent"])
    with pytest.raises(es_local.LocalNodeError) as info:
        es_local.find_java_home()
    message = str(info.value)
    assert "JDK 17" in message and f"{old} (version 11)" in message
    assert es_local.JDK_INSTALL_HINT in message


def test_finds_a_jdk_on_this_machine():
    home = es_local.find_java_home()
    assert (home / "bin" / "java").is_file()


def test_extract_keeps_executable_bits(tmp_path):
    archive = tmp_path / "es.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("elasticsearch-1.0/bin/elasticsearch")
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        zf.writestr(info, "#!/bin/sh\n")
        zf.writestr("elasticsearch-1.0/config/elasticsearch.yml", "")
    dest = tmp_path / "home"
    es_local._extract(archive, dest)
    assert (dest / "bin" / "elasticsearch").stat().st_mode & 0o111
    assert (dest / "config" / "elasticsearch.yml").is_file()


def test_cached_archive_with_matching_checksum_is_not_downloaded_again(tmp_path, monkeypatch):
    settings = Settings(cache_dir=tmp_path, local_es_version="0.0.1")
    archive = tmp_path / "elasticsearch-0.0.1.zip"
    archive.write_bytes(b"archive bytes")
    (tmp_path / "elasticsearch-0.0.1.zip.sha512").write_text(es_local._sha512(archive) + "\n")

    def no_network(url):
        raise AssertionError(f"tried to download {url}")

    monkeypatch.setattr(es_local, "_fetch_text", no_network)
    assert es_local.download_archive(settings) == archive


def test_status_of_a_node_that_is_not_running(tmp_path):
    status = es_local.status(Settings(state_dir=tmp_path, local_es_port=1))
    assert not status.running and not status.healthy
    assert "not running" in status.describe()
