"""A second, secured Elasticsearch node for the security tests: TLS on HTTP, file-realm users.

It runs from the binaries of the project's local node (``es_local.install``) with its own
config directory (``ES_PATH_CONF``), data, logs and port, all in a temporary directory that is
removed when the context ends. Nothing here touches the main node on 9200.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from newsflow import es_local
from newsflow.settings import Settings

# The narrowest role the pipeline runs with (found by removing privileges one at a time):
# - cluster:admin/analyze: the "english" analyzer probe of indices.template_for_cluster
#   (otherwise only granted by the cluster privilege `manage`);
# - indices:admin/aliases: creating <alias>-v1 with its alias (otherwise only `manage`);
# - indices:admin/refresh*: the refresh at the end of a run (narrower than `maintenance`);
# - index (not write: no deletes), read (the unchanged-document check), create_index,
#   view_index_metadata (alias, exists and mapping look-ups).
# `newsflow run --backfill` needs indices:admin/settings/update on top.
ROLE = "newsflow_pipeline"
PIPELINE_ROLE = {
    "cluster": ["monitor", "manage_index_templates", "cluster:admin/analyze"],
    "indices": [
        {
            "names": ["test-*"],
            "privileges": [
                "create_index",
                "index",
                "read",
                "view_index_metadata",
                "indices:admin/aliases",
                "indices:admin/refresh*",
            ],
        }
    ],
}


@dataclass(frozen=True)
class SecureNode:
    url: str
    ca_certs: Path
    other_ca_certs: Path  # a CA that did not sign the node's certificate
    username: str
    password: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tool(home: Path, env: dict[str, str], name: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(home / "bin" / name), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen, what: str) -> None:
    output, _ = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise es_local.LocalNodeError(f"{what} failed ({proc.returncode}): {output[-2000:]}")


def _unzip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)


def _health(url: str, ca: Path, user: str, password: str) -> str:
    """The cluster status, or why it could not be read (kept for the start-up error)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(
        f"{url}/_cluster/health", headers={"Authorization": f"Basic {token}"}
    )
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with urllib.request.urlopen(request, timeout=3, context=context) as response:
            return json.loads(response.read())["status"]
    except urllib.error.HTTPError as exc:  # e.g. a role the node rejects: 400 with the reason
        return f"HTTP {exc.code}: {exc.read()[:500].decode(errors='replace')}"
    except (OSError, ValueError, KeyError) as exc:
        return repr(exc)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"


