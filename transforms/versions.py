"""Versions of what the pipeline makes of a page, recorded on every document.

Bump ``CLEAN_VERSION`` when the clean step extracts differently (rules, trafilatura upgrade) and
``ENRICHMENT_VERSION`` when entities change (model, gazetteer, alias table). Documents carry
both (``pipeline_version`` and ``enrichment_version``), so a partial re-process shows in a terms
aggregation and the ``maintenance`` flow finds articles enriched by an older version.
"""

from __future__ import annotations

CLEAN_VERSION = "1"
ENRICHMENT_VERSION = "1"


def pipeline_version() -> str:
    """``clean-<N>+enrich-<M>``; read at call time so that a bump needs no other change."""
    return f"clean-{CLEAN_VERSION}+enrich-{ENRICHMENT_VERSION}"


def enrichment_version() -> str:
    return ENRICHMENT_VERSION
