from __future__ import annotations

from newsflow.transforms.batch.documents import document_id
from newsflow.transforms.clean.extract import normalize_url, source_of


def test_spellings_of_one_page_normalize_to_one_url_and_id():
    a = normalize_url("HTTPS://WWW.Example.com:443/news/a?utm_source=x&id=7#comments")
    b = normalize_url("https://www.example.com/news/a?id=7")
    assert a == b == "https://www.example.com/news/a?id=7"
    assert document_id(a) == document_id(b)
    assert document_id(a) != document_id("https://www.example.com/news/b?id=7")


def test_non_default_port_is_kept_and_source_drops_www():
    assert normalize_url("http://127.0.0.1:8399/x") == "http://127.0.0.1:8399/x"
    assert source_of("https://www.harbourgazette.example/a") == "harbourgazette.example"
