"""The ``english`` analyzer and ``asciifolding`` filter under their standard names.

The official image has them from analysis-common; the local integ-test-zip node from the
project's analysis-newsflow plugin. The same requests must give the same tokens on both.
"""

from __future__ import annotations

from elasticsearch import Elasticsearch


def tokens(response) -> list[str]:
    return [t["token"] for t in response["tokens"]]


def test_english_analyzer_stems(es_client: Elasticsearch):
    response = es_client.indices.analyze(analyzer="english", text="running stories")
    assert tokens(response) == ["run", "stori"]


def test_asciifolding_filter_folds_accents(es_client: Elasticsearch):
    response = es_client.indices.analyze(
        tokenizer="standard", filter=["lowercase", "asciifolding"], text="Zürich Café"
    )
    assert tokens(response) == ["zurich", "cafe"]


def test_asciifolding_preserve_original(es_client: Elasticsearch):
    response = es_client.indices.analyze(
        tokenizer="standard",
        filter=["lowercase", {"type": "asciifolding", "preserve_original": True}],
        text="Café",
    )
    assert tokens(response) == ["cafe", "café"]
