from __future__ import annotations

import pytest
from pydantic import ValidationError

from newsflow.settings import Settings


def test_environment_overrides_yaml_file_which_overrides_defaults(tmp_path, monkeypatch):
    config = tmp_path / "newsflow.yaml"
    config.write_text("index: news\nspacy_model: my_model\nfetch_concurrency: 3\n")
    monkeypatch.setenv("NEWSFLOW_CONFIG", str(config))
    monkeypatch.setenv("NEWSFLOW_INDEX", "news-eu")
    s = Settings()
    assert (s.index, s.spacy_model, s.fetch_concurrency) == ("news-eu", "my_model", 3)


def test_local_node_is_used_only_when_no_url_is_configured(monkeypatch):
    monkeypatch.delenv("NEWSFLOW_ES_URL", raising=False)
    local = Settings(local_es_port=9333)
    assert local.uses_local_node and local.effective_es_url == "http://127.0.0.1:9333"
    monkeypatch.setenv("NEWSFLOW_ES_URL", "https://es.example:9243")
    remote = Settings()
    assert not remote.uses_local_node and remote.effective_es_url == "https://es.example:9243"


def test_secrets_are_masked(monkeypatch):
    monkeypatch.setenv("NEWSFLOW_ES_API_KEY", "c2VjcmV0LWtleQ==")
    monkeypatch.setenv("NEWSFLOW_ES_PASSWORD", "hunter2")
    shown = Settings().masked()
    assert shown["es_api_key"] == shown["es_password"] == "********"
    assert "hunter2" not in repr(Settings())


@pytest.mark.parametrize("bad", ["Articles", "a b", "news*", ""])
def test_invalid_alias_names_are_refused(bad):
    with pytest.raises(ValidationError, match="index alias"):
        Settings(index=bad)


def test_missing_config_file_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSFLOW_CONFIG", str(tmp_path / "absent.yaml"))
    with pytest.raises(FileNotFoundError, match="NEWSFLOW_CONFIG"):
        Settings()


def test_credentials_in_the_url_are_refused_without_echoing_them(monkeypatch):
    monkeypatch.setenv("NEWSFLOW_ES_URL", "https://elastic:s3cret@es.example:9200")
    with pytest.raises(ValidationError, match="must not hold credentials") as info:
        Settings()
    assert "s3cret" not in str(info.value).split("input_value")[0]


def test_the_worker_processes_runner_is_named_workers_and_its_old_name_still_works():
    assert Settings().task_runner == "workers"
    assert Settings(task_runner="threads").task_runner == "workers"


def test_the_client_is_given_every_node_of_a_local_cluster(monkeypatch):
    monkeypatch.delenv("NEWSFLOW_ES_URL", raising=False)
    assert Settings(local_es_port=9333).es_hosts == ["http://127.0.0.1:9333"]
    cluster = Settings(local_es_port=9251, local_es_nodes=2)
    assert cluster.es_hosts == ["http://127.0.0.1:9251", "http://127.0.0.1:9252"]
    assert cluster.effective_es_url == "http://127.0.0.1:9251"
    remote = Settings(es_url="https://es.example:9243", local_es_nodes=3)
    assert remote.es_hosts == ["https://es.example:9243"]
