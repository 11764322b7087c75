from __future__ import annotations

import contextlib
import socket
import stat
import threading
import zipfile

import pytest
import yaml

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


def _config(node: es_local.Paths) -> dict:
    return yaml.safe_load((node.conf / "elasticsearch.yml").read_text())


def _fake_home(settings: Settings) -> None:
    config = es_local.paths(settings).home / "config"
    config.mkdir(parents=True)
    (config / "jvm.options").write_text("-XX:+UseG1GC\n")
    (config / "elasticsearch.yml").write_text("cluster.name: other\n")
    (config / "elasticsearch.keystore").write_bytes(b"the single node's own")


def test_a_single_node_keeps_its_layout_and_discovers_no_one(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSFLOW_LOCAL_ES_TRANSPORT_PORT", raising=False)
    settings = Settings(state_dir=tmp_path, local_es_port=9333)
    node = es_local.paths(settings)
    root = tmp_path / "elasticsearch"
    assert (node.data, node.logs, node.pid_file) == (
        root / "data",
        root / "logs",
        root / "elasticsearch.pid",
    )
    assert node.conf == node.home / "config" and node.url == "http://127.0.0.1:9333"
    _fake_home(settings)
    es_local._write_config(settings, node)
    config = _config(node)
    assert config["discovery.type"] == "single-node"
    assert config["transport.port"] == "9300-9399"  # Elasticsearch's own default range
    assert "discovery.seed_hosts" not in config and "cluster.initial_master_nodes" not in config


def test_cluster_nodes_have_ports_and_files_of_their_own_and_find_each_other(tmp_path):
    settings = Settings(
        es_url=None,
        state_dir=tmp_path,
        local_es_nodes=3,
        local_es_port=9251,
        local_es_transport_port=9351,
    )
    nodes = es_local.all_paths(settings)
    assert [n.http_port for n in nodes] == [9251, 9252, 9253]
    assert [n.transport_port for n in nodes] == [9351, 9352, 9353]
    for files in ("conf", "data", "logs", "tmp", "pid_file"):
        assert len({getattr(n, files) for n in nodes}) == 3, files
    assert len({n.home for n in nodes}) == 1  # one distribution for all
    assert settings.es_hosts == [n.url for n in nodes]
    _fake_home(settings)
    for node in nodes:
        es_local._write_config(settings, node)
    config = _config(nodes[1])
    assert config["node.name"] == "newsflow-local-2" and config["transport.port"] == 9352
    assert config["http.port"] == 9252 and config["path.data"] == str(nodes[1].data)
    assert config["discovery.seed_hosts"] == [f"127.0.0.1:{p}" for p in (9351, 9352, 9353)]
    assert "discovery.type" not in config
    assert config["cluster.initial_master_nodes"] == [n.name for n in nodes]
    # The distribution's JVM options, but neither its configuration nor its keystore.
    assert (nodes[1].conf / "jvm.options").read_text() == "-XX:+UseG1GC\n"
    assert not (nodes[1].conf / "elasticsearch.keystore").exists()

    # Once formed, a restarted node must not bootstrap a cluster of its own again.
    es_local._formed_marker(settings).touch()
    es_local._write_config(settings, nodes[1])
    assert "cluster.initial_master_nodes" not in _config(nodes[1])


def test_there_is_no_node_beyond_the_cluster(tmp_path):
    settings = Settings(state_dir=tmp_path, local_es_nodes=3)
    with pytest.raises(es_local.LocalNodeError, match=r"no node 4.*has 3"):
        es_local.paths(settings, 4)


def test_status_of_a_cluster_that_is_not_running(tmp_path):
    status = es_local.status(
        Settings(state_dir=tmp_path, local_es_nodes=3, local_es_port=1, local_es_transport_port=2)
    )
    assert len(status.nodes) == 3 and not status.running and not status.complete
    assert "cluster of 3 nodes: not running" in status.describe()


def test_a_port_taken_by_something_else_stops_the_start(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def refuse() -> None:  # accepts and hangs up, like a service that is not Elasticsearch
            with contextlib.suppress(OSError):
                while True:
                    server.accept()[0].close()

        threading.Thread(target=refuse, daemon=True).start()
        settings = Settings(es_url=None, state_dir=tmp_path, local_es_port=port)
        status = es_local.status(settings)
        assert status.nodes[0].foreign and not status.healthy
        with pytest.raises(es_local.LocalNodeError, match=f"port {port} is taken"):
            es_local.start(settings, log=lambda _m: None)
    assert not (tmp_path / "elasticsearch").exists()  # nothing installed
