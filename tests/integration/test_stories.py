"""Story clusters and quotes across two ingest runs, into the real node."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from newsflow.cli import DEMO_CORPUS
from newsflow.flows.ingest import ingest
from newsflow.settings import Settings
from newsflow.store.search import entity_profile
from newsflow.transforms.batch.documents import content_hash, document_id
from newsflow.transforms.enrich.stories import story_bands_query

pytestmark = pytest.mark.usefixtures("prefect_harness")

WIRE_PAGES = [
    "harbour-gazette/gothenburg-dockworkers-strike.html",
    "nordic-wire/gothenburg-port-strike.html",
]
OTHER_PAGE = "nordic-wire/norwegian-salmon-exports-record.html"
WIRE = (DEMO_CORPUS / "WIRE_STORY.txt").read_text(encoding="utf-8").split("\n", 2)[2]
PARAS = [p for p in WIRE.split("\n") if p.strip()]
SAME_TOPIC = [
    "GOTHENBURG, Sweden — Dockworkers at the Port of Gothenburg returned to work on Monday after "
    "the Swedish Dockworkers' Union accepted a mediated deal with terminal operators.",
    "The agreement raises wages by 3.4 percent over two years and sets up a joint safety "
    "committee that must approve any new automated cranes before they are installed.",
    "“It is a fair result after a hard fight,” union chairman Anders Lindgren said after members "
    "voted by a large majority to accept the deal at a meeting on Sunday evening.",
    "Baltic Freight Lines said the first vessels diverted to Rotterdam would return this week "
    "and that clearing the backlog at inland depots could take up to a month.",
]


def _page(path: Path, url: str, title: str, published: str, paragraphs: list[str]) -> None:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    path.write_text(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="canonical" href="{url}">
<meta property="article:published_time" content="{published}">
<meta property="og:site_name" content="Test Times"></head>
<body><article><h1>{title}</h1>{body}</article></body></html>""",
        encoding="utf-8",
    )


def _source(es: Elasticsearch, alias: str, url: str) -> dict:
    return es.get(index=alias, id=document_id(url))["_source"]


def test_a_later_run_finds_the_story_by_its_bands_and_keeps_other_stories_apart(
    settings: Settings, es_client: Elasticsearch, tmp_path: Path
):
    run1 = tmp_path / "run1"
    run1.mkdir()
    for i, page in enumerate([*WIRE_PAGES, OTHER_PAGE]):
        shutil.copy(DEMO_CORPUS / page, run1 / f"{i}.html")
    first = ingest([str(run1)], settings)
    assert first["indexed"] == 3, first["failures"]
    es_client.indices.refresh(index=settings.index)
    hits = es_client.search(index=settings.index, size=10, query={"match_all": {}})["hits"]["hits"]
    by_url = {h["_source"]["canonical_url"]: h["_source"] for h in hits}
    wire = [d for d in by_url.values() if "gothenburg" in d["canonical_url"]]
    assert len(wire) == 2 and wire[0]["story_id"] == wire[1]["story_id"]
    story = wire[0]["story_id"]
    assert sum(d["story_lead"] for d in wire) == 1
    other = next(d for d in by_url.values() if "salmon" in d["canonical_url"])
    assert other["story_id"] != story and other["story_lead"] is True
    assert len(other["story_bands"]) == 33 and other["story_signature"]

    # Run 2: the wire story lightly edited on another site, published earlier, and another
    # story on the same topic.
    run2 = tmp_path / "run2"
    run2.mkdir()
    copy_url = "https://copy.example/news/port-strike"
    edited = [*PARAS[:5], *PARAS[6:], "Additional reporting by Test Times staff."]
    _page(run2 / "copy.html", copy_url, "Swedish port at standstill", "2026-10-13", edited)
    topic_url = "https://copy.example/news/port-deal"
    _page(
        run2 / "deal.html",
        topic_url,
        "Gothenburg dockworkers back at work",
        "2026-10-20",
        SAME_TOPIC * 2,
    )
    second = ingest([str(run2)], settings)
    assert second["indexed"] == 2, second["failures"]
    es_client.indices.refresh(index=settings.index)

    copy = _source(es_client, settings.index, copy_url)
    # One terms query on story_bands finds the run-1 copies of the story.
    found = es_client.search(index=settings.index, **story_bands_query(copy["story_bands"], 10))
    found_ids = {h["_id"] for h in found["hits"]["hits"]}
    assert {d["id"] for d in wire} <= found_ids
    assert copy["story_id"] == story
    # The earlier copy is now the story's only lead.
    members = es_client.search(index=settings.index, query={"term": {"story_id": story}}, size=10)[
        "hits"
    ]["hits"]
    assert len(members) == 3
    assert [m["_source"]["canonical_url"] for m in members if m["_source"]["story_lead"]] == [
        copy_url
    ]
    # The demoted lead's hash says what it holds now: a re-run would find it unchanged.
    for member in members:
        assert member["_source"]["content_hash"] == content_hash(member["_source"])
    deal = _source(es_client, settings.index, topic_url)
    assert deal["story_id"] == deal["id"] != story and deal["story_lead"] is True


def test_quotes_are_searchable_by_text_and_speaker_and_in_the_entity_profile(
    settings: Settings, es_client: Elasticsearch, tmp_path: Path
):
    shutil.copy(DEMO_CORPUS / WIRE_PAGES[0], tmp_path / "wire.html")
    summary = ingest([str(tmp_path)], settings)
    assert summary["indexed"] == 1, summary["failures"]
    es_client.indices.refresh(index=settings.index)

    by_text = es_client.search(
        index=settings.index,
        query={
            "nested": {
                "path": "quotes",
                "query": {"match": {"quotes.text": "fair offer"}},
                "inner_hits": {},
            }
        },
    )["hits"]["hits"]
    assert len(by_text) == 1
    inner = by_text[0]["inner_hits"]["quotes"]["hits"]["hits"][0]["_source"]
    assert inner["speaker"] == "Elin Bergqvist" and "fair offer" in inner["text"]

    by_speaker = es_client.count(
        index=settings.index,
        query={
            "nested": {"path": "quotes", "query": {"term": {"quotes.speaker": "Anders Lindgren"}}}
        },
    )["count"]
    assert by_speaker == 1

    profile = entity_profile(es_client, settings.index, "person", "Anders Lindgren")
    texts = [q["text"] for q in profile["quotes"]]
    assert any(t.startswith("Our members are not against new technology") for t in texts)
    assert {q["speaker"] for q in profile["quotes"]} == {"Anders Lindgren"}
