"""Politeness of the fetch step against real local servers: robots.txt, per-host limits,
delays, Retry-After and retries. Timing assertions use server-side timestamps and generous
bounds; they check spacing, never speed."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from newsflow.transforms.fetch.download import FetchOptions, fetch_pages, retry_after_seconds
from newsflow.transforms.fetch.robots import RobotsCache
from tests.unit.fetch_server import page, send, serve


def opts(**changes) -> FetchOptions:
    base = {
        "timeout": 2.0,
        "deadline": 5.0,
        "retries": 2,
        "backoff_base": 0.05,
        "allowed_networks": ("127.0.0.0/8",),
        "robots": RobotsCache(),
    }
    return FetchOptions(**(base | changes))


def robots_txt(text: str):
    return lambda h: send(h, 200, text.encode(), "text/plain")


def ok(h):
    send(h, 200, page())


def test_robots_disallow_is_a_failure_and_robots_is_fetched_once_per_run():
    routes = {
        "/robots.txt": robots_txt("User-agent: newsflow\nDisallow: /private\n"),
        "/public": ok,
        "/private/a": ok,
    }
    with serve(routes) as site:
        o = opts()
        pages, failures = fetch_pages([site.url("/public"), site.url("/private/a")], o)
        again, _ = fetch_pages([site.url("/public")], o)  # a second batch of the same run
        rec = site.recorder
    assert [p.url for p in pages] == [site.url("/public")] and len(again) == 1
    assert [(f.url, f.stage, f.reason) for f in failures] == [
        (site.url("/private/a"), "fetch", "disallowed by robots.txt (127.0.0.1)")
    ]
    assert rec.of("/private/a") == []
    assert len(rec.of("/robots.txt")) == 1
    assert "newsflow" in rec.of("/public")[0].headers["user-agent"]


def test_robots_404_allows_everything():
    with serve({"/a": ok, "/b": ok}) as site:
        pages, failures = fetch_pages([site.url("/a"), site.url("/b")], opts())
        assert len(site.recorder.of("/robots.txt")) == 1
    assert not failures and len(pages) == 2


def test_robots_5xx_disallows_the_whole_host():
    routes = {"/robots.txt": lambda h: send(h, 500, b"oops", "text/plain"), "/a": ok}
    with serve(routes) as site:
        pages, failures = fetch_pages([site.url("/a")], opts())
        assert site.recorder.of("/a") == []
    assert not pages
    assert failures[0].reason.startswith("disallowed by robots.txt (127.0.0.1)")
    assert "HTTP 500" in failures[0].reason


def test_robots_redirect_is_followed():
    routes = {
        "/robots.txt": lambda h: send(h, 301, headers={"Location": "/real-robots.txt"}),
        "/real-robots.txt": robots_txt("User-agent: *\nDisallow: /\n"),
        "/a": ok,
    }
    with serve(routes) as site:
        _, failures = fetch_pages([site.url("/a")], opts())
    assert failures[0].reason == "disallowed by robots.txt (127.0.0.1)"


def test_crawl_delay_spaces_requests_to_a_host():
    paths = [f"/p{i}" for i in range(4)]
    routes = {"/robots.txt": robots_txt("User-agent: *\nCrawl-delay: 0.4\n")}
    routes |= {p: ok for p in paths}
    with serve(routes) as site:
        pages, failures = fetch_pages([site.url(p) for p in paths], opts(per_host=4))
        starts = sorted(h.start for h in site.recorder.hits if h.path in paths)
    assert not failures and len(pages) == 4
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.35, gaps


def test_host_delay_setting_spaces_requests():
    paths = [f"/p{i}" for i in range(3)]
    with serve({p: ok for p in paths}) as site:
        fetch_pages([site.url(p) for p in paths], opts(host_delay=0.3))
        starts = sorted(h.start for h in site.recorder.hits if h.path in paths)
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.25


def slow(h):
    time.sleep(0.15)
    send(h, 200, page())


def test_per_host_concurrency_never_exceeds_the_limit_while_hosts_run_in_parallel():
    paths = [f"/s{i}" for i in range(10)]
    routes = {p: slow for p in paths}
    with serve(routes, "127.0.0.1") as one, serve(routes, "127.0.0.2") as two:
        urls = [s.url(p) for p in paths for s in (one, two)]
        pages, failures = fetch_pages(urls, opts(per_host=2, concurrency=16))
        peaks = (one.recorder.peak, two.recorder.peak)
        first_one = min(h.start for h in one.recorder.hits if h.path in paths)
        first_two = min(h.start for h in two.recorder.hits if h.path in paths)
        last_one = max(h.end for h in one.recorder.hits)
    assert not failures and len(pages) == 20
    assert peaks == (2, 2)  # reached and never exceeded, on each host
    assert first_two < last_one and first_one < last_one  # the hosts overlap in time


def test_429_retry_after_is_honoured_then_succeeds():
    calls = []

    def limited(h):
        calls.append(1)
        if len(calls) == 1:
            send(h, 429, b"slow down", "text/plain", {"Retry-After": "1"})
        else:
            send(h, 200, page("finally"))

    with serve({"/a": limited}) as site:
        pages, failures = fetch_pages([site.url("/a")], opts())
        hits = site.recorder.of("/a")
    assert not failures and "finally" in pages[0].html
    assert len(hits) == 2 and hits[1].start - hits[0].start >= 0.9


def test_retry_after_beyond_the_cap_fails_with_the_reason():
    busy = {"/a": lambda h: send(h, 503, b"", "text/plain", {"Retry-After": "3600"})}
    with serve(busy) as site:
        _, failures = fetch_pages([site.url("/a")], opts(max_retry_after=5))
        assert len(site.recorder.of("/a")) == 1
    assert (
        failures[0].reason
        == "HTTP 503: Retry-After 3600s exceeds the 5s cap (fetch_max_retry_after)"
    )


def test_5xx_is_retried_and_404_is_not():
    routes = {"/err": lambda h: send(h, 502, b"bad gateway"), "/gone": lambda h: send(h, 404)}
    with serve(routes) as site:
        _, failures = fetch_pages([site.url("/err"), site.url("/gone")], opts(retries=2))
        counts = (len(site.recorder.of("/err")), len(site.recorder.of("/gone")))
    reasons = {f.url.rsplit("/", 1)[1]: f.reason for f in failures}
    assert counts == (3, 1)
    assert reasons == {"err": "HTTP 502 (after 3 attempts)", "gone": "HTTP 404"}


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("120") == 120.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds(later) <= 31
    past = format_datetime(datetime.now(UTC) - timedelta(days=1), usegmt=True)
    assert retry_after_seconds(past) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


@pytest.mark.parametrize("token", ["newsflow"])
def test_default_user_agent_names_project_and_contact(token):
    ua = FetchOptions().user_agent
    assert ua.startswith(token + "/") and "+http" in ua
