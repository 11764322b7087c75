"""Discover step: expand configured sources into the URLs to fetch.

A source is one of: an ``http(s)://`` URL (one page), a directory (every ``*.html``/``*.htm``
file below it, as ``file://`` URLs), or a text file with one URL per line (``#`` comments and
blank lines ignored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from transforms.models import Failure

HTML_SUFFIXES = (".html", ".htm")


@dataclass
class Discovered:
    urls: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    duplicates: list[Failure] = field(default_factory=list)


def _is_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https", "file") and bool(parts.netloc or parts.path)


def _expand(source: str) -> tuple[list[str], list[Failure]]:
    if urlsplit(source).scheme in ("http", "https"):
        return [source], []
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.suffix.lower() in HTML_SUFFIXES and p.is_file()
        )
        if not files:
            return [], [Failure(source, "discover", "directory holds no .html files")]
        return [p.resolve().as_uri() for p in files], []
    if path.is_file():
        urls: list[str] = []
        failures: list[Failure] = []
        for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if _is_url(line):
                urls.append(line)
            else:
                failures.append(
                    Failure(
                        f"{source}:{lineno}",
                        "discover",
                        f"not an http(s) or file URL: {line[:200]!r}",
                    )
                )
        return urls, failures
    return [], [Failure(source, "discover", "source not found (not a URL, directory or file)")]


def discover(sources: list[str]) -> Discovered:
    """Expand sources into unique URLs, in order; duplicates are reported, not fetched twice."""
    result = Discovered()
    seen: set[str] = set()
    for source in sources:
        urls, failures = _expand(source)
        result.failures.extend(failures)
        for url in urls:
            if url in seen:
                result.duplicates.append(Failure(url, "discover", "duplicate URL in sources"))
                continue
            seen.add(url)
            result.urls.append(url)
    return result
