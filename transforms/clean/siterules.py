"""Site rules: what one site needs, as data (``mappings/site_rules.yaml``), not generic code.

A rules file maps a host to its rule::

    example.com:
      drop: [".related-stories", "//aside[@class='newsletter']"]
      keep: "article .story-body"
      date: "time.published"

* ``drop``: selectors of nodes removed before extraction (ads, related links, teasers);
* ``keep``: a selector of the node(s) that hold the article; extraction reads only them;
* ``date``: a selector of the element that holds the publication date (its ``datetime`` or
  ``content`` attribute, else its text); the date it gives is recorded with source
  ``site-rule`` and wins over every other source.

A selector is XPath when it starts with ``/``, ``./`` or ``(``, CSS otherwise. A rule for
``example.com`` applies to ``example.com`` and every subdomain (``www.example.com``,
``news.example.com``); the most specific host wins. Other hosts are untouched.

``load_rules(path)`` reads and validates a file (``SiteRulesError`` names the file and the
bad entry). A rule's entry as written (``SiteRule.spec``) is part of the clean version of the
pages it covers (``transforms/versions.py``): editing one host's rule moves the version of that
host's documents only.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from lxml.cssselect import CSSSelector, SelectorError
from lxml.etree import XPath, XPathError
from lxml.html import Element, HtmlElement

from newsflow.resources import MAPPINGS_DIR
from newsflow.transforms.clean.dates import parse_date, printed_date

SITE_RULES_PATH = MAPPINGS_DIR / "site_rules.yaml"
RULE_KEYS = ("keep", "drop", "date")
SOURCE = "site-rule"  # published_source of a date a rule gave


class SiteRulesError(ValueError):
    """A rules file that cannot be used; the message names the file and the bad entry."""


@dataclass(frozen=True)
class SiteRule:
    host: str
    keep: XPath | None = None
    drop: tuple[XPath, ...] = ()
    date: XPath | None = None
    # The entry as written, as canonical JSON (keys sorted): what the clean version of the
    # pages this rule covers is made of. Comments and layout of the file are not in it.
    spec: str = ""


# Host -> rule, hosts lowercased without a trailing dot.
SiteRules = Mapping[str, SiteRule]


def compile_selector(selector: str) -> XPath:
    """An XPath for a selector: XPath as written when it starts with ``/``, ``./`` or ``(``,
    else CSS translated to XPath. Raises ``ValueError`` saying what is wrong with it."""
    text = selector.strip()
    if not text:
        raise ValueError("empty selector")
    try:
        if text.startswith(("/", "./", "(")):
            return XPath(text, smart_strings=False)
        return CSSSelector(text, translator="html")
    except (XPathError, SelectorError) as exc:
        raise ValueError(f"invalid selector {selector!r}: {exc}") from exc


def _selectors(value: Any) -> list[str]:
    """A selector or a list of them, as a list; ``ValueError`` for anything else."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) for v in items):
        raise ValueError(f"expected a selector or a list of selectors, got {value!r}")
    return items


def _one_selector(value: Any) -> XPath:
    if not isinstance(value, str):
        raise ValueError(f"expected one selector (a string), got {value!r}")
    return compile_selector(value)


def parse_rule(host: Any, spec: Any) -> SiteRule:
    """The rule of one entry of a rules file; ``ValueError`` saying what is wrong."""
    if not isinstance(host, str) or not host.strip() or "/" in host or " " in host.strip():
        raise ValueError(f"a key must be a host name such as example.com, got {host!r}")
    if not isinstance(spec, dict) or not spec:
        raise ValueError(f"expected a mapping with keep, drop and/or date, got {spec!r}")
    unknown = sorted(set(map(str, spec)) - set(RULE_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(RULE_KEYS)})")
    return SiteRule(
        host=host.strip().lower().rstrip("."),
        keep=_one_selector(spec["keep"]) if "keep" in spec else None,
        drop=tuple(compile_selector(s) for s in _selectors(spec["drop"])) if "drop" in spec else (),
        date=_one_selector(spec["date"]) if "date" in spec else None,
        spec=json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
    )


def parse_rules(data: Any, origin: str) -> dict[str, SiteRule]:
    """The rules of a parsed file (``origin`` names it in errors). An empty file has none."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SiteRulesError(f"{origin}: expected a mapping of host names to rules")
    rules: dict[str, SiteRule] = {}
    for host, spec in data.items():
        try:
            rule = parse_rule(host, spec)
        except ValueError as exc:
            raise SiteRulesError(f"{origin}: entry {host!r}: {exc}") from exc
        rules[rule.host] = rule
    return rules


@functools.cache
def _load(path: Path, _mtime_ns: int) -> dict[str, SiteRule]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SiteRulesError(f"{path}: not valid YAML: {exc}") from exc
    return parse_rules(data, str(path))


def load_rules(path: str | Path | None = None) -> SiteRules:
    """The rules of the file at ``path`` (default ``mappings/site_rules.yaml``), read once per
    process and version of the file. Raises ``SiteRulesError`` for a file that cannot be read
    or holds a bad entry."""
    resolved = Path(path or SITE_RULES_PATH).resolve()
    try:
        mtime = resolved.stat().st_mtime_ns
    except OSError as exc:
        raise SiteRulesError(f"{resolved}: site rules file cannot be read: {exc}") from exc
    return _load(resolved, mtime)


def rule_for(rules: SiteRules, url: str | None) -> SiteRule | None:
    """The rule for the host of ``url``: its own, else that of the closest parent domain
    ("example.com" covers "www.example.com"); None when no rule covers it."""
    if not rules or not url:
        return None
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    while host:
        if host in rules:
            return rules[host]
        host = host.partition(".")[2]
    return None


def _elements(selector: XPath, tree: HtmlElement) -> list[HtmlElement]:
    found = selector(tree)
    return [e for e in found if isinstance(e, HtmlElement)] if isinstance(found, list) else []


def drop_nodes(tree: HtmlElement, rule: SiteRule) -> int:
    """Remove the nodes the rule's ``drop`` selectors match (their tail text stays); returns
    how many were removed."""
    removed = 0
    for selector in rule.drop:
        for element in _elements(selector, tree):
            if element.getparent() is not None:
                element.drop_tree()
                removed += 1
    return removed


def kept_tree(tree: HtmlElement, rule: SiteRule) -> HtmlElement | None:
    """A page holding only what the rule's ``keep`` selector matches (outermost matches, in
    page order, under the page's own ``head``), or None when the rule has no ``keep`` or it
    matches nothing (the site's layout changed: the page is extracted as a whole)."""
    if rule.keep is None:
        return None
    matched = _elements(rule.keep, tree)
    ids = {id(e) for e in matched}
    outer = [e for e in matched if not any(id(a) in ids for a in e.iterancestors())]
    if not outer:
        return None
    page = Element("html")
    head = tree.find("head")
    if head is not None:
        page.append(_detached(head))
    body = Element("body")
    body.extend(_detached(e) for e in outer)
    page.append(body)
    return page


def _detached(element: HtmlElement) -> HtmlElement:
    """A copy of ``element`` without its tail text."""
    copied = copy.copy(element)
    copied.tail = None
    return copied


def rule_date(tree: HtmlElement, rule: SiteRule) -> str | None:
    """The publication date the rule's ``date`` selector points at: an attribute value it
    selects, else the first matched element's ``datetime`` or ``content`` attribute, else its
    text (an ISO date or a printed one such as "18 November 2019"); None when nothing there
    reads as a date."""
    if rule.date is None:
        return None
    found = rule.date(tree)
    for item in found if isinstance(found, list) else [found]:
        if isinstance(item, HtmlElement):
            values = [item.get("datetime"), item.get("content"), item.text_content()]
        else:
            values = [str(item)]
        for value in values:
            if value and value.strip():
                text = " ".join(value.split())
                date = parse_date(text) or printed_date(text)
                if date:
                    return date
    return None
