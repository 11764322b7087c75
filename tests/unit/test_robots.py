"""robots.txt rules and their cache (RFC 9309 failure rules are tested over HTTP in
test_fetch_politeness.py)."""

from __future__ import annotations

import time

from newsflow.transforms.fetch.robots import (
    MAX_ROBOTS_BYTES,
    RobotsCache,
    RobotsRules,
    product_token,
)


def test_product_token_comes_from_the_user_agent():
    assert product_token("newsflow/0.1 (+https://example.org/bot)") == "newsflow"
    assert product_token("MyCrawler") == "MyCrawler"
    assert product_token("") == "*"


def test_rules_for_our_token_and_crawl_delay():
    rules = RobotsRules.parse(
        b"User-agent: newsflow\nDisallow: /drafts/\nCrawl-delay: 2\n\nUser-agent: *\nDisallow: /\n"
    )
    assert rules.allowed("https://a.example/news/1", "newsflow")
    assert not rules.allowed("https://a.example/drafts/1", "newsflow")
    assert not rules.allowed("https://a.example/news/1", "otherbot")
    assert rules.crawl_delay("newsflow") == 2.0
    assert RobotsRules(allow_all=True).allowed("https://a.example/x", "newsflow")
    assert not RobotsRules(disallow_reason="HTTP 503").allowed("https://a.example/x", "newsflow")


def test_only_the_first_500_kib_are_parsed():
    filler = b"# " + b"x" * 80 + b"\n"
    body = b"User-agent: *\n" + filler * (MAX_ROBOTS_BYTES // len(filler) + 10)
    body += b"Disallow: /\n"  # beyond the limit: ignored
    assert RobotsRules.parse(body).allowed("https://a.example/x", "newsflow")


def test_cache_expires_after_its_ttl_and_keeps_last_request_times():
    cache = RobotsCache(ttl=0.2)
    key = ("https", "a.example", 443, "newsflow")
    rules = RobotsRules(allow_all=True)
    cache.put(key, rules)
    assert cache.get(key) is rules
    assert cache.get(("http", "a.example", 80, "newsflow")) is None  # per scheme and port
    cache.mark_request("a.example", 10.0)
    cache.mark_request("a.example", 5.0)  # an older start never moves the clock back
    assert cache.last_request("a.example") == 10.0
    time.sleep(0.25)
    assert cache.get(key) is None
