"""A scriptable local HTTP server for the fetch tests: routes are functions, every request is
recorded server-side (path, headers, start and end time, peak concurrency)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    start: float
    end: float = 0.0


@dataclass
class Recorder:
    hits: list[Hit] = field(default_factory=list)
    active: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    content_type: str | None = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    try:
        handler.send_response(status)
        if content_type:
            handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up on purpose (limits, deadlines)


def page(text: str = "hello") -> bytes:
    return f"<!doctype html><html><body><p>{text}</p></body></html>".encode()


class Site:
    def __init__(self, server: ThreadingHTTPServer, recorder: Recorder) -> None:
        self.server = server
        self.recorder = recorder
        host, port = server.server_address[:2]
        self.base = f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def serve(routes: dict[str, Route], host: str = "127.0.0.1") -> Iterator[Site]:
    """Serve ``routes`` (path -> handler function); other paths answer 404."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            pass

        def do_GET(self):
            hit = Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
            with recorder.lock:
                recorder.hits.append(hit)
                recorder.active += 1
                recorder.peak = max(recorder.peak, recorder.active)
            try:
                route = routes.get(self.path)
                if route is None:
                    send(self, 404, b"not found", "text/plain")
                else:
                    route(self)
            finally:
                with recorder.lock:
                    recorder.active -= 1
                hit.end = time.monotonic()

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(server, recorder)
    finally:
        server.shutdown()
        server.server_close()
