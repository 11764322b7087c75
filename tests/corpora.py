"""Where the shared extraction benchmark is: one lookup for the tests and the benchmarks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_RELATIVE = Path("shared") / "corpus" / "article-extraction-benchmark"


def _cloned_from(checkout: Path) -> Path | None:
    """The checkout a local clone was made from (CI clones the work tree anywhere), or None."""
    try:
        origin = subprocess.run(
            ["git", "-C", str(checkout), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(origin.removeprefix("file://"))
    return path if path.is_absolute() and path.is_dir() else None


def extraction_corpus(checkout: Path = ROOT) -> Path:
    """``NEWSFLOW_EXTRACTION_CORPUS``, else ``shared/corpus/article-extraction-benchmark`` beside
    the checkout, else beside the checkout it was cloned from; the first place when none has it
    (callers say it is missing)."""
    if os.environ.get("NEWSFLOW_EXTRACTION_CORPUS"):
        return Path(os.environ["NEWSFLOW_EXTRACTION_CORPUS"])
    here = checkout.parent / _RELATIVE
    if here.is_dir():
        return here
    origin = _cloned_from(checkout)
    if origin is not None and (origin.parent / _RELATIVE).is_dir():
        return origin.parent / _RELATIVE
    return here
