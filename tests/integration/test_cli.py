"""The newsflow command as a user runs it, against the real node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from newsflow.cli import DEMO_CORPUS
from newsflow.corpus_server import page_urls
from newsflow.settings import Settings
from newsflow.transforms.batch.transform import transform_pages
from newsflow.transforms.fetch.download import read_file_page

NEWSFLOW = [sys.executable, "-m", "newsflow"]


def _run(args: list[str], settings: Settings, **env: str) -> subprocess.CompletedProcess:
    # The test site listens on 127.0.0.1: the fetch step's SSRF guard must be told it may.
    networks = json.dumps(settings.allowed_private_networks)
    environment = os.environ | {
        "NEWSFLOW_INDEX": settings.index,
        "NEWSFLOW_ALLOWED_PRIVATE_NETWORKS": networks,
        **env,
    }
    return subprocess.run(
        [*NEWSFLOW, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
        check=False,
    )


def test_run_then_search_with_facets_as_json(settings, site, tmp_path, es_client):
    urls = page_urls(DEMO_CORPUS, site)
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join([*urls[:12], f"{site}/gone.html"]) + "\n")
    ran = _run(["run", "--source", str(listing), "--json"], settings)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)  # stdout holds only the JSON object
    for key in ("discovered", "fetched", "cleaned", "enriched", "indexed", "skipped", "failed"):
        assert isinstance(summary[key], int)
    assert (summary["discovered"], summary["indexed"], summary["failed"]) == (13, 12, 1)
    assert summary["failures"] == [
        {"url": f"{site}/gone.html", "stage": "fetch", "reason": "HTTP 404"}
    ]

    found = _run(["search", "--json"], settings)
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert result["total"] == 12
    assert set(result["facets"]) == {"person", "organization", "location", "source", "language"}
    person = result["facets"]["person"][0]
    narrowed = json.loads(_run(["search", "--json", "--person", person["value"]], settings).stdout)
    assert narrowed["total"] == person["count"] < 12
    for hit in narrowed["hits"]:
        assert person["value"] in hit["entities"]["person"]
        assert set(hit) >= {"id", "url", "title", "published", "source", "entities"}


def test_run_in_a_state_directory_not_made_yet_without_a_prefect_server(settings, tmp_path):
    """A first run where nothing exists yet (an existing cluster, a new working directory):
    Prefect's ephemeral server gets a home for its database and the run completes."""
    page = tmp_path / "page"
    page.mkdir()
    (page / "a.html").write_bytes(next(DEMO_CORPUS.glob("*/*.html")).read_bytes())
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {
        "NEWSFLOW_ES_URL": settings.effective_es_url,
        "NEWSFLOW_INDEX": settings.index,
        "NEWSFLOW_STATE_DIR": str(tmp_path / "new" / ".newsflow"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "240",
    }
    ran = subprocess.run(
        [*NEWSFLOW, "run", "--source", str(page), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert json.loads(ran.stdout)["indexed"] == 1
    assert "a temporary server" in ran.stderr
    assert (tmp_path / "new" / ".newsflow" / "prefect" / "prefect.db").is_file()


def test_extract_prints_one_json_object_per_input(settings, tmp_path):
    page = next(DEMO_CORPUS.glob("*/*.html"))
    missing = tmp_path / "missing.html"
    done = _run(["extract", str(page), str(missing), "--json"], settings)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 2
    assert set(lines[0]) >= {
        "url",
        "title",
        "body",
        "authors",
        "published",
        "site_name",
        "language",
        "entities",
    }
    assert lines[0]["url"] == Path(page).resolve().as_uri()
    assert lines[1]["stage"] == "fetch" and "cannot read file" in lines[1]["error"]


def test_extract_shows_the_document_a_pipeline_worker_makes(settings):
    page = DEMO_CORPUS / "nordic-wire" / "gothenburg-port-strike.html"
    done = _run(["extract", str(page), "--json"], settings)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    url = page.resolve().as_uri()
    result = transform_pages(
        [read_file_page(url, settings.fetch_max_bytes)],
        model_name=settings.spacy_model,
        min_body_chars=settings.min_body_chars,
        run_id="test",
    )
    [document] = result.documents
    for name in ("title", "body", "authors", "published", "language", "quotes", "story_bands"):
        assert record[name] == document[name], name
    shown = [(t, e["name"], e["count"]) for t, es in record["entities"].items() for e in es]
    indexed = [(e["type"], e["name"], e["count"]) for e in document["entities"]]
    assert sorted(shown) == sorted(indexed) and len(indexed) > 5


def test_search_without_a_cluster_says_so(settings):
    done = _run(["search", "x"], settings, NEWSFLOW_ES_URL="http://127.0.0.1:1")
    assert done.returncode == 1
    assert "Elasticsearch at http://127.0.0.1:1 is not usable" in done.stderr


def test_index_commands_migrate_and_report(settings, site, tmp_path, es_client):
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(page_urls(DEMO_CORPUS, site)[:6]) + "\n")
    assert _run(["run", "--source", str(listing), "--backfill", "--json"], settings).returncode == 0
    stats = json.loads(_run(["index", "stats", "--json"], settings).stdout)
    assert (stats["documents"], stats["write_index"]) == (6, f"{settings.index}-v1")
    assert stats["dead_letters"] == 0 and stats["last_run"]["run_id"]

    migrated = _run(["index", "migrate"], settings)
    assert migrated.returncode == 0, migrated.stderr
    assert f"{settings.index}-v1 -> {settings.index}-v2" in migrated.stdout
    after = json.loads(_run(["index", "stats", "--json"], settings).stdout)
    assert (after["documents"], after["write_index"]) == (6, f"{settings.index}-v2")
    refused = _run(["index", "drop", f"{settings.index}-v2"], settings)
    assert refused.returncode == 1 and "behind the alias" in refused.stderr
    assert _run(["index", "drop", f"{settings.index}-v1"], settings).returncode == 0
    assert "no dead letters" in _run(["deadletter", "list"], settings).stdout
