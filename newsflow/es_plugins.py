"""Build and install the project's own stable analysis plugin into the local node.

The integ-test-zip distribution lacks the ``analysis-common`` module, so it has neither the
``english`` analyzer nor the ``asciifolding`` token filter that the official Docker image
has. ``plugins/analysis-newsflow`` provides both, under those names, so one mapping serves
both. It is compiled with ``javac`` against the node's own ``lib/`` jars (no Gradle, no
downloads), packed with its descriptor and ``named_components.json``, and installed with
``bin/elasticsearch-plugin``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import zipfile
from pathlib import Path

from newsflow.es_local import JDK_INSTALL_HINT, LocalNodeError
from newsflow.resources import PLUGINS_DIR

PLUGIN_NAME = "analysis-newsflow"
PLUGIN_SOURCE_DIR = PLUGINS_DIR / PLUGIN_NAME
DESCRIPTOR = "stable-plugin-descriptor.properties"
NAMED_COMPONENTS = "named_components.json"
JAVA_RELEASE = "17"
# Part of the cache key: bump it when this builder changes what goes into the zip.
BUILD_FORMAT = "1"
# The jars of the node the plugin compiles against (the stable API and the Lucene it wraps).
CLASSPATH_JARS = (
    "elasticsearch-plugin-api",
    "elasticsearch-plugin-analysis-api",
    "lucene-core",
    "lucene-analysis-common",
)
# The extensible interfaces of the stable analysis API, by simple name.
EXTENSIBLES = {
    name: f"org.elasticsearch.plugin.analysis.{name}"
    for name in ("AnalyzerFactory", "TokenFilterFactory", "TokenizerFactory", "CharFilterFactory")
}
# Fixed timestamp for zip entries, so the same sources always give the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class PluginBuildError(LocalNodeError):
    """The analysis plugin cannot be built or installed; the message carries the tool output."""


def _run(command: list[str], what: str, timeout: float, **kwargs) -> str:
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PluginBuildError(f"{what} failed: {exc}") from exc
    if result.returncode != 0:
        output = "\n".join(s.strip() for s in (result.stdout, result.stderr) if s.strip())
        raise PluginBuildError(
            f"{what} failed (exit code {result.returncode}): {' '.join(command)}\n{output}"
        )
    return result.stdout


def es_version(es_home: Path) -> str:
    """The node's version, read from its server jar (``lib/elasticsearch-<version>.jar``)."""
    for jar in (es_home / "lib").glob("elasticsearch-*.jar"):
        match = re.fullmatch(r"elasticsearch-(\d+\.\d+\.\d+(?:-[\w.]+)?)\.jar", jar.name)
        if match:
            return match.group(1)
    raise PluginBuildError(f"no lib/elasticsearch-<version>.jar in {es_home}: not a node home?")


def _classpath(es_home: Path) -> list[Path]:
    jars = []
    for prefix in CLASSPATH_JARS:
        found = [
            jar
            for jar in (es_home / "lib").glob(f"{prefix}-*.jar")
            if re.fullmatch(rf"{re.escape(prefix)}-\d[\w.-]*\.jar", jar.name)
        ]
        if len(found) != 1:
            raise PluginBuildError(
                f"expected one {prefix}-<version>.jar in {es_home / 'lib'}, found {len(found)}"
            )
        jars.append(found[0])
    return jars


def _sources(source_dir: Path) -> list[Path]:
    sources = sorted((source_dir / "src" / "main" / "java").rglob("*.java"))
    if not sources:
        raise PluginBuildError(f"no Java sources under {source_dir / 'src' / 'main' / 'java'}")
    return sources


