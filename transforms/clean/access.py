"""Whether an article can be read without paying (``free_access``), as the page declares it.

Sources, most trusted first:

* structured data: ``isAccessibleForFree`` of the page's JSON-LD article (the markup search
  engines ask paywalled sites for), else of the parts it lists in ``hasPart`` (a paywalled
  section: any part not free makes the article not free), else of any other JSON-LD object;
  ``true``/``false`` and the strings "True"/"False" in any case;
* the paywall marker ``<meta property="article:content_tier">``: ``free`` is free,
  ``locked`` and ``metered`` are not.

None when the page says neither: most pages do not, and that is not the same as free.
"""

from __future__ import annotations

from typing import Any

from lxml.etree import XPath
from lxml.html import HtmlElement

KEY = "isAccessibleForFree"
# Values of article:content_tier and what they say about access.
CONTENT_TIERS = {"free": True, "locked": False, "metered": False}
_CONTENT_TIER = XPath(
    "//meta[@property='article:content_tier' or @name='article:content_tier']/@content",
    smart_strings=False,
)


def as_bool(value: Any) -> bool | None:
    """``True``/``False`` for a boolean or its spelling as a string ("True", "false"), else
    None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    return None


def _parts(obj: dict[str, Any]) -> list[dict[str, Any]]:
    parts = obj.get("hasPart")
    items = parts if isinstance(parts, list) else [parts]
    return [p for p in items if isinstance(p, dict)]


def declared_access(obj: dict[str, Any]) -> bool | None:
    """What one JSON-LD object declares: its own ``isAccessibleForFree``, else False when one
    of its ``hasPart`` parts is not free, True when they all say free, None when none says."""
    own = as_bool(obj.get(KEY))
    if own is not None:
        return own
    said = [v for v in (as_bool(p.get(KEY)) for p in _parts(obj)) if v is not None]
    return all(said) if said else None


def content_tier(tree: HtmlElement) -> bool | None:
    """What the ``article:content_tier`` meta tag says (free / locked / metered), or None."""
    for value in _CONTENT_TIER(tree):
        found = CONTENT_TIERS.get(str(value).strip().lower())
        if found is not None:
            return found
    return None


def free_access(
    tree: HtmlElement, structured: list[dict[str, Any]], article: dict[str, Any] | None = None
) -> bool | None:
    """Whether the page's article is free to read: from ``article`` (its JSON-LD article),
    the other ``structured`` objects, then the content tier meta tag; None when none says."""
    for obj in [article] if article else []:
        found = declared_access(obj)
        if found is not None:
            return found
    for obj in structured:
        found = declared_access(obj)
        if found is not None:
            return found
    return content_tier(tree)
