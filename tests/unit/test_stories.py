from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from newsflow.transforms.enrich.stories import (
    THRESHOLD,
    StoryClusters,
    StoryMember,
    StorySignature,
    assign_documents,
    jaccard,
    lead_key,
    signature,
    story_key,
)
from tests.support import DEMO_CORPUS, load_manifest

WIRE = (DEMO_CORPUS / "WIRE_STORY.txt").read_text(encoding="utf-8").split("\n", 2)[2]
PARAS = [p for p in WIRE.split("\n") if p.strip()]
# Another story on the same topic (a Gothenburg port strike), written independently.
SAME_TOPIC = """GOTHENBURG, Sweden — Dockworkers at the Port of Gothenburg returned to work on
Monday after the Swedish Dockworkers' Union accepted a mediated deal with terminal operators.
The agreement raises wages by 3.4 percent over two years and sets up a joint safety committee
that must approve any new automated cranes before they are installed at the container terminal.
Union chairman Anders Lindgren called the deal "a fair result after a hard fight" and said
members had voted by a large majority to accept it at a meeting on Sunday evening.
Baltic Freight Lines said the first vessels diverted to Rotterdam would return this week and
that clearing the backlog of containers at inland depots could take up to a month."""


def _sim(a: str, b: str) -> float:
    sa, sb = signature(a), signature(b)
    assert sa is not None and sb is not None
    return jaccard(sa.hashvalues, sb.hashvalues)


def _member(doc_id: str, body: str, published: str | None = None) -> StoryMember:
    sig = signature(body)
    assert sig is not None
    return StoryMember(doc_id, doc_id, sig.hashvalues, sig.bands, lead_key(published, doc_id))


def test_exact_copy_with_other_case_kicker_dateline_and_credit_line_is_the_same_text():
    copy = "WORLD NEWS\nGOTHENBURG (Wire) — " + WIRE.split(" — ", 1)[1].upper()
    copy += "\n(Nordic Wire) Additional reporting."
    assert signature(copy).bands == signature(WIRE).bands  # exact key included
    assert story_key(copy) == story_key(WIRE)


def test_lightly_edited_copies_stay_above_the_threshold_and_other_stories_far_below():
    dropped = "\n".join(p for i, p in enumerate(PARAS) if i != 4)
    extra = "Shares of the operator fell 2 percent in Stockholm."
    added = "\n".join([*PARAS[:3], extra, *PARAS[3:]])
    assert _sim(WIRE, dropped) >= THRESHOLD + 0.2
    assert _sim(WIRE, added) >= THRESHOLD + 0.2
    assert _sim(WIRE, SAME_TOPIC) < THRESHOLD / 2


def test_signature_round_trips_and_short_or_empty_bodies_have_none():
    sig = signature(WIRE)
    assert sig is not None and len(sig.bands) == 33 and sig.bands[0].startswith("x:")
    assert (StorySignature.decode(sig.encode()) == sig.hashvalues).all()
    assert signature("") is None and signature("Too short to say.") is None
    with pytest.raises(ValueError):
        StorySignature.decode("AAAA")


def test_clusters_join_copies_keep_other_stories_apart_and_pick_the_earliest_lead():
    clusters = StoryClusters()
    later = _member("site-b", WIRE, "2026-10-14T21:20:00+00:00")
    earlier = _member("site-a", "\n".join(PARAS[:-1]), "2026-10-14")
    other = _member("site-c", SAME_TOPIC, "2026-10-13")
    result = clusters.assign([later, other, earlier])
    assert result[0].story_id == result[2].story_id != result[1].story_id
    assert [r.lead for r in result] == [False, True, True]
    # The story id is the first copy's (by lead order), whatever the batch order.
    assert result[0].story_id == "site-a"


def test_lead_order_is_deterministic_published_then_url():
    assert lead_key("2026-10-14", "b") < lead_key("2026-10-14T01:00:00+00:00", "a")
    assert lead_key("2026-10-14", "a") < lead_key("2026-10-14", "b")
    assert lead_key("2026-10-14", "z") < lead_key(None, "a")
    assert lead_key("not a date", "a") == lead_key(None, "a")


def _wire_doc(url: str, fetched_at: str) -> dict:
    sig = signature(WIRE)
    assert sig is not None
    return {
        "id": url,
        "url": url,
        "published": "2026-10-14",  # a date alone: copies of one day tie on it
        "fetched_at": fetched_at,
        "story_id": url,
        "story_lead": True,
        "story_bands": list(sig.bands),
        "story_signature": sig.encode(),
    }


def test_a_rerun_that_fetches_the_copies_in_another_order_keeps_the_lead():
    a, b = "https://a.example/strike", "https://b.example/strike"
    first = [_wire_doc(a, "2026-10-14T10:00:00+00:00"), _wire_doc(b, "2026-10-14T10:01:00+00:00")]
    clusters = StoryClusters()
    for doc in first:  # one batch each
        assign_documents(clusters, [doc])
    assert [d["story_lead"] for d in first] == [True, False]
    # The next run finds both indexed, fetches b first, and clusters a's batch first.
    again = StoryClusters()
    for doc in first:
        again.remember(StoryMember.from_source(doc, indexed=True))
    second = [_wire_doc(a, "2026-10-15T11:01:00+00:00"), _wire_doc(b, "2026-10-15T11:00:00+00:00")]
    for doc in second:
        assign_documents(again, [doc])
    assert [(d["story_id"], d["story_lead"]) for d in second] == [
        (d["story_id"], d["story_lead"]) for d in first
    ]
    assert not again.pending_demotions  # nothing to write again


