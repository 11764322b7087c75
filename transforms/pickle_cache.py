"""A value built from files, kept pickled in a cache directory so that the next process reads
it instead of building it again (the gazetteer: ~1 s of JSON parsing per process, ~0.1 s read
back).

The pickle holds the key it was built for: a description of its inputs (file sizes and
modification times, package and code versions). A file built for another key, unreadable or
corrupt is ignored with a log line and replaced; a cache directory that cannot be written only
costs the next process the build. Files are written to a temporary name and renamed, so a
reader never sees half a file, even with several processes starting at once. The cache is the
user's own directory (``NEWSFLOW_CACHE_DIR``): pickles are only ever read from there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def file_key(paths: Iterable[Path], *versions: str) -> str:
    """A key that changes when any of ``paths`` changes (size or modification time) or any of
    ``versions`` does: hex SHA-256 of them all."""
    digest = hashlib.sha256()
    for path in paths:
        info = path.stat()
        digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    for version in versions:
        digest.update(f"{version}\0".encode())
    return digest.hexdigest()


def load_or_build(cache_dir: Path, name: str, key: str, build: Callable[[], T]) -> T:
    """The value cached as ``<cache_dir>/<name>.pickle`` for ``key``; else ``build()``, which
    is then written there for the next process."""
    path = Path(cache_dir) / f"{name}.pickle"
    found = _read(path, key)
    if found is not None:
        return found
    value = build()
    _write(path, key, value)
    return value


def _read(path: Path, key: str) -> Any:
    try:
        with path.open("rb") as f:
            payload = pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged file may raise almost anything while unpickled
        log.warning("ignoring the corrupt cache file %s (%s: %s)", path, type(exc).__name__, exc)
        return None
    if not isinstance(payload, dict) or "key" not in payload or "value" not in payload:
        log.warning("ignoring the cache file %s: not a cache entry", path)
        return None
    if payload["key"] != key:
        log.info("cache file %s is stale (its source changed): rebuilding it", path)
        return None
    return payload["value"]


def _write(path: Path, key: str, value: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump({"key": key, "value": value}, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("cannot write the cache file %s: %s", path, exc)
