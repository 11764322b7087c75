"""The shared extraction benchmark is found from CI's fresh clone as from the work tree."""

from __future__ import annotations

import subprocess

from tests.corpora import extraction_corpus


def _git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def test_a_clone_made_away_from_shared_finds_the_corpus_beside_its_origin(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSFLOW_EXTRACTION_CORPUS", raising=False)
    work = tmp_path / "work"
    corpus = work / "shared" / "corpus" / "article-extraction-benchmark"
    corpus.mkdir(parents=True)
    _git("init", "-q", str(work / "main"))
    _git(
        "-C",
        str(work / "main"),
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )

    clone = tmp_path / "ci" / "check"
    _git("clone", "-q", str(work / "main"), str(clone))

    assert extraction_corpus(work / "main") == corpus
    assert extraction_corpus(clone) == corpus


def test_the_environment_variable_wins_and_a_missing_corpus_names_the_first_place(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("NEWSFLOW_EXTRACTION_CORPUS", raising=False)
    lone = tmp_path / "lone"
    lone.mkdir()  # not a git checkout, no shared/ beside it
    first_place = tmp_path / "shared" / "corpus" / "article-extraction-benchmark"
    assert extraction_corpus(lone) == first_place
    monkeypatch.setenv("NEWSFLOW_EXTRACTION_CORPUS", str(tmp_path / "elsewhere"))
    assert extraction_corpus(lone) == tmp_path / "elsewhere"
