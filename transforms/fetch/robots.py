"""robots.txt rules per host (protego), remembered across the batches of a run.

The ingest flow calls the fetch step once per batch, so the rules must outlive one call:
``RobotsCache`` keeps them per ``(scheme, host, port, user-agent token)`` for ``ttl`` seconds
(one hour by default, longer than a scheduled run, shorter than the next one). ``SHARED`` is the
process-wide cache the fetch step uses unless ``FetchOptions.robots`` names another.

RFC 9309 on failures: robots.txt answering 4xx means no rules (all allowed); 5xx, 429 or no
answer at all means the host is treated as fully disallowed until the entry expires. The
cache also remembers when each host was last asked, so the minimum delay between requests to
one host holds from one batch to the next.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from protego import Protego

# RFC 9309 asks crawlers to parse at least 500 KiB; more is cut off.
MAX_ROBOTS_BYTES = 512_000

Key = tuple[str, str, int, str]


@dataclass(frozen=True)
class RobotsRules:
    """What one host's robots.txt says, or why it could not be read."""

    parser: Protego | None = None
    allow_all: bool = False
    disallow_reason: str | None = None  # set when the file could not be fetched (5xx, network)
    unreachable: bool = False  # no HTTP answer at all (connection, DNS, timeout)

    @classmethod
    def parse(cls, body: bytes) -> RobotsRules:
        text = body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace")
        return cls(parser=Protego.parse(text))

    def allowed(self, url: str, token: str) -> bool:
        if self.disallow_reason is not None:
            return False
        if self.parser is None:
            return True
        return bool(self.parser.can_fetch(url, token))

    def crawl_delay(self, token: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(token)
        return float(delay) if delay is not None else None


class RobotsCache:
    """Thread-safe robots rules and last-request times per host, with a time to live."""

    def __init__(self, ttl: float = 3600.0) -> None:
        self.ttl = ttl
        self._rules: dict[Key, tuple[float, RobotsRules]] = {}
        self._last_request: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, key: Key) -> RobotsRules | None:
        with self._lock:
            entry = self._rules.get(key)
            if entry is None or time.monotonic() - entry[0] > self.ttl:
                return None
            return entry[1]

    def put(self, key: Key, rules: RobotsRules) -> None:
        with self._lock:
            self._rules[key] = (time.monotonic(), rules)

    def last_request(self, host: str) -> float | None:
        """``time.monotonic()`` of the last request started to ``host``."""
        with self._lock:
            return self._last_request.get(host)

    def mark_request(self, host: str, when: float) -> None:
        with self._lock:
            self._last_request[host] = max(when, self._last_request.get(host, when))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._last_request.clear()


SHARED = RobotsCache()


def product_token(user_agent: str) -> str:
    """The robots.txt product token of a User-Agent: ``newsflow/0.1 (+url)`` -> ``newsflow``."""
    first = user_agent.strip().split(None, 1)[0] if user_agent.strip() else "*"
    return first.split("/", 1)[0] or "*"
