"""The layering of issue 19, checked on the source of every module of the package (ast).

* ``transforms/`` holds pure steps: no Elasticsearch, no orchestration (Prefect, Dask), no
  archive I/O (fsspec), nothing from the store, the flows, the API or the CLI.
* Only ``newsflow/store/`` talks to Elasticsearch: elsewhere nothing imports
  ``elasticsearch.helpers``, and names imported from ``elasticsearch`` are exception classes
  (to catch them) or ``Elasticsearch`` used in annotations only (to pass the client along).

The package is what the wheel ships: ``newsflow/`` with the folders it links to (transforms,
flows, plugins). Tests and benches talk to the node directly on purpose and are not checked.
"""

from __future__ import annotations

import ast
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "newsflow"

TRANSFORMS = "newsflow.transforms"
STORE = "newsflow.store"
FORBIDDEN_IN_TRANSFORMS = (
    "elasticsearch",
    "elastic_transport",
    "prefect",
    "prefect_dask",
    "dask",
    "fsspec",
    "newsflow.store",
    "newsflow.flows",
    "newsflow.api",
    "newsflow.cli",
)
CLIENT_CLASS = "Elasticsearch"

# Modules that still break a rule, by their path in the repository, and why. Each entry is
# a debt with an owner: the test fails once a module listed here is clean, so the list only
# shrinks. Empty it; do not add to it.
KNOWN_OFFENDERS: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    """One imported name: ``module`` is what the import statement names (absolute), ``name``
    the name taken from it (None for ``import module``)."""

    module: str
    name: str | None
    bound: str  # the local name it is bound to
    line: int

    @property
    def targets(self) -> list[str]:
        """Dotted names this import may reach (``from a import b`` may import module a.b)."""
        return [self.module] if self.name is None else [self.module, f"{self.module}.{self.name}"]

    def __str__(self) -> str:
        if self.name is None:
            return f"import {self.module}"
        return f"from {self.module} import {self.name}"


@dataclass(frozen=True)
class Module:
    name: str  # dotted, as imported: newsflow.transforms.enrich.stories
    path: str  # in the repository: transforms/enrich/stories.py
    tree: ast.Module

    def where(self, imp: Import) -> str:
        return f"{self.name} ({self.path}:{imp.line})"


def _modules() -> list[Module]:
    """Every module of the package, following the symlinked folders."""
    found = []
    for folder, subfolders, files in os.walk(PACKAGE, followlinks=True):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for file in sorted(f for f in files if f.endswith(".py")):
            path = Path(folder, file)
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            source = path.read_text(encoding="utf-8")
            found.append(
                Module(
                    name=name,
                    path=path.resolve().relative_to(ROOT).as_posix(),
                    tree=ast.parse(source, filename=str(path)),
                )
            )
    return found


MODULES = _modules()


