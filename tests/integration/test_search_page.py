"""The search page in a real headless Chromium, against the API over the ingested demo corpus.

Chromium is Debian's (/usr/bin/chromium, or NEWSFLOW_CHROMIUM); Playwright only drives it. A
browser that cannot start fails these tests, it never skips them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from elasticsearch import Elasticsearch
from playwright.sync_api import Browser, Page, expect, sync_playwright

from newsflow.api.app import create_app
from newsflow.cli import DEMO_CORPUS
from newsflow.corpus_server import page_urls
from newsflow.flows.ingest import ingest
from newsflow.settings import Settings
from tests.conftest import fresh_alias

pytestmark = pytest.mark.usefixtures("prefect_harness")

CHROMIUM = os.environ.get("NEWSFLOW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Headless, and nothing that phones home (this machine's network refuses it).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # needed as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUERY = "strike"
ENTITY_FACETS = ("person", "location", "organization")


@pytest.fixture(scope="module")
def corpus_settings(base_settings: Settings, es_client: Elasticsearch) -> Iterator[Settings]:
    with fresh_alias(es_client) as alias:
        yield base_settings.model_copy(update={"index": alias})


@pytest.fixture(scope="module")
def api_url(corpus_settings: Settings, site: str, tmp_path_factory) -> Iterator[str]:
    """The demo corpus ingested into a fresh alias, and the API over it on 127.0.0.1."""
    url_list = tmp_path_factory.mktemp("corpus") / "urls.txt"
    url_list.write_text("\n".join(page_urls(DEMO_CORPUS, site)) + "\n")
    summary = ingest([str(url_list)], corpus_settings)
    assert summary["indexed"] >= 40, summary

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(create_app(corpus_settings), log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(`make browser`) or set NEWSFLOW_CHROMIUM"
        )
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000
            )
        except Exception as exc:
            pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}")
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, api_url: str) -> Iterator[Page]:
    """A fresh page; afterwards no request may have left the API and no script may have failed."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    foreign: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(api_url + "/") else foreign.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert foreign == [], "the page made requests outside its own server"
    assert errors == [], "script errors on the page"


def api(api_url: str, path: str, **params: Any) -> dict[str, Any]:
    resp = httpx.get(f"{api_url}{path}", params=params, timeout=10)
    resp.raise_for_status()
    return resp.json()


def shown_ids(page: Page) -> list[str]:
    return page.locator("#results > li").evaluate_all("els => els.map(e => e.dataset.id)")


def facet_button(page: Page, field: str, value: str):
    return page.locator(
        f"#facets button[data-field={json.dumps(field)}][data-value={json.dumps(value)}]"
    )


def test_search_then_facet_narrows_results_with_highlights_and_chart(
    page: Page, api_url: str, tmp_path: Path, base_settings: Settings
):
    page.goto(f"{api_url}/")
    expect(page.get_by_role("searchbox", name="Search articles")).to_be_visible()
    expect(page.locator("#total")).to_have_text(str(api(api_url, "/search")["total"]))

    page.get_by_role("searchbox", name="Search articles").fill(QUERY)
    page.get_by_role("button", name="Search", exact=True).click()
    wanted = api(api_url, "/search", q=QUERY)
    expect(page.locator("#total")).to_have_text(str(wanted["total"]))
    assert shown_ids(page) == [h["id"] for h in wanted["hits"]]
    first_em = page.locator("#results .snippet em, #results .hit-title em").first
    expect(first_em).to_be_visible()
    assert first_em.inner_text().lower().startswith("strik")

    # A source facet: fewer results, each from that source, the same ones the API returns.
    source = next(b for b in wanted["facets"]["source"] if b["count"] < wanted["total"])
    facet_button(page, "source", source["value"]).click()
    expect(page.locator("#total")).to_have_text(str(source["count"]))
    expect(facet_button(page, "source", source["value"])).to_have_attribute("aria-pressed", "true")
    narrowed = api(api_url, "/search", q=QUERY, source=source["value"])
    assert shown_ids(page) == [h["id"] for h in narrowed["hits"]]
    assert set(page.locator("#results .meta .source").all_inner_texts()) == {source["value"]}
    assert f"source={source['value']}" in page.url.replace("%20", " ").replace("+", " ")

    # The active filter is shown and removable.
    chip = page.get_by_role("button", name=re.compile(r"^Remove filter Source: "))
    expect(chip).to_have_count(1)
    chip.click()
    expect(page.locator("#total")).to_have_text(str(wanted["total"]))
    expect(page.locator("#active-filters")).to_be_hidden()

    # An entity facet: narrower again, every result names the entity, and a timeline is drawn.
    field, entity = next(
        (f, b) for f in ENTITY_FACETS for b in wanted["facets"][f] if b["count"] < wanted["total"]
    )
    facet_button(page, field, entity["value"]).click()
    expect(page.locator("#total")).to_have_text(str(entity["count"]))
    narrowed = api(api_url, "/search", q=QUERY, **{field: entity["value"]})
    assert shown_ids(page) == [h["id"] for h in narrowed["hits"]]
    assert all(entity["value"] in h["entities"][field] for h in narrowed["hits"])
    chart = page.locator("#chart svg")
    expect(chart).to_be_visible()
    assert chart.locator("rect.bar").count() >= 1

    # The state lives in the URL: a reload shows the same results.
    page.reload()
    expect(page.locator("#total")).to_have_text(str(entity["count"]))
    expect(page.get_by_role("searchbox", name="Search articles")).to_have_value(QUERY)
    expect(page.locator("#chart svg rect.bar").first).to_be_visible()

    shot = tmp_path / "search-page.png"
    page.screenshot(path=str(shot), full_page=True)
    copy = base_settings.state_dir / "screenshots" / "search-page.png"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, copy)


