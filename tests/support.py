"""A local web site for tests: the demo corpus plus pages that misbehave on purpose; an alias
table of the tests' own."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from newsflow.cli import DEMO_CORPUS
from newsflow.corpus_server import serve_directory
from newsflow.transforms.enrich.entities import ALIASES_PATH

EMPTY_PAGE = (
    b"<!doctype html><html><head><title>Nothing</title></head><body><nav>Home</nav></body></html>"
)


def load_manifest() -> dict[str, dict]:
    """What the demo corpus pages hold, written down when the pages were written."""
    manifest: dict[str, dict] = {}
    for path in sorted(DEMO_CORPUS.glob("manifest-*.json")):
        manifest.update(json.loads(path.read_text(encoding="utf-8")))
    return manifest


def alias_table(path: Path, **entries: dict[str, list[str]]) -> Path:
    """A copy of ``mappings/aliases.json`` at ``path`` with ``entries`` (facet type -> {canonical
    name: aliases}) merged in. Without entries it names the same entities in other bytes, which
    is another enrichment version all the same."""
    table = json.loads(ALIASES_PATH.read_text(encoding="utf-8"))
    table["_copy"] = "written by tests/support.py"
    for facet, names in entries.items():
        table[facet] = {**table.get(facet, {}), **names}
    path.write_text(json.dumps(table, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


class _Handler(SimpleHTTPRequestHandler):
    slow_seconds = 5.0

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        special = {
            "/broken/slow": self._slow,
            "/broken/pdf": self._pdf,
            "/broken/empty": self._empty,
            "/broken/error": self._error,
            "/broken/redirect-loop": self._loop,
            "/broken/huge": self._huge,
        }
        handler = special.get(self.path)
        if handler:
            return handler()
        if self.path.startswith("/moved/"):
            self.send_response(301)
            self.send_header("Location", "/" + self.path.removeprefix("/moved/"))
            self.end_headers()
            return None
        return super().do_GET()

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8"):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (timeouts, size limits): that is the point

    def _slow(self):
        time.sleep(self.slow_seconds)
        self._send(200, EMPTY_PAGE)

    def _pdf(self):
        self._send(200, b"%PDF-1.4 not a page", "application/pdf")

    def _empty(self):
        self._send(200, EMPTY_PAGE)

    def _error(self):
        self._send(503, b"unavailable")

    def _loop(self):
        self.send_response(302)
        self.send_header("Location", "/broken/redirect-loop")
        self.end_headers()

    def _huge(self):
        self._send(200, b"<html><body>" + b"<p>word </p>" * 1_000_000 + b"</body></html>")


@contextmanager
def local_site(root: Path = DEMO_CORPUS) -> Iterator[str]:
    """Serve ``root`` plus the ``/broken/*`` pages on 127.0.0.1; yields the base URL."""
    with serve_directory(root, handler_class=_Handler) as base_url:
        yield base_url
