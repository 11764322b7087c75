"""The spaCy pipelines of the enrich steps, read from the model's package once per process.

Entities need the ``ner`` component, quotes ``tok2vec`` + ``parser``: two pipelines of one
installed model. Loading each with its own ``spacy.load`` read the package's vocabulary,
configuration and weights twice, the largest part of a one-page command after importing
spaCy. Here the model is loaded once with the components either step uses, and each step's
pipeline is made of that load's component objects, sharing its vocabulary and tokenizer: the
same weights, hence the same results, for one read of the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from newsflow.transforms.enrich.blas import numpy_blas_ops, single_blas_thread

if TYPE_CHECKING:
    from spacy.language import Language

# Components of a CNN pipeline that neither step uses: never loaded.
UNUSED = [
    "tagger",
    "morphologizer",
    "attribute_ruler",
    "lemmatizer",
    "senter",
    "trainable_lemmatizer",
]


@lru_cache(maxsize=4)
def load_shared(name: str) -> Language:
    """The installed pipeline ``name`` without the ``UNUSED`` components (cached per
    process), computing with ``blas.NumpyBlasOps`` on one BLAS thread (every runner gives
    the CPU stage one process per core). ``OSError`` when the package is not installed."""
    import spacy  # deferred: importing spaCy costs about a second

    single_blas_thread()
    with numpy_blas_ops():
        return spacy.load(name, exclude=UNUSED)


def subset(shared: Language, names: Sequence[str]) -> Language:
    """A pipeline of ``shared``'s components ``names`` (in ``shared``'s order), with its
    vocabulary, tokenizer, limits and the component objects themselves, not copies."""
    nlp = type(shared)(
        vocab=shared.vocab,
        meta=dict(shared.meta),
        max_length=shared.max_length,
        batch_size=shared.batch_size,
        # Not a new default tokenizer (its special cases cost a third of a load) but the
        # model's own, which is also the one its components were trained with.
        create_tokenizer=lambda _nlp: shared.tokenizer,
    )
    for name in shared.pipe_names:
        if name in names:
            nlp.add_pipe(name, source=shared)
    return nlp
