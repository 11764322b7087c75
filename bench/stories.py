"""Story clusters: false merges and misses, old opening-hash key vs MinHash/LSH.

    .venv/bin/python bench/stories.py            # figures, threshold sweep, worst pairs

Items (each with the story it truly tells):

- every page of ``demo/corpus`` cleaned by the pipeline's clean step; the manifests' ``story``
  says which pages tell the same story ("wire-1" on four sites), every other page is a story
  of its own;
- lightly edited copies of every English page with at least 6 paragraphs (seeded RNG): one
  sentence dropped; one sentence added mid-body plus a credit line; a new kicker and dateline
  over the body; a paragraph dropped, another reordered and a credit line (the heaviest edit);
  all tell the original's story;
- different stories on the same topic: besides the corpus's own (three port stories, two
  storms), for each English page A a "follow-up": a fresh body (a hand-checked body of
  ``tests/data/extraction-benchmark``, 250+ words) with two background paragraphs of A pasted
  into its middle, as a newsroom writes the next story of a running one; it must not join A's
  story.

Every item goes through ``StoryClusters.assign`` in one batch (as one run would) and through
the old key (SHA-1 of the first 60 normalised words). Pairs of items: a false merge is a pair
in one predicted story that tells two stories; a miss is a pair telling one story that got two.
Ends with ``old_false_merges=.. old_misses=.. minhash_false_merges=.. minhash_misses=..``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import unicodedata
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsflow.transforms.clean.extract import clean_page  # noqa: E402
from newsflow.transforms.enrich.stories import (  # noqa: E402
    THRESHOLD,
    StoryClusters,
    StoryMember,
    jaccard,
    lead_key,
    signature,
)
from newsflow.transforms.fetch.download import read_file_page  # noqa: E402
from newsflow.transforms.models import Article, Failure  # noqa: E402
from tests.corpora import EXTRACTION_BENCHMARK  # noqa: E402
from tests.support import load_manifest  # noqa: E402

CORPUS = ROOT / "demo" / "corpus"
BENCHMARK_TRUTH = EXTRACTION_BENCHMARK / "ground-truth.json"
_WORD = re.compile(r"\w+")
_DATELINE = re.compile(r"^[^\n]{0,80}?\s[—–-]{1,2}\s")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")


def old_story_key(body: str, words: int = 60) -> str:
    """The key before MinHash (commit ed3bb6c): hash of the first 60 words after kickers."""
    lines = unicodedata.normalize("NFKC", body).strip().splitlines()
    while len(lines) > 1 and len(_WORD.findall(lines[0])) < 8:
        lines.pop(0)
    text = _DATELINE.sub("", "\n".join(lines), count=1)
    tokens = _WORD.findall(text.casefold())[:words]
    return hashlib.sha1(" ".join(tokens).encode("utf-8")).hexdigest()[:16]


def corpus_items() -> list[tuple[str, str, str]]:
    """(name, story, body) of every demo page the clean step keeps."""
    out = []
    for path, meta in sorted(load_manifest().items()):
        article = clean_page(read_file_page((CORPUS / path).resolve().as_uri(), 10**7))
        if isinstance(article, Failure):
            print(f"  skipped {path}: {article.reason}")
            continue
        assert isinstance(article, Article)
        out.append((path, meta.get("story") or path, article.body))
    return out


def paragraphs(body: str) -> list[str]:
    return [p for p in body.split("\n") if p.strip()]


def edited_copies(name: str, body: str, rng: random.Random) -> list[tuple[str, str]]:
    """Lightly edited republications of one body."""
    paras = paragraphs(body)
    out = []
    # One sentence dropped.
    i = rng.randrange(1, len(paras))
    sentences = _SENTENCE.split(paras[i])
    drop = rng.randrange(len(sentences))
    kept = " ".join(s for j, s in enumerate(sentences) if j != drop)
    edited = [*paras[:i], kept, *paras[i + 1 :]]
    out.append((f"{name}#drop-sentence", "\n".join(p for p in edited if p)))
    # One sentence added mid-body, credit line at the end.
    i = rng.randrange(1, len(paras))
    added = "The company did not immediately respond to a request for comment on Thursday."
    edited = [*paras[:i], paras[i] + " " + added, *paras[i + 1 :]]
    out.append((f"{name}#add-sentence", "\n".join([*edited, "(Reporting by Staff; Editing)"])))
    # New kicker and dateline.
    first = _DATELINE.sub("", paras[0], count=1)
    kicker = ["WORLD NEWS", "BREAKING: LATEST", f"LONDON, {rng.randint(1, 28)} Oct (Wire) — "]
    out.append((f"{name}#kicker", "\n".join([kicker[0], kicker[2] + first, *paras[1:]])))
    # Heaviest: a paragraph dropped, two swapped, credit line.
    edited = list(paras)
    del edited[rng.randrange(1, len(edited))]
    j = rng.randrange(1, len(edited) - 1)
    edited[j], edited[j + 1] = edited[j + 1], edited[j]
    out.append((f"{name}#heavy", "\n".join([*edited, "Additional reporting by the newsdesk."])))
    return out


def fresh_bodies() -> list[tuple[str, str]]:
    """Article bodies no item tells (the hand-checked bodies of the extraction benchmark): the new
    developments of the follow-ups."""
    truth = json.loads(BENCHMARK_TRUTH.read_text(encoding="utf-8"))
    out = []
    for key, entry in sorted(truth.items()):
        body = entry.get("articleBody") or ""
        if len(_WORD.findall(body)) >= 250:
            out.append((key, body))
    return out


def follow_up(a_name: str, a_body: str, f_name: str, f_body: str) -> tuple[str, str]:
    """A new development on A's topic: a fresh body with two background paragraphs of A pasted
    into its middle, as a newsroom writes the next story of a running one."""
    background = paragraphs(a_body)[-3:-1]
    words = f_body.split()
    mid = len(words) // 2
    body = "\n".join([" ".join(words[:mid]), *background, " ".join(words[mid:])])
    return f"followup:{a_name}+{f_name}", body


def pair_errors(items: list[tuple[str, str]], predicted: list[str]) -> tuple[int, int, list]:
    merges = misses = 0
    examples = []
    for (x, px), (y, py) in combinations(zip(items, predicted, strict=True), 2):
        same_truth, same_pred = x[1] == y[1], px == py
        if same_pred and not same_truth:
            merges += 1
            examples.append(("merge", x[0], y[0]))
        elif same_truth and not same_pred:
            misses += 1
            examples.append(("miss", x[0], y[0]))
    return merges, misses, examples


def minhash_stories(bodies: list[tuple[str, str]], threshold: float) -> list[str]:
    clusters = StoryClusters(threshold=threshold)
    members = []
    for n, (name, body) in enumerate(bodies):
        sig = signature(body)
        members.append(
            StoryMember(
                doc_id=f"d{n:04d}",
                story_id=f"d{n:04d}",
                hashvalues=None if sig is None else sig.hashvalues,
                bands=() if sig is None else sig.bands,
                key=lead_key(None, name),
            )
        )
    return [a.story_id for a in clusters.assign(members)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--examples", type=int, default=8)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    pages = corpus_items()
    items: list[tuple[str, str]] = [(name, story) for name, story, _ in pages]
    bodies: list[tuple[str, str]] = [(name, body) for name, _, body in pages]
    n_copies = n_follow = 0
    english = [(n, s, b) for n, s, b in pages if len(paragraphs(b)) >= 6]
    for name, story, body in english:
        for copy_name, copy_body in edited_copies(name, body, rng):
            items.append((copy_name, story))
            bodies.append((copy_name, copy_body))
            n_copies += 1
    for (a_name, _, a_body), (f_name, f_body) in zip(english, fresh_bodies(), strict=False):
        name, body = follow_up(a_name, a_body, f_name, f_body)
        items.append((name, name))
        bodies.append((name, body))
        n_follow += 1
    print(
        f"{len(pages)} corpus pages ({len({s for _, s, _ in pages})} stories), "
        f"{n_copies} edited copies, {n_follow} same-topic follow-ups: {len(items)} items"
    )

    # Similarity of true pairs and of different-story pairs, to place the threshold.
    sigs = [signature(body) for _, body in bodies]
    same, different = [], []
    for i, j in combinations(range(len(items)), 2):
        if sigs[i] is None or sigs[j] is None:
            continue
        sim = jaccard(sigs[i].hashvalues, sigs[j].hashvalues)
        (same if items[i][1] == items[j][1] else different).append(sim)
    different.sort(reverse=True)
    print(
        f"estimated Jaccard: same-story pairs min {min(same):.3f} (n={len(same)}); "
        f"different-story pairs max {different[0]:.3f}, 99.9th pct "
        f"{different[len(different) // 1000]:.3f} (n={len(different)})"
    )

    old = [old_story_key(body) for _, body in bodies]
    old_merges, old_misses, _ = pair_errors(items, old)
    print(f"{'method':<22} {'false merges':>12} {'misses':>8}   (pairs)")
    print(f"{'old opening key':<22} {old_merges:>12} {old_misses:>8}")
    result = None
    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        merges, misses, examples = pair_errors(items, minhash_stories(bodies, threshold))
        mark = "  <- THRESHOLD" if threshold == THRESHOLD else ""
        print(f"{f'minhash J>={threshold}':<22} {merges:>12} {misses:>8}{mark}")
        if threshold == THRESHOLD:
            result = (merges, misses, examples)
    assert result is not None
    merges, misses, examples = result
    demo = len(pages)
    demo_pred = minhash_stories(bodies[:demo], THRESHOLD)
    demo_merges, demo_misses, _ = pair_errors(items[:demo], demo_pred)
    old_demo_merges, old_demo_misses, _ = pair_errors(items[:demo], old[:demo])
    print(
        f"demo corpus only: old {old_demo_merges} false merges / {old_demo_misses} misses, "
        f"minhash {demo_merges} / {demo_misses}"
    )
    for kind, x, y in examples[: args.examples]:
        print(f"  {kind}: {x} ~ {y}")
    print(
        f"old_false_merges={old_merges} old_misses={old_misses} "
        f"minhash_false_merges={merges} minhash_misses={misses}"
    )


if __name__ == "__main__":
    main()