def _cache_key(source_dir: Path, version: str) -> str:
    digest = hashlib.sha256(f"{BUILD_FORMAT}\0{version}\0{JAVA_RELEASE}\0".encode())
    for path in [*_sources(source_dir), source_dir / DESCRIPTOR]:
        digest.update(path.relative_to(source_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def named_components(sources: list[Path]) -> dict[str, dict[str, str]]:
    """``{extensible interface: {component name: class}}`` from the ``@NamedComponent`` classes.

    Elasticsearch's Gradle plugin writes this file by scanning bytecode; the sources of this
    plugin are simple enough (one public class per file) to read the same facts from them.
    """
    components: dict[str, dict[str, str]] = {}
    for source in sources:
        text = source.read_text(encoding="utf-8")
        named = re.search(r'@NamedComponent\(\s*(?:value\s*=\s*)?"([^"]+)"\s*\)', text)
        if not named:
            continue
        package = re.search(r"^\s*package\s+([\w.]+)\s*;", text, re.MULTILINE)
        declared = re.search(r"\bclass\s+(\w+)[^{]*?\bimplements\s+([^{]+)\{", text)
        if not package or not declared:
            raise PluginBuildError(f"{source}: cannot find the package or class declaration")
        interfaces = [name.strip().rsplit(".", 1)[-1] for name in declared.group(2).split(",")]
        extensible = [EXTENSIBLES[name] for name in interfaces if name in EXTENSIBLES]
        if len(extensible) != 1:
            raise PluginBuildError(
                f"{source}: a @NamedComponent must implement exactly one of {sorted(EXTENSIBLES)}"
            )
        name, class_name = named.group(1), f"{package.group(1)}.{declared.group(1)}"
        by_name = components.setdefault(extensible[0], {})
        if name in by_name:
            raise PluginBuildError(f"component name {name!r} is used twice in {extensible[0]}")
        by_name[name] = class_name
    if not components:
        raise PluginBuildError("no @NamedComponent classes in the plugin sources")
    return components


def _descriptor(source_dir: Path, version: str, key: str) -> str:
    text = (source_dir / DESCRIPTOR).read_text(encoding="utf-8")
    values = {
        "@PLUGIN_VERSION@": f"1.0.0+{key}",
        "@ES_VERSION@": version,
        "@JAVA_VERSION@": JAVA_RELEASE,
    }
    for token, value in values.items():
        text = text.replace(token, value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise PluginBuildError(f"{source_dir / DESCRIPTOR}: unknown tokens {leftover}")
    return text


def _write_zip(target: Path, entries: dict[str, bytes]) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(entries.items()):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


def build_analysis_plugin(
    es_home: Path, java_home: Path, build_dir: Path, source_dir: Path = PLUGIN_SOURCE_DIR
) -> Path:
    """Return the plugin zip for this node, compiling it only when its sources changed.

    The zip is cached in ``build_dir`` under a hash of the sources, the descriptor template
    and the node's version; a cache hit runs no ``javac`` at all.
    """
    version = es_version(es_home)
    key = _cache_key(source_dir, version)
    target = build_dir / f"{PLUGIN_NAME}-{version}-{key}.zip"
    if target.is_file():
        return target

    javac = java_home / "bin" / "javac"
    if not javac.is_file():
        raise PluginBuildError(
            f"{java_home} has no bin/javac (a JRE, not a JDK); the analysis plugin is compiled "
            f"locally. Install a JDK with: {JDK_INSTALL_HINT}"
        )
    sources = _sources(source_dir)
    components = named_components(sources)
    build_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=build_dir) as tmp:
        classes = Path(tmp) / "classes"
        command = [
            str(javac),
            "--release",
            JAVA_RELEASE,
            "-encoding",
            "UTF-8",
            "-Xlint:all",
            "-Werror",
            "-implicit:none",
            "-classpath",
            os.pathsep.join(str(jar) for jar in _classpath(es_home)),
            "-d",
            str(classes),
            *(str(s) for s in sources),
        ]
        _run(command, f"compiling {PLUGIN_NAME} with {javac}", timeout=300)

        manifest = f"Manifest-Version: 1.0\nCreated-By: newsflow\nImplementation-Version: {key}\n"
        jar_entries = {"META-INF/MANIFEST.MF": manifest.encode()}
        for cls in sorted(classes.rglob("*.class")):
            jar_entries[cls.relative_to(classes).as_posix()] = cls.read_bytes()
        jar = Path(tmp) / f"{PLUGIN_NAME}.jar"
        _write_zip(jar, jar_entries)

        partial = Path(tmp) / target.name
        _write_zip(
            partial,
            {
                f"{PLUGIN_NAME}.jar": jar.read_bytes(),
                DESCRIPTOR: _descriptor(source_dir, version, key).encode(),
                NAMED_COMPONENTS: json.dumps(components, indent=2, sort_keys=True).encode(),
            },
        )
        # Atomic, so a concurrent or interrupted build never leaves a half-written cache entry.
        partial.replace(target)
    for stale in build_dir.glob(f"{PLUGIN_NAME}-*.zip"):
        if stale != target:
            stale.unlink(missing_ok=True)
    return target


def _plugin_tool(es_home: Path, java_home: Path, *args: str, timeout: float = 300) -> str:
    tool = es_home / "bin" / "elasticsearch-plugin"
    if not tool.is_file():
        raise PluginBuildError(f"{tool} not found: is {es_home} an unpacked distribution?")
    # A clean environment: an ES_PATH_CONF or ES_JAVA_OPTS of the caller's must not leak in.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_JAVA_HOME": str(java_home),
        "LANG": "C.UTF-8",
    }
    return _run(
        [str(tool), *args], f"elasticsearch-plugin {args[0]}", timeout, env=env, cwd=es_home
    )


def _installed_matches(plugin_dir: Path, archive: Path) -> bool:
    """Whether the installed plugin holds exactly the files of ``archive``."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            installed = plugin_dir / info.filename
            if not installed.is_file() or installed.read_bytes() != zf.read(info):
                return False
    return True


def ensure_analysis_plugin(es_home: Path, java_home: Path, build_dir: Path, log=print) -> bool:
    """Install the analysis plugin into the node at ``es_home`` unless it is there already.

    A plugin installed from older sources is replaced. Returns True when it (re)installed;
    a running node picks the plugin up at its next start.
    """
    archive = build_analysis_plugin(es_home, java_home, build_dir)
    listed = _plugin_tool(es_home, java_home, "list").split()
    if PLUGIN_NAME in listed:
        if _installed_matches(es_home / "plugins" / PLUGIN_NAME, archive):
            return False
        log(f"replacing the outdated {PLUGIN_NAME} plugin")
        _plugin_tool(es_home, java_home, "remove", PLUGIN_NAME)
    log(f"installing the {PLUGIN_NAME} plugin (english analyzer, asciifolding filter)")
    _plugin_tool(es_home, java_home, "install", "--batch", archive.resolve().as_uri())
    # The up-to-date check above relies on the tool copying the files unchanged; say so
    # loudly here rather than reinstalling on every start.
    if not _installed_matches(es_home / "plugins" / PLUGIN_NAME, archive):
        raise PluginBuildError(
            f"{PLUGIN_NAME} was installed but {es_home / 'plugins' / PLUGIN_NAME} does not hold "
            f"the files of {archive}"
        )
    return True
