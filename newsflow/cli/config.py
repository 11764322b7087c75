"""``newsflow config``: the effective settings."""

from __future__ import annotations

import json

from newsflow.cli.common import load_settings


def config() -> None:
    """Print the effective settings (secrets masked)."""
    print(json.dumps(load_settings().masked(), indent=2))