def test_the_access_facet_shows_paywalled_articles_by_name_and_filters(page: Page, api_url: str):
    everything = api(api_url, "/search")
    # The demo's Daily Ledger declares its articles not free (isAccessibleForFree: false).
    paywalled = {b["value"]: b["count"] for b in everything["facets"]["free_access"]}["false"]
    assert 0 < paywalled < everything["total"]
    page.goto(f"{api_url}/")
    expect(page.locator("#total")).to_have_text(str(everything["total"]))
    button = facet_button(page, "free_access", "false")
    expect(button.locator(".facet-name")).to_have_text("Paywalled")
    button.click()
    expect(page.locator("#total")).to_have_text(str(paywalled))
    narrowed = api(api_url, "/search", free_access="false")
    assert shown_ids(page) == [h["id"] for h in narrowed["hits"]]
    assert "free_access=false" in page.url
    expect(page.get_by_role("button", name="Remove filter Access: Paywalled")).to_have_count(1)


def test_more_results_follow_the_cursor_and_show_every_story_once(page: Page, api_url: str):
    everything = api(api_url, "/search")
    page.goto(f"{api_url}/")
    expect(page.locator("#total")).to_have_text(str(everything["total"]))
    more = page.get_by_role("button", name="More results")
    for _ in range(20):
        if not more.is_visible():
            break
        before = page.locator("#results > li").count()
        more.click()
        expect(page.locator("#results > li")).not_to_have_count(before)
        expect(page.locator("#more")).to_be_enabled()  # also once hidden
    ids = shown_ids(page)
    assert len(ids) == len(set(ids)) == everything["stories"]

    # Republications are folded into one result: "and N other sources".
    grouped = []
    cursor = None
    while True:
        body = api(api_url, "/search", size=50, **({"cursor": cursor} if cursor else {}))
        grouped += [h for h in body["hits"] if h["other_count"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert grouped, "the demo corpus has a wire story republished by several sites"
    for hit in grouped:
        summary = page.locator(f"#results > li[data-id={json.dumps(hit['id'])}] details summary")
        n = hit["other_count"]
        expect(summary).to_have_text(f"and {n} other source{'s' if n > 1 else ''}")


def test_highlights_are_inserted_as_text_with_only_em_markup(page: Page, api_url: str):
    page.goto(f"{api_url}/")
    expect(page.locator("#total")).to_be_visible()
    nasty = (
        'a &lt;img src=x onerror="window.hacked=1"&gt; <em>port</em> &amp; '
        "<b>bold</b><img src=x onerror=window.hacked=1><script>window.hacked=1</script>"
    )
    out = page.evaluate(
        """html => {
            const div = window.newsflow.appendHighlighted(document.createElement("div"), html);
            return {
                tags: [...div.querySelectorAll("*")].map(e => e.tagName),
                em: div.querySelector("em").textContent,
                text: div.textContent,
            };
        }""",
        nasty,
    )
    assert out["tags"] == ["EM"]
    assert out["em"] == "port"
    assert out["text"].startswith('a <img src=x onerror="window.hacked=1"> port & <b>bold</b>')

    # Markup typed into the search box stays text too.
    box = page.get_by_role("searchbox", name="Search articles")
    box.fill('<img src=x onerror="window.hacked=1"> strike')
    box.press("Enter")
    expect(page.locator("#status")).to_contain_text("No articles match")
    assert page.evaluate("window.hacked") is None
    assert page.locator("main img").count() == 0
