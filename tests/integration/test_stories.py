"""Story clusters and quotes across two ingest runs, into the real node."""

from __future__ import annotations

import html
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from newsflow.cli import DEMO_CORPUS
from newsflow.flows.ingest import ingest
from newsflow.settings import Settings
from newsflow.store.indices import ensure_index
from newsflow.store.load import load_documents
from newsflow.store.search import entity_profile
from newsflow.store.stories import apply_demotions, assign_stories
from newsflow.transforms.batch.documents import content_hash, document_id, to_document
from newsflow.transforms.enrich.stories import StoryClusters, story_bands_query
from newsflow.transforms.models import Article, EnrichedArticle

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


def _wire_document(url: str, published: str) -> dict:
    """An index document of the wire story at ``url``, as a run's transform step makes it."""
    article = Article(
        url=url,
        canonical_url=url,
        title="Dockworkers strike at Gothenburg",
        body="\n".join(PARAS),
        authors=[],
        published=published,
        site_name="Test Times",
        source="test.example",
        language="en",
        tags=[],
        section=None,
        description=None,
        image=None,
        fetched_at=datetime(2026, 10, 15, tzinfo=UTC),
        word_count=len(WIRE.split()),
    )
    return to_document(EnrichedArticle(article, []), "run-1", model_name=Settings().spacy_model)


def test_a_lead_demoted_while_it_was_still_loading_is_demoted_once_it_is_in(
    es_client: Elasticsearch, index_alias: str
):
    """A later batch can take the lead from a copy the loader has not indexed yet (the batches
    of a run load while the next ones are clustered): the run's last call demotes it, so the
    index never keeps two leads of one story and a re-run finds both copies unchanged."""
    ensure_index(es_client, index_alias)
    clusters = StoryClusters()
    later = _wire_document("https://b.example/strike", "2026-10-15")
    earlier = _wire_document("https://a.example/strike", "2026-10-14")
    assign_stories(es_client, index_alias, [later], clusters)
    assert later["story_lead"] is True
    # The next batch is clustered before the first one is loaded: the demotion finds nothing.
    assign_stories(es_client, index_alias, [earlier], clusters)
    assert earlier["story_lead"] is True and earlier["story_id"] == later["story_id"]
    assert clusters.pending_demotions == {later["id"]}
    loaded = load_documents(es_client, index_alias, [later, earlier], "run-1")
    assert loaded.indexed == 2
    assert es_client.get(index=index_alias, id=later["id"])["_source"]["story_lead"] is True

    assert apply_demotions(es_client, index_alias, clusters) == 0
    stored = es_client.get(index=index_alias, id=later["id"])["_source"]
    assert stored["story_lead"] is False
    assert stored["content_hash"] == content_hash(stored)
    # A re-run that makes the same two documents writes neither again.
    es_client.indices.refresh(index=index_alias)  # as a run does after its last load
    again = [_wire_document(d["url"], d["published"]) for d in (later, earlier)]
    assign_stories(es_client, index_alias, again, StoryClusters())
    assert [d["story_lead"] for d in again] == [False, True]
    assert load_documents(es_client, index_alias, again, "run-2").unchanged == 2
