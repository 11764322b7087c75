from __future__ import annotations

from tests.support import load_manifest
from transforms.stories import story_key

BODY = (
    "Dockworkers at the port walked off the job on Wednesday after overnight talks collapsed, "
    "halting container traffic at the largest port in the region. " * 3
)


def test_republished_copies_share_a_key_whatever_the_dateline_case_or_ending():
    original = f"GOTHENBURG, Sweden (Nordic Wire) — {BODY}"
    copy = f"WORLD NEWS\nGOTHENBURG — {BODY.upper()}\n\n(Nordic Wire) Additional reporting."
    assert story_key(original) == story_key(copy)


def test_different_stories_get_different_keys():
    assert story_key(BODY) != story_key("Storm Isolde cut power to thousands of homes. " + BODY)


def test_the_demo_wire_story_pages_share_one_key(tmp_path):
    from pathlib import Path

    from newsflow.cli import DEMO_CORPUS
    from transforms.clean import clean_page
    from transforms.fetch import read_file_page

    keys: dict[str, set[str]] = {}
    for path, meta in load_manifest().items():
        page = read_file_page(Path(DEMO_CORPUS / path).resolve().as_uri(), 10**7)
        keys.setdefault(meta.get("story") or path, set()).add(story_key(clean_page(page).body))
    assert len(keys["wire-1"]) == 1
    others = [k for story, ks in keys.items() if story != "wire-1" for k in ks]
    assert len(set(others)) == len(others) and not keys["wire-1"] & set(others)
