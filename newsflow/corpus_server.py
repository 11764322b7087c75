"""Serve a directory of HTML pages over HTTP on 127.0.0.1: the demo corpus and test fixtures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

from newsflow.transforms.sources.discover import HTML_SUFFIXES


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


@contextmanager
def serve_directory(
    root: Path, port: int = 0, handler_class: type[SimpleHTTPRequestHandler] = _QuietHandler
) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 for the duration of the block; yields the base URL.

    ``port=0`` picks a free port; a taken fixed port falls back to a free one. Tests pass a
    ``handler_class`` that adds misbehaving pages.
    """
    handler = partial(handler_class, directory=str(root))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="corpus-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def page_urls(root: Path, base_url: str) -> list[str]:
    """URLs of every HTML file under ``root`` as served from ``base_url``."""
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in HTML_SUFFIXES and p.is_file())
    return [f"{base_url}/{quote(p.relative_to(root).as_posix())}" for p in files]