def test_a_later_run_joins_the_indexed_story_and_demotes_a_later_indexed_lead():
    indexed = {
        "id": "old",
        "url": "https://a.example/1",
        "published": "2026-10-15",
        "fetched_at": None,
        "story_id": "story-1",
        "story_lead": True,
        "story_bands": list(signature(WIRE).bands),
        "story_signature": signature(WIRE).encode(),
    }
    clusters = StoryClusters()
    clusters.remember(StoryMember.from_source(indexed, indexed=True))
    new = dict(indexed, id="new", url="https://b.example/2", published="2026-10-14")
    edited = "\n".join(PARAS[1:])
    sig = signature(edited)
    new.update(story_bands=list(sig.bands), story_signature=sig.encode())
    assign_documents(clusters, [new])
    assert new["story_id"] == "story-1" and new["story_lead"] is True
    assert clusters.pending_demotions == {"old"}


def test_re_running_an_indexed_article_keeps_its_story():
    clusters = StoryClusters()
    first = _member("a", WIRE)
    first.story_id = "kept"
    first.indexed = True
    clusters.remember(first)
    again = _member("a", WIRE)
    assert clusters.assign([again])[0].story_id == "kept"


def test_the_demo_wire_story_pages_share_one_story_and_no_other_page_joins():
    from newsflow.transforms.clean.extract import clean_page
    from newsflow.transforms.fetch.download import read_file_page

    members, stories = [], []
    for path, meta in sorted(load_manifest().items()):
        page = read_file_page(Path(DEMO_CORPUS / path).resolve().as_uri(), 10**7)
        article = clean_page(page)
        sig = signature(article.body)
        key = lead_key(meta["published"], path)
        members.append(StoryMember(path, path, sig.hashvalues, sig.bands, key))
        stories.append(meta.get("story") or path)
    assigned = [a.story_id for a in StoryClusters().assign(members)]
    wire = {s for s, truth in zip(assigned, stories, strict=True) if truth == "wire-1"}
    assert len(wire) == 1
    others = [s for s, truth in zip(assigned, stories, strict=True) if truth != "wire-1"]
    assert len(set(others)) == len(others) and not wire & set(others)


def test_a_run_keeps_a_bounded_window_of_members_and_still_clusters_within_it():
    clusters = StoryClusters(max_members=3)
    unrelated = [" ".join(f"w{n}x{k}" for k in range(120)) for n in range(3)] + [SAME_TOPIC]
    others = [_member(f"other-{i}", body) for i, body in enumerate(unrelated)]
    clusters.assign(others)
    assert len(clusters.members) == 3
    banded = clusters.by_band.values()
    remembered = {i for ids in banded for i in ([ids] if isinstance(ids, str) else ids)}
    assert remembered <= set(clusters.members)  # forgotten members leave no band keys behind
    assert set(clusters.leads.values()) <= set(clusters.members)
    # Two copies arriving together still share a story with a full window.
    first, copy = _member("wire-a", WIRE), _member("wire-b", WIRE + "\nCopyright Nordic Wire.")
    result = clusters.assign([first, copy])
    assert result[0].story_id == result[1].story_id == "wire-a"
    assert len(clusters.members) == 3


def _demo_bodies() -> list[str]:
    from newsflow.transforms.clean.extract import clean_page
    from newsflow.transforms.fetch.download import read_file_page

    bodies = []
    for path in sorted(load_manifest()):
        page = read_file_page(Path(DEMO_CORPUS / path).resolve().as_uri(), 10**7)
        bodies.append(clean_page(page).body)
    return bodies


def test_numpy_minhash_gives_datasketchs_values_and_near_duplicate_decisions():
    """The signature was datasketch's MinHash (affine32, seed 1) until it was computed in numpy
    to spare every command the import of scipy; indexed signatures and band keys stay valid only
    if the values are the same, so every pair of demo pages must be judged as before."""
    datasketch = pytest.importorskip("datasketch")
    from newsflow.transforms.enrich import stories

    def reference(body: str):
        words = stories.story_words(body)
        n = stories.SHINGLE_WORDS
        shingles = {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)}
        mh = datasketch.MinHash(num_perm=stories.NUM_PERM, seed=stories.SEED, scheme="affine32")
        mh.update_batch(shingles)
        return mh.hashvalues

    bodies = [*_demo_bodies(), WIRE, SAME_TOPIC, "\n".join(PARAS[:-1])]
    ours = [signature(b) for b in bodies]
    theirs = [reference(b) for b in bodies]
    assert all(s is not None for s in ours)
    for sig, values in zip(ours, theirs, strict=True):
        assert sig is not None and sig.hashvalues.dtype == np.uint32
        assert (sig.hashvalues == values).all()
    decisions = [
        (i, j)
        for i in range(len(bodies))
        for j in range(i + 1, len(bodies))
        if jaccard(ours[i].hashvalues, ours[j].hashvalues) >= THRESHOLD  # type: ignore[union-attr]
    ]
    before = [
        (i, j)
        for i in range(len(bodies))
        for j in range(i + 1, len(bodies))
        if jaccard(theirs[i], theirs[j]) >= THRESHOLD
    ]
    assert decisions == before and decisions  # the wire copies are near-duplicates
