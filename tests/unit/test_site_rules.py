"""Site rules as data (mappings/site_rules.yaml): each rule kind shapes the clean step's output
for its host (and subdomains) only, and a bad file is refused with the file and entry named."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsflow.transforms.clean import siterules
from newsflow.transforms.clean.extract import clean_page
from newsflow.transforms.clean.siterules import (
    SITE_RULES_PATH,
    SiteRulesError,
    load_rules,
    parse_rules,
    rule_for,
)
from newsflow.transforms.models import Article, Page

PROSE = [
    "Cranes at the harbour stood idle on Tuesday as the dockworkers' strike spread to the night "
    "shift, leaving dozens of container ships waiting at anchor outside the breakwater.",
    "The union said its members would not return until the port authority withdrew plans to "
    "automate two of the four terminals, a change it says would cost six hundred jobs.",
    "Shipping lines have begun diverting vessels to neighbouring ports, and exporters warned "
    "that perishable goods could spoil within days if the dispute is not settled soon.",
]
# Running prose a generic extractor has no reason to drop: only a site rule can.
PROMO = (
    "Our readers in the harbour district can now subscribe to the weekly printed edition with "
    "home delivery every Saturday morning, and the first month of the offer costs nothing."
)
EXTRA = (
    "Meanwhile the city council debated a new cycling lane along the waterfront promenade for "
    "the third time this year, without reaching any decision before the summer recess began."
)


def page_html(*, stated: str = "2024-03-11T09:00:00+01:00") -> str:
    paras = "".join(f"<p>{p}</p>" for p in PROSE)
    return (
        "<html><head><title>Harbour cranes fall silent</title>"
        f"<meta property='article:published_time' content='{stated}'></head><body>"
        "<article><h1>Harbour cranes fall silent</h1>"
        "<p class='when'>Published <span class='pubdate'>10 March 2024</span></p>"
        f"<div class='story-body'>{paras}<div class='box-a'><p>{PROMO}</p></div></div>"
        f"<div class='more'><p>{EXTRA}</p></div>"
        "</article></body></html>"
    )


def clean(url: str, rules: dict | None = None, html: str | None = None) -> Article:
    page = Page(url, url, html or page_html(), "utf-8", datetime(2024, 3, 12, tzinfo=UTC))
    result = clean_page(page, rules=parse_rules(rules, "test") if rules else None)
    assert isinstance(result, Article), result
    return result


def test_a_drop_rule_removes_its_nodes_before_extraction():
    plain = clean("https://www.harbour.example/a")
    assert PROMO[:40] in plain.body  # the generic clean step keeps it
    ruled = clean("https://www.harbour.example/a", {"harbour.example": {"drop": ".box-a"}})
    assert PROMO[:40] not in ruled.body
    assert all(p[:40] in ruled.body for p in PROSE)


def test_drop_takes_a_list_and_xpath():
    rules = {"harbour.example": {"drop": ["//div[@class='more']", "div.box-a"]}}
    ruled = clean("https://harbour.example/a", rules)
    assert PROMO[:40] not in ruled.body and EXTRA[:40] not in ruled.body
    assert all(p[:40] in ruled.body for p in PROSE)


def test_a_keep_rule_restricts_extraction_to_the_matched_node():
    plain = clean("https://harbour.example/a")
    assert EXTRA[:40] in plain.body
    ruled = clean("https://harbour.example/a", {"harbour.example": {"keep": ".story-body"}})
    assert EXTRA[:40] not in ruled.body
    assert PROMO[:40] in ruled.body  # inside the kept node
    assert all(p[:40] in ruled.body for p in PROSE)


def test_keep_and_drop_together():
    rules = {"harbour.example": {"keep": ".story-body", "drop": ".box-a"}}
    body = clean("https://harbour.example/a", rules).body
    assert [p[:40] in body for p in (*PROSE, PROMO, EXTRA)] == [True] * 3 + [False, False]


def test_a_keep_rule_that_matches_nothing_leaves_the_page_whole():
    plain = clean("https://harbour.example/a")
    ruled = clean("https://harbour.example/a", {"harbour.example": {"keep": ".no-such-box"}})
    assert ruled.body == plain.body


def test_a_date_rule_gives_the_published_date_with_its_source():
    plain = clean("https://harbour.example/a")
    assert (plain.published, plain.published_source) == ("2024-03-11T09:00:00+01:00", "meta")
    ruled = clean("https://harbour.example/a", {"harbour.example": {"date": "span.pubdate"}})
    assert (ruled.published, ruled.published_source) == ("2024-03-10", "site-rule")


def test_a_date_rule_reads_an_attribute_and_keeps_the_offset():
    html = page_html().replace(
        "<span class='pubdate'>10 March 2024</span>",
        "<time class='pubdate' datetime='2024-03-10T23:30:00-05:00'>Sunday night</time>",
    )
    for selector in ("time.pubdate", "//time[@class='pubdate']/@datetime"):
        ruled = clean("https://harbour.example/a", {"harbour.example": {"date": selector}}, html)
        assert (ruled.published, ruled.published_source) == (
            "2024-03-10T23:30:00-05:00",
            "site-rule",
        )


def test_a_date_rule_that_finds_no_date_leaves_the_page_s_own():
    plain = clean("https://harbour.example/a")
    ruled = clean("https://harbour.example/a", {"harbour.example": {"date": ".no-such-date"}})
    assert (ruled.published, ruled.published_source) == (plain.published, plain.published_source)


@pytest.mark.parametrize(
    "url",
    ["https://other.example/a", "https://notharbour.example/a", "https://harbour.example.org/a"],
)
def test_a_rule_for_one_host_changes_nothing_for_another(url):
    rules = {
        "harbour.example": {"keep": ".story-body", "drop": [".box-a", "h1"], "date": ".pubdate"}
    }
    # On its own host the rule changes body and date...
    assert clean("https://harbour.example/a", rules) != clean("https://harbour.example/a")
    # ...elsewhere the article is the one made without rules, field for field.
    assert dataclasses.asdict(clean(url, rules)) == dataclasses.asdict(clean(url))


def test_hosts_match_exactly_and_by_subdomain_the_most_specific_first():
    rules = parse_rules(
        {"example.com": {"drop": ".a"}, "News.Example.com.": {"drop": ".b"}}, "test"
    )
    assert rule_for(rules, "https://example.com/x").host == "example.com"
    assert rule_for(rules, "https://www.example.com/x").host == "example.com"
    assert rule_for(rules, "https://news.example.com/x").host == "news.example.com"
    assert rule_for(rules, "https://a.news.example.com/x").host == "news.example.com"
    for other in ("https://badexample.com/", "https://example.com.evil.org/", "https://com/"):
        assert rule_for(rules, other) is None, other
    assert rule_for({}, "https://example.com/") is None


def test_the_shipped_file_holds_no_rules_and_is_documented():
    assert load_rules() == {}
    assert load_rules(SITE_RULES_PATH) == {}
    text = SITE_RULES_PATH.read_text()
    for word in ("keep:", "drop:", "date:", "NEWSFLOW_SITE_RULES", "XPath", "CSS"):
        assert word in text


def test_commented_examples_of_the_shipped_file_are_valid_rules(tmp_path: Path):
    lines = SITE_RULES_PATH.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# example.com:"))
    example = "\n".join(line.removeprefix("# ") for line in lines[start:])
    path = tmp_path / "rules.yaml"
    path.write_text(example)
    rules = load_rules(path)
    assert set(rules) == {"example.com", "news.example.org"}
    assert len(rules["example.com"].drop) == 2


@pytest.mark.parametrize(
    ("content", "names"),
    [
        ("example.com:\n  keep: 'div[['\n", ["example.com", "div[["]),
        ("example.com:\n  drop: ['//div[']\n", ["example.com", "//div["]),
        ("example.com:\n  kepe: article\n", ["example.com", "kepe"]),
        ("example.com:\n  keep: [a, b]\n", ["example.com", "one selector"]),
        ("example.com: article\n", ["example.com", "mapping"]),
        ("'https://example.com/':\n  keep: article\n", ["https://example.com/", "host"]),
        ("- example.com\n", ["mapping of host names"]),
        ("example.com: [\n", ["not valid YAML"]),
    ],
)
def test_a_bad_rules_file_is_refused_naming_the_file_and_the_entry(
    tmp_path: Path, content: str, names: list[str]
):
    path = tmp_path / "my-rules.yaml"
    path.write_text(content)
    with pytest.raises(SiteRulesError) as err:
        load_rules(path)
    message = str(err.value)
    assert str(path) in message
    for name in names:
        assert name in message


def test_a_missing_rules_file_is_refused_naming_it(tmp_path: Path):
    with pytest.raises(SiteRulesError, match=r"nowhere\.yaml"):
        load_rules(tmp_path / "nowhere.yaml")


def test_an_edited_file_is_read_again(tmp_path: Path):
    path = tmp_path / "rules.yaml"
    path.write_text("a.example:\n  drop: .x\n")
    assert set(load_rules(path)) == {"a.example"}
    path.write_text("b.example:\n  drop: .x\n")
    import os

    os.utime(path, ns=(1, 10**18))  # a new modification time, whatever the clock's resolution
    assert set(siterules.load_rules(path)) == {"b.example"}


def test_the_settings_name_the_rules_file_and_none_means_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from newsflow.settings import Settings

    assert Settings().site_rules is None
    path = tmp_path / "rules.yaml"
    path.write_text("example.com:\n  drop: .x\n")
    monkeypatch.setenv("NEWSFLOW_SITE_RULES", str(path))
    assert Settings().site_rules == path
    assert set(load_rules(Settings().site_rules)) == {"example.com"}


def test_a_rule_date_after_the_stated_modification_drops_the_stale_modification():
    html = page_html().replace(
        "</head>",
        "<meta property='article:modified_time' content='2024-03-11T10:00:00+01:00'></head>",
    )
    plain = clean("https://harbour.example/a", html=html)
    assert plain.modified == "2024-03-11T10:00:00+01:00"
    html = html.replace("10 March 2024", "12 March 2024")
    ruled = clean("https://harbour.example/a", {"harbour.example": {"date": ".pubdate"}}, html)
    assert (ruled.published, ruled.modified, ruled.modified_source) == ("2024-03-12", None, None)
