"""Matrix products of the spaCy models through numpy's BLAS (OpenBLAS).

thinc's CPU backend multiplies matrices with the BLIS library bundled in the ``blis`` package,
which picks its kernels by CPU model at run time. On CPUs it does not recognise it falls back to
portable SSE code: AMD Zen 3 EPYC machines among them (explosion/cython-blis#53; here
``BLIS_ARCH_DEBUG=1`` prints "selecting sub-configuration 'generic'"). numpy's OpenBLAS selects
AVX2 kernels on the same machine and runs the products of the NER model 3-4x faster, which makes
the whole ``ner`` component about a quarter cheaper. ``NumpyBlasOps`` is thinc's ``NumpyOps``
with only ``gemm`` routed to numpy: the entities found are the same (``tests/unit/test_blas.py``).

Models use the ops current when they are built, so the loaders build them inside
``numpy_blas_ops()``. They also limit their process to one BLAS thread (``single_blas_thread``):
every runner of the CPU stage already runs one process per core, and OpenBLAS threads on busy
cores only spin.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy
from thinc.api import NumpyOps, get_current_ops, set_current_ops
from threadpoolctl import threadpool_limits


class NumpyBlasOps(NumpyOps):
    """thinc's CPU ops with matrix products by numpy (OpenBLAS) instead of BLIS."""

    name = "numpy_blas"

    def gemm(self, x, y, out=None, trans1=False, trans2=False):
        a = x.T if trans1 else x
        b = y.T if trans2 else y
        if out is None:
            return numpy.matmul(a, b)
        numpy.matmul(a, b, out=out)
        return out


@contextmanager
def numpy_blas_ops() -> Iterator[None]:
    """Models built in this block compute their matrix products with ``NumpyBlasOps``."""
    previous = get_current_ops()
    set_current_ops(NumpyBlasOps())
    try:
        yield
    finally:
        set_current_ops(previous)


def single_blas_thread() -> None:
    """Limit this process's BLAS libraries to one thread each (for a process per core)."""
    threadpool_limits(limits=1, user_api="blas")
