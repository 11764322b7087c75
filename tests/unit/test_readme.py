"""The README against the code: every setting in its table, every path of its layout real."""

from __future__ import annotations

import re

from newsflow.settings import Settings
from tests.corpora import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
TABLE_HEADER = "| variable | default | meaning |"
# Paths the layout names before they exist, with why; an entry whose path exists fails the
# test, so that it is taken out when the file lands.
PENDING: dict[str, str] = {}


def _settings_rows() -> list[list[str]]:
    """The cells of the rows of the settings table (the one with TABLE_HEADER)."""
    lines = README.splitlines()
    start = lines.index(TABLE_HEADER) + 2  # past the header and its |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _layout_block() -> str:
    section = README.split("\n## Layout\n", 1)[1]
    return section.split("```", 2)[1]


def _expand(token: str) -> list[str]:
    """``a/{b,c}/`` -> ``a/b/``, ``a/c/`` (one level of braces)."""
    match = re.search(r"\{([^{}]*)\}", token)
    if not match:
        return [token]
    head, tail = token[: match.start()], token[match.end() :]
    return [path for part in match[1].split(",") for path in _expand(head + part + tail)]


def _layout_paths() -> set[str]:
    """Words of the layout block made of path characters with a slash (not "I/O")."""
    words = (word.strip("`,;:()") for word in _layout_block().split())
    tokens = [w for w in words if "/" in w and re.fullmatch(r"[a-z0-9_.{},/-]+", w)]
    return {path for token in tokens for path in _expand(token)}


def test_every_setting_has_its_environment_variable_in_the_settings_table():
    named = {
        name for row in _settings_rows() for name in re.findall(r"`(NEWSFLOW_[A-Z0-9_]+)`", row[0])
    }
    fields = {f"NEWSFLOW_{name.upper()}" for name in Settings.model_fields}
    assert fields - named == set(), "add these to the README's settings table"
    assert named - fields == set(), "the README's settings table names settings that do not exist"


def _same(literal: str, default: object) -> bool | None:
    """Whether a default written in the table is the field's; None when it is not a literal
    (a computed default, a path, unset)."""
    if isinstance(default, bool):
        return literal == str(default).lower()
    if isinstance(default, int | float):
        return float(literal) == default
    if isinstance(default, str):
        return literal == default
    return None


def test_defaults_written_as_literals_in_the_settings_table_are_the_real_ones():
    checked, wrong = 0, []
    for variable, default, *_ in _settings_rows():
        names = re.findall(r"`NEWSFLOW_([A-Z0-9_]+)`", variable)
        literal = re.search(r"`([^`]*)`", default)
        if len(names) != 1 or literal is None:
            continue  # several settings in one row, or a default said in words
        real = Settings.model_fields[names[0].lower()].default
        same = _same(literal[1], real)
        checked += same is not None
        if same is False:
            wrong.append(f"NEWSFLOW_{names[0]}: README {literal[1]!r}, code {real!r}")
    assert wrong == []
    assert checked >= 20, "the table's defaults are no longer written as `literals`"


def test_the_layout_names_only_paths_that_exist():
    paths = _layout_paths()
    assert len(paths) >= 10, "the layout block was not found or names too little"
    missing = sorted(p for p in paths - PENDING.keys() if not (ROOT / p).exists())
    assert missing == [], "the README's Layout names paths that are not in the tree"
    landed = sorted(p for p in PENDING if (ROOT / p).exists())
    assert landed == [], "these exist now: take them out of PENDING in this test"
    for path in paths:
        if path.endswith("/"):
            assert (ROOT / path).is_dir(), f"{path} is not a directory"