def _imports(module: Module) -> list[Import]:
    """Every import of the module, deferred ones inside functions included."""
    package = module.name if module.path.endswith("__init__.py") else module.name.rpartition(".")[0]
    found = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.partition(".")[0]
                found.append(Import(alias.name, None, bound, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package upwards
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                found.append(Import(base, alias.name, alias.asname or alias.name, node.lineno))
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _annotation_names(tree: ast.Module) -> set[int]:
    """ids of the Name nodes that stand in annotations (arguments, returns, annotated names)."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            roots += [a.annotation for a in every if a is not None and a.annotation is not None]
            if node.returns is not None:
                roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
    return {id(n) for root in roots for n in ast.walk(root) if isinstance(n, ast.Name)}


def _is_exception(module: str, name: str) -> bool:
    try:
        value = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return False
    return isinstance(value, type) and issubclass(value, BaseException)


def transforms_offences(module: Module) -> list[str]:
    """Imports of I/O, orchestration or outer layers in a module of ``transforms/``."""
    if not _under(module.name, TRANSFORMS):
        return []
    return [
        f"{module.where(imp)}: {imp} (a pure step may not import {prefix})"
        for imp in _imports(module)
        for prefix in FORBIDDEN_IN_TRANSFORMS
        if any(_under(t, prefix) for t in imp.targets)
    ]


def client_offences(module: Module) -> list[str]:
    """Ways a module outside the store could talk to Elasticsearch itself."""
    if _under(module.name, STORE):
        return []
    found = []
    annotations = _annotation_names(module.tree)
    for imp in _imports(module):
        if not any(_under(t, "elasticsearch") for t in imp.targets):
            continue
        if any(_under(t, "elasticsearch.helpers") for t in imp.targets):
            found.append(f"{module.where(imp)}: {imp} (bulk and scan belong in newsflow/store)")
        elif imp.name is None:
            found.append(f"{module.where(imp)}: {imp} (import the names needed, not the library)")
        elif imp.name == CLIENT_CLASS and imp.module == "elasticsearch":
            used = [
                n.lineno
                for n in ast.walk(module.tree)
                if isinstance(n, ast.Name) and n.id == imp.bound and id(n) not in annotations
            ]
            if used:
                lines = ", ".join(map(str, used))
                found.append(
                    f"{module.where(imp)}: {imp} used outside annotations (line {lines}); "
                    "build the client with newsflow.store.client.make_client"
                )
        elif not _is_exception(imp.module, imp.name):
            found.append(
                f"{module.where(imp)}: {imp} (outside newsflow/store only exception classes "
                f"and the {CLIENT_CLASS} annotation)"
            )
    return found


def _check(rule) -> list[str]:
    return [o for m in MODULES if m.path not in KNOWN_OFFENDERS for o in rule(m)]


def test_every_module_of_the_package_is_checked():
    names = {m.name for m in MODULES}
    # Through the symlinks too: transforms and flows are folders beside the package.
    assert {
        "newsflow.transforms.enrich.stories",
        "newsflow.transforms.sources.discover",
        "newsflow.flows.ingest",
        "newsflow.store.search",
        "newsflow.api.app",
        "newsflow.cli",
    } <= names
    assert {m.path for m in MODULES} >= {"transforms/models.py", "flows/ingest.py"}


def test_transforms_import_no_io_orchestration_or_outer_layer():
    offences = _check(transforms_offences)
    assert not offences, "pure steps importing I/O or outer layers:\n" + "\n".join(offences)


def test_only_the_store_talks_to_elasticsearch():
    offences = _check(client_offences)
    assert not offences, "Elasticsearch used outside newsflow/store:\n" + "\n".join(offences)


def test_known_offenders_still_offend():
    paths = {m.path: m for m in MODULES}
    stale = [
        path
        for path in KNOWN_OFFENDERS
        if path not in paths
        or not (transforms_offences(paths[path]) or client_offences(paths[path]))
    ]
    assert not stale, f"clean now, remove from KNOWN_OFFENDERS: {', '.join(stale)}"


def test_the_rules_catch_what_they_forbid():
    source = """
from elasticsearch import ApiError, Elasticsearch, helpers
from elasticsearch.helpers import scan
from newsflow import store
import elasticsearch
import prefect.flows

def run(client: Elasticsearch) -> None:
    try:
        client.search()
    except ApiError:
        pass

def build() -> Elasticsearch:
    return Elasticsearch("http://localhost:9200")
"""
    module = Module("newsflow.transforms.example", "transforms/example.py", ast.parse(source))
    pure = "\n".join(transforms_offences(module))
    for imported in ("import helpers", "import scan", "import store", "import elasticsearch"):
        assert imported in pure
    assert "import prefect.flows" in pure and "ApiError" in pure
    client = client_offences(module)
    assert len(client) == 4, client
    assert "line 15" in client[0] and "import Elasticsearch" in client[0]
    assert "import helpers" in client[1] and "import scan" in client[2]
    assert "import elasticsearch (import" in client[3]
    assert not any("ApiError" in o for o in client)
