"""Where the data files the code reads live, in a checkout and in an installed wheel alike.

``mappings/`` (index templates, the alias table, Kibana saved objects) and ``plugins/`` (the
local node's analysis plugin, compiled on first start) sit at the top of the checkout; the
package reaches them through the symlinks ``newsflow/mappings`` and ``newsflow/plugins``, and
the wheel holds the folders themselves at those places (hatchling follows the links).

The demo corpus is not package data: it exists only in a source checkout.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
MAPPINGS_DIR = PACKAGE_DIR / "mappings"
KIBANA_DIR = MAPPINGS_DIR / "kibana"
PLUGINS_DIR = PACKAGE_DIR / "plugins"
STATIC_DIR = PACKAGE_DIR / "api" / "static"


def _checkout_root() -> Path | None:
    """The source checkout this package runs from (editable install or PYTHONPATH), or None
    when it runs from an installed wheel (site-packages holds no pyproject.toml)."""
    root = PACKAGE_DIR.resolve().parent
    return root if (root / "pyproject.toml").is_file() else None


CHECKOUT_ROOT = _checkout_root()
DEMO_CORPUS = CHECKOUT_ROOT / "demo" / "corpus" if CHECKOUT_ROOT else None
