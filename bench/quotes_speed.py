"""Quote attribution: the old parse of whole paragraphs against the new parse of masked ones.

    .venv/bin/python bench/quotes_speed.py                 # 3 rounds each
    .venv/bin/python bench/quotes_speed.py --stand-in "we agree" --rounds 1

The old algorithm is ``transforms/quotes.py`` as of ``--old-rev`` (the last commit before
masking), loaded from git as its own module; the new one is the working tree's. Texts: the
English pages of ``demo/corpus`` and ``tests/data/extraction-benchmark``, cleaned
by ``clean_page``; entities from ``enrich_articles(..., quotes=False)``; bodies cut as
``with_quotes`` cuts them. Prints the quotes each finds, how many agree (same text and speaker
at the same offset), every disagreement (text excerpt, old speaker, new speaker), and CPU ms
per article of ``extract_quotes`` for each (``time.process_time``, best of ``--rounds``, both
parsers loaded and warmed up first, old and new rounds interleaved). Ends with
``old_ms=.. new_ms=.. speedup=.. old_quotes=.. new_quotes=.. agree=..``.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from enrich import MODEL, cleaned_articles  # noqa: E402

import newsflow.transforms.enrich.quotes as new  # noqa: E402
from newsflow.transforms.enrich.entities import MAX_NER_CHARS, enrich_articles  # noqa: E402

OLD_REV = "fbcc3188a00b2008e13528919bdd477ff1e3959b"  # quotes.py before masking


def load_old(rev: str):
    """``transforms/quotes.py`` at ``rev`` as a module of its own (``quotes_old``)."""
    source = subprocess.run(
        ["git", "show", f"{rev}:transforms/quotes.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "quotes_old.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("quotes_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["quotes_old"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def cpu_ms(run: Callable[[], object]) -> float:
    start = time.process_time()
    run()
    return (time.process_time() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--old-rev", default=OLD_REV)
    parser.add_argument("--stand-in", default=new.QUOTE_STAND_IN)
    parser.add_argument("--context", action="store_true", help="show the text around each")
    args = parser.parse_args()
    new.QUOTE_STAND_IN = args.stand_in
    new.mask_quotations.__defaults__ = (args.stand_in,)
    old = load_old(args.old_rev)

    articles = cleaned_articles()
    enriched = enrich_articles(articles, MODEL, quotes=False)
    bodies = [e.article.body[:MAX_NER_CHARS] for e in enriched]
    entities = [e.entities for e in enriched]
    n = len(bodies)
    paragraphs = sum(len(new.quote_paragraphs(b)) for b in bodies)
    print(f"{n} articles, {paragraphs} paragraphs with quotations; stand-in {args.stand_in!r}")

    def run_old():
        return old.extract_quotes(bodies, entities, MODEL)

    def run_new():
        return new.extract_quotes(bodies, entities, MODEL)

    found_old, found_new = run_old(), run_new()  # also loads and warms up both parsers
    times: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        times["old"].append(cpu_ms(run_old))
        times["new"].append(cpu_ms(run_new))

    agree = 0
    disagreements: list[tuple[int, int, str, str | None, str | None]] = []
    for i in range(n):
        olds = {(q.offset, q.text): q.speaker for q in found_old[i]}
        news = {(q.offset, q.text): q.speaker for q in found_new[i]}
        for key in sorted(olds.keys() | news.keys()):
            if olds.get(key) == news.get(key):
                agree += 1
            else:
                disagreements.append((i, *key, olds.get(key), news.get(key)))
    n_old = sum(map(len, found_old))
    n_new = sum(map(len, found_new))
    print(f"quotes: old {n_old}, new {n_new}, agree {agree}, disagree {len(disagreements)}")
    for i, offset, text, was, now in disagreements:
        excerpt = text if len(text) <= 70 else text[:67] + "..."
        print(f"  [{i}] {excerpt!r}\n      old={was!r} new={now!r}")
        if args.context:
            start = bodies[i].rfind("\n", 0, offset) + 1
            end = bodies[i].find("\n", offset + len(text))
            print("      | " + bodies[i][max(start, offset - 300) : end if end >= 0 else None])
    old_ms = min(times["old"]) / n
    new_ms = min(times["new"]) / n
    for label, ms in (("old", old_ms), ("new", new_ms)):
        rounds = " ".join(f"{t / n:.2f}" for t in times[label])
        print(f"{label}: {ms:6.2f} ms CPU/article (best; rounds: {rounds})")
    print(
        f"old_ms={old_ms:.2f} new_ms={new_ms:.2f} speedup={old_ms / new_ms:.2f} "
        f"old_quotes={n_old} new_quotes={n_new} agree={agree}"
    )


if __name__ == "__main__":
    main()
