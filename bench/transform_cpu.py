"""CPU ms per article of each part of the worker's transform, on the texts ``make bench`` uses.

    .venv/bin/python bench/transform_cpu.py [--pages 800] [--profile out.prof] [--json out.json]

The pages of ``bench/pipeline.py`` (the same sample of an 800-page run), decoded as the fetch
step decodes them, in one process warmed up as a worker is (``warm_up``). Measured with
``time.process_time``, so the rest of the machine's load does not count; every figure is in
CPU ms per article that reaches NER (as issue 22's limit is). First the limit's two parts
(plain ``trafilatura.extract``, NER alone), then the pipeline's transform as a worker runs it
(spool file in, ``TransformResult`` pickled out, in batches of ``batch_size``) and its parts:
clean, NER, entity rules, quotes, documents, the pickles. ``--profile`` writes a cProfile of
the transform; ``--json`` the figures, to compare two commits.
"""

from __future__ import annotations

import argparse
import gc
import json
import pickle
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import base_pages, page_list  # noqa: E402
from newsflow.settings import Settings  # noqa: E402


def _cpu(work) -> tuple[float, object]:
    gc.collect()
    started = time.process_time()
    out = work()
    return time.process_time() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=800)
    parser.add_argument("--profile", help="write a cProfile of the transform here")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--repeat", type=int, default=1, help="transform runs; least CPU kept")
    args = parser.parse_args()
    import logging

    for noisy in ("trafilatura", "htmldate", "courlan"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    logging.getLogger("newsflow").setLevel(logging.ERROR)

    import trafilatura

    from newsflow.transforms.batch import spool
    from newsflow.transforms.batch.documents import to_document
    from newsflow.transforms.batch.transform import transform_batch, warm_up
    from newsflow.transforms.clean.extract import clean_pages
    from newsflow.transforms.clean.siterules import load_rules
    from newsflow.transforms.enrich.entities import (
        Mention,
        enrich_articles,
        group_mentions,
        load_model,
        ner_text,
    )
    from newsflow.transforms.enrich.quotes import with_quotes
    from newsflow.transforms.fetch.download import decode_html
    from newsflow.transforms.models import EnrichedArticle, Page

    settings = Settings()
    model = settings.spacy_model
    pages_raw = base_pages()
    sample = [name for _, name in page_list(pages_raw, args.pages)]
    pages = []
    for i, name in enumerate(sample):
        html, encoding = decode_html(pages_raw[name])
        url = f"http://bench/copy/{i}/{name}"
        pages.append(
            Page(url=url, final_url=url, html=html, encoding=encoding, fetched_at=datetime.now(UTC))
        )
    warm_up(model, settings.cache_dir)
    nlp = load_model(model)
    rules = load_rules(settings.site_rules)
    trafilatura.extract(pages[0].html)
    clean_pages(pages[:4], min_body_chars=settings.min_body_chars, rules=rules)

    figures: dict[str, float] = {}
    seconds, _ = _cpu(lambda: [trafilatura.extract(p.html) for p in pages])
    figures["plain trafilatura.extract"] = seconds
    seconds, (articles, _failures) = _cpu(
        lambda: clean_pages(pages, min_body_chars=settings.min_body_chars, rules=rules)
    )
    figures["clean (clean_pages)"] = seconds
    ner = [a for a in articles if a.language in ("en", None)]
    texts = [ner_text(a) for a in ner]
    n = len(texts)
    seconds, docs = _cpu(lambda: list(nlp.pipe(texts, batch_size=64)))
    figures["NER alone (nlp.pipe)"] = seconds
    mentions = [[Mention(e.text, e.label_, e.start_char) for e in d.ents] for d in docs]
    del docs
    seconds, groups = _cpu(
        lambda: [
            group_mentions(m, t, aliases_path=None) for m, t in zip(mentions, texts, strict=True)
        ]
    )
    figures["entity rules (group_mentions)"] = seconds
    items = [EnrichedArticle(a, g) for a, g in zip(ner, groups, strict=True)]
    seconds, quoted = _cpu(lambda: with_quotes(items, model, 100_000))
    figures["quotes (with_quotes)"] = seconds
    seconds, enriched = _cpu(lambda: enrich_articles(articles, model))
    figures["enrich (enrich_articles, all of it)"] = seconds
    seconds, documents = _cpu(lambda: [to_document(e, "run", model_name=model) for e in enriched])
    figures["documents (to_document)"] = seconds
    from newsflow.transforms.enrich.stories import signature

    seconds, _ = _cpu(lambda: [signature(a.body) for a in articles])
    figures["  of which MinHash (stories.signature)"] = seconds

    # The worker's whole path: a spool file per batch in, the result pickled back.
    size = settings.batch_size
    batches = [pages[i : i + size] for i in range(0, len(pages), size)]
    with tempfile.TemporaryDirectory() as tmp:
        seconds, spooled = _cpu(lambda: [spool.spool(b, tmp) for b in batches])
        figures["spool write (flow process)"] = seconds

        def transform_all():
            out = []
            for b in spooled:
                result = transform_batch(
                    b,
                    model_name=model,
                    min_body_chars=settings.min_body_chars,
                    run_id="run",
                    site_rules_path=settings.site_rules,
                )
                out.append(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            return out

        seconds, _ = _cpu(lambda: [spool.read(b) for b in spooled])
        figures["spool read"] = seconds
        best = None
        for _ in range(args.repeat):
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
                seconds, blobs = _cpu(transform_all)
                profiler.disable()
                profiler.dump_stats(args.profile)
            else:
                seconds, blobs = _cpu(transform_all)
            best = seconds if best is None else min(best, seconds)
        figures["WORKER TRANSFORM (spool in, result pickled)"] = best
        seconds, _ = _cpu(lambda: [pickle.loads(b) for b in blobs])
        figures["result unpickle (flow process)"] = seconds
        figures["result pickle bytes/article"] = sum(len(b) for b in blobs) / 1000
    limit = figures["plain trafilatura.extract"] + figures["NER alone (nlp.pipe)"]
    figures["LIMIT (extract + NER)"] = limit
    out = {k: v / n * 1000 for k, v in figures.items()}
    print(f"{len(pages)} pages, {len(articles)} articles, {n} reach NER; CPU ms per NER article")
    for key, ms in out.items():
        print(f"  {key:<48}{ms:>8.2f}")
    over = out["WORKER TRANSFORM (spool in, result pickled)"] - out["LIMIT (extract + NER)"]
    print(f"  {'transform beyond the limit':<48}{over:>8.2f}")
    # Results must not change: a digest of the documents without the run fields and the
    # versions (which name the code, so any edit of transforms/ moves them by design).
    import hashlib

    from newsflow.transforms.batch.documents import canonical_json

    versions = {"pipeline_version", "enrichment_version"}
    digest = hashlib.sha256()
    for d in documents:
        digest.update(canonical_json({k: v for k, v in d.items() if k not in versions}))
    print(f"documents digest {digest.hexdigest()[:16]} ({len(documents)} documents, no versions)")
    if args.json:
        Path(args.json).write_text(json.dumps({**out, "digest": digest.hexdigest()}, indent=1))
    del quoted


if __name__ == "__main__":
    main()