@contextmanager
def secure_node(
    password: str,
    *,
    username: str = "newsflow",
    role: dict = PIPELINE_ROLE,
    port: int = 9201,
    heap: str = "512m",
    timeout: float = 300.0,
) -> Iterator[SecureNode]:
    """Start a TLS + basic-auth node on 127.0.0.1:``port``; stop it and delete it afterwards.

    ``username``/``password`` is a file-realm user holding only ``role``. Raises
    ``es_local.LocalNodeError`` (with the node's log tail) when it does not become healthy.
    """
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise es_local.LocalNodeError(f"port {port} is taken; the secured node needs it")
    settings = Settings()
    home = es_local.paths(settings).home
    if not (home / "bin" / "elasticsearch").is_file():
        # install() also rewrites the main node's config: only when nothing is unpacked yet.
        home = es_local.install(settings, log=lambda _m: None).home
    java_home = es_local.find_java_home()
    root = Path(tempfile.mkdtemp(prefix="newsflow-secure-es-"))
    conf, data, logs, tmp = (root / n for n in ("config", "data", "logs", "tmp"))
    # The CLI tools read ES_PATH_CONF too: users land in this node's config, not the main one.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_JAVA_HOME": str(java_home),
        "ES_PATH_CONF": str(conf),
        # C1 only: half the start-up CPU, and a short-lived test node never needs C2's speed.
        "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap} -XX:TieredStopAtLevel=1",
        "CLI_JAVA_OPTS": "-XX:TieredStopAtLevel=1",  # certutil, elasticsearch-users
        "ES_TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
    }
    proc: subprocess.Popen | None = None
    try:
        shutil.copytree(home / "config", conf)
        for d in (data, logs, tmp, conf / "certs"):
            d.mkdir()
        config = {
            "cluster.name": "newsflow-secure",
            "node.name": "newsflow-secure-1",
            "path.data": str(data),
            "path.logs": str(logs),
            "network.host": "127.0.0.1",
            "http.port": port,
            "transport.port": _free_port(),
            "discovery.type": "single-node",
            "xpack.security.enabled": True,
            "xpack.security.http.ssl.enabled": True,
            "xpack.security.http.ssl.certificate": "certs/http/http.crt",
            "xpack.security.http.ssl.key": "certs/http/http.key",
            # A single node never talks to another over transport.
            "xpack.security.transport.ssl.enabled": False,
            "cluster.routing.allocation.disk.threshold_enabled": False,
        }
        lines = [f"{key}: {json.dumps(value)}" for key, value in config.items()]
        (conf / "elasticsearch.yml").write_text("\n".join(lines) + "\n")
        (conf / "roles.yml").write_text(json.dumps({ROLE: role}) + "\n")

        # Each tool is a JVM start: run those that do not depend on each other side by side.
        def tool(name: str, *args: str | Path) -> subprocess.Popen:
            return _tool(home, env, name, *map(str, args))

        certs, zips = conf / "certs", {n: root / f"{n}.zip" for n in ("ca", "other", "http")}
        pem = ("--pem", "--silent")
        ca = tool("elasticsearch-certutil", "ca", *pem, "--out", zips["ca"])
        other = tool("elasticsearch-certutil", "ca", *pem, "--out", zips["other"])
        user = tool("elasticsearch-users", "useradd", username, "-p", password, "-r", ROLE)
        _finish(ca, "certutil ca")
        _unzip(zips["ca"], certs)
        san = ("--name", "http", "--ip", "127.0.0.1", "--dns", "localhost")
        signer = ("--ca-cert", certs / "ca/ca.crt", "--ca-key", certs / "ca/ca.key")
        cert = tool("elasticsearch-certutil", "cert", *pem, *san, *signer, "--out", zips["http"])
        _finish(other, "certutil ca (other)")
        _unzip(zips["other"], root / "other")
        _finish(user, "elasticsearch-users useradd")
        _finish(cert, "certutil cert")
        _unzip(zips["http"], certs)

        command = [str(home / "bin" / "elasticsearch")]
        if os.geteuid() == 0:  # the node refuses to run as root
            es_user = es_local._ensure_user(settings.local_es_user)
            es_local._chown_tree(root, es_user.pw_uid, es_user.pw_gid)
            command = ["runuser", "-u", es_user.pw_name, "--", *command]
        stdout_log = logs / "stdout.log"
        with stdout_log.open("ab") as out:
            proc = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=root,  # gc.log and crash files are written relative to it
                start_new_session=True,  # one process group to stop at the end
            )
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while (health := _health(url, certs / "ca/ca.crt", username, password)) not in (
            "green",
            "yellow",
        ):
            if proc.poll() is not None or time.monotonic() > deadline:
                state = f"exited with {proc.returncode}" if proc.poll() is not None else "timed out"
                raise es_local.LocalNodeError(
                    f"secured node on {url} {state} (last health check: {health}); "
                    f"last lines of {stdout_log}:\n{_tail(stdout_log)}"
                )
            time.sleep(0.5)
        yield SecureNode(
            url=url,
            ca_certs=certs / "ca/ca.crt",
            other_ca_certs=root / "other/ca/ca.crt",
            username=username,
            password=password,
        )
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the node's process group (runuser, launcher, server JVM); SIGKILL if it lingers."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    # runuser may exit before the server JVM has let go of the data directory.
    while _group_alive(proc) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_alive(proc):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _group_alive(proc: subprocess.Popen) -> bool:
    proc.poll()  # reap runuser, or its zombie keeps the group "alive"
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True
