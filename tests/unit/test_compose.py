"""The production stack (docker-compose.yml, .env.example, Dockerfile) checked without Docker.

The compose file is interpolated with the values of .env.example the way Compose does it, then
validated against the Compose Specification's JSON schema and checked for what this stack
needs. ``docker compose config`` runs too where the Compose plugin is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from importlib.resources import files
from typing import Any

import pytest
import yaml

from newsflow.settings import Settings
from tests.corpora import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
STACK_VERSION = "8.19.21"
# Left empty in .env.example on purpose: Compose must refuse to start until they are chosen.
REQUIRED_SECRETS = {"ELASTIC_PASSWORD", "KIBANA_PASSWORD"}
TEST_SECRETS = {name: "test-only-secret" for name in REQUIRED_SECRETS}
CONFIG = ["config", "--quiet"]

_REFERENCE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_]\w*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>.*))?", re.S)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ``${VAR:+alt}``, ``$$``."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return env.get(match["named"], "")
        parts = _BRACED.fullmatch(match["braced"])
        assert parts, f"unsupported interpolation ${{{match['braced']}}}"
        name, op, arg = parts["name"], parts["op"], parts["arg"]
        value = env.get(name)
        is_set = value is not None and (value != "" or not op or not op.startswith(":"))
        if op in (":-", "-"):
            return value if is_set else interpolate(arg, env)
        if op in (":?", "?"):
            if not is_set:
                raise ValueError(f"required variable {name} is missing: {arg}")
            return value
        if op in (":+", "+"):
            return interpolate(arg, env) if is_set else ""
        return value or ""

    return _REFERENCE.sub(replace, text)


def variables_in(text: str) -> set[str]:
    return {
        m["named"] or _BRACED.fullmatch(m["braced"])["name"]
        for m in _REFERENCE.finditer(text)
        if not m["escaped"]
    }


def walk_strings(node: Any):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from walk_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk_strings(value)


def resolve(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, env) for value in node]
    return node


def read_env_file(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"not NAME=value: {line!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    # safe_load resolves the `<<: *newsflow` merge keys as Compose does.
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE.read_text())


@pytest.fixture(scope="module")
def compose(raw, env_example) -> dict[str, Any]:
    """The compose model as Compose sees it with .env copied from .env.example."""
    return resolve(raw, {**env_example, **TEST_SECRETS})


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume entry, short or long syntax."""
    result = []
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            result.append((entry.get("source", ""), entry["target"]))
        else:
            source, target = entry.split(":")[:2]
            result.append((source, target))
    return result


def is_named(source: str) -> bool:
    return bool(source) and not source.startswith((".", "/", "~"))


# --- Schema and references ----------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_spec_schema(compose):
    # check-jsonschema ships the Compose Specification's schema (vendored, Apache-2.0).
    pytest.importorskip("check_jsonschema", reason="dev dependency check-jsonschema missing")
    import jsonschema

    vendor = files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose)
    ]
    assert not errors, "\n".join(errors)


def test_every_service_has_an_image_or_a_build(compose):
    for name, service in compose["services"].items():
        assert service.get("image") or service.get("build"), name


def test_long_running_services_have_health_checks(compose):
    for name in ("es01", "kibana", "prefect", "worker", "api"):
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """The services a service waits for, and the condition of each."""
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: spec["condition"] for name, spec in depends.items()}


def test_one_shot_jobs_are_waited_for_until_they_finish_never_for_their_health(compose):
    # A job that has exited has no health: waiting for it to be healthy made a second
    # `docker compose up` fail with "dependency failed to start: ... exited (0)".
    services = compose["services"]
    jobs = {name for name, service in services.items() if service.get("restart") == "no"}
    assert jobs == {"certs", "kibana-password"}
    for name in jobs:
        assert "healthcheck" not in services[name], name
    for name, service in services.items():
        for other, condition in depends_on(service).items():
            if other in jobs:
                assert condition == "service_completed_successfully", (name, other)
    # Certificates before the node; kibana_system's password once the node answers; Kibana
    # once it has its password.
    assert depends_on(services["es01"]) == {"certs": "service_completed_successfully"}
    assert depends_on(services["kibana-password"]) == {"es01": "service_healthy"}
    assert depends_on(services["kibana"]) == {
        "es01": "service_healthy",
        "kibana-password": "service_completed_successfully",
    }


def test_depends_on_names_services_that_exist_and_can_meet_the_condition(compose):
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            depends = {d: {"condition": "service_started"} for d in depends}
        for other, spec in depends.items():
            assert other in services, f"{name} depends on unknown service {other}"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[other], f"{name} waits for {other}'s health"
            if spec["condition"] == "service_completed_successfully":
                assert services[other].get("restart") == "no", other


def test_named_volumes_are_declared_and_used(compose):
    declared = set(compose.get("volumes") or {})
    used = {
        source
        for service in compose["services"].values()
        for source, _ in mounts(service)
        if is_named(source)
    }
    assert used == declared == {"archive", "certs", "esdata", "kibanadata", "prefectdata"}


def writable_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of the volume entries mounted read-write."""
    result = []
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            if not entry.get("read_only"):
                result.append((entry.get("source", ""), entry["target"]))
        elif entry.split(":")[2:3] != ["ro"]:
            source, target = entry.split(":")[:2]
            result.append((source, target))
    return result


@pytest.mark.parametrize("name", ["api", "worker"])
def test_newsflow_services_write_only_to_named_volumes(compose, name):
    # Docker creates a missing host directory as root; the image runs as uid 10001.
    for source, target in writable_mounts(compose["services"][name]):
        assert is_named(source), f"{name} writes to host directory {source} at {target}"


def test_the_archive_is_a_volume_the_image_user_owns(compose):
    worker = compose["services"]["worker"]
    archive = environment(worker)["NEWSFLOW_ARCHIVE_URL"]
    (entry,) = [e for e in worker["volumes"] if (isinstance(e, str) and e.endswith(archive))]
    assert entry == f"archive:{archive}"  # a named volume, read-write, copied from the image
    # A new named volume takes the owner of the image's directory it is mounted on: the image
    # must make that directory, owned by the user it runs as.
    text = DOCKERFILE.read_text()
    user = re.findall(r"^USER (\S+)$", text, re.M)[-1]
    uid = re.search(rf"useradd .*--uid (\d+) {user}\b", text)
    assert uid, "the image's user is made by useradd with a fixed uid"
    owners = f"(?:{user}|{uid[1]})(?::\\S+)?"
    chown = re.search(rf"mkdir (?:-p )?{archive}\b.*?chown {owners} {archive}\b", text, re.S)
    assert chown and chown.end() < text.rindex(f"USER {user}"), f"{archive} owned by {user}"


# --- .env.example -------------------------------------------------------------------------


def test_every_variable_the_compose_file_uses_is_documented(raw, env_example):
    used = set().union(*(variables_in(s) for s in walk_strings(raw)))
    assert used - env_example.keys() == set(), "add these to .env.example"
    assert env_example.keys() - used == set(), ".env.example documents unused variables"
    # Each variable, or the group of variables it belongs to, has a comment right above it.
    lines = ENV_EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"[A-Z_]+=", line):
            above = index - 1
            while re.match(r"[A-Z_]+=", lines[above]):
                above -= 1
            assert lines[above].startswith("#"), f"{line} needs a comment above it"


def test_passwords_are_required_and_not_shipped(raw, env_example):
    assert {k for k, v in env_example.items() if not v} == REQUIRED_SECRETS
    for name in REQUIRED_SECRETS:
        with pytest.raises(ValueError, match=f"required variable {name}"):
            resolve(raw, {**env_example, **{n: "x" for n in REQUIRED_SECRETS - {name}}})


def test_elastic_stack_is_8_19_21_like_the_local_node(compose, env_example):
    assert env_example["STACK_VERSION"] == STACK_VERSION
    assert Settings.model_fields["local_es_version"].default == STACK_VERSION
    images = {name: s["image"] for name, s in compose["services"].items()}
    es = f"docker.elastic.co/elasticsearch/elasticsearch:{STACK_VERSION}"
    assert images["es01"] == images["certs"] == images["kibana-password"] == es
    assert images["kibana"] == f"docker.elastic.co/kibana/kibana:{STACK_VERSION}"


def test_prefect_server_runs_the_locked_prefect_version(compose, env_example):
    locked = re.search(r"^prefect==(\S+)$", (ROOT / "requirements.lock").read_text(), re.M)
    assert locked and env_example["PREFECT_VERSION"] == locked[1]
    assert compose["services"]["prefect"]["image"] == f"prefecthq/prefect:{locked[1]}-python3.11"


# --- What the stack needs -----------------------------------------------------------------


def test_elasticsearch_has_security_and_tls_on_http(compose):
    env = environment(compose["services"]["es01"])
    assert env["xpack.security.enabled"] == env["xpack.security.http.ssl.enabled"] == "true"
    assert env["ELASTIC_PASSWORD"] == TEST_SECRETS["ELASTIC_PASSWORD"]
    kibana = environment(compose["services"]["kibana"])
    assert kibana["ELASTICSEARCH_HOSTS"] == "https://es01:9200"
    assert kibana["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert kibana["ELASTICSEARCH_PASSWORD"] == TEST_SECRETS["KIBANA_PASSWORD"]
    certs = compose["services"]["certs"]
    script = " ".join(certs["command"])
    assert "elasticsearch-certutil ca" in script and "elasticsearch-certutil cert" in script
    assert ("certs", "/usr/share/elasticsearch/config/certs") in mounts(certs)
    job = compose["services"]["kibana-password"]
    assert "/_security/user/kibana_system/_password" in " ".join(job["command"])
    assert environment(job)["ELASTIC_PASSWORD"] == TEST_SECRETS["ELASTIC_PASSWORD"]
    assert environment(job)["KIBANA_PASSWORD"] == TEST_SECRETS["KIBANA_PASSWORD"]


# The es01 the kibana-password job talks to, replaced by a `curl` that answers from a list
# ("<HTTP status> <body>" per call, the last one repeated) and records its arguments.
FAKE_CURL = r"""#!/bin/bash
printf '%s\n' "$*" >> "$STATE/requests"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then out="$2"; shift; fi
  shift
done
calls=$(( $(wc -l < "$STATE/requests") ))
line=$(sed -n "${calls}p" "$STATE/answers")
[ -n "$line" ] || line=$(tail -n 1 "$STATE/answers")
printf '%s' "${line#* }" > "$out"
printf '%s' "${line%% *}"
"""


def run_password_job(compose, tmp_path, answers: list[str], give_up_after: int | None = None):
    """The kibana-password job's script, run by bash against FAKE_CURL (and a `sleep` of a
    tenth of a second); ``give_up_after`` shortens its time limit."""
    command = compose["services"]["kibana-password"]["command"]
    assert command[:2] == ["bash", "-c"]
    script = command[2]
    if give_up_after is not None:
        script, replaced = re.subn(r"give_up_after=\d+", f"give_up_after={give_up_after}", script)
        assert replaced == 1
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "curl").write_text(FAKE_CURL)
    (bin_dir / "sleep").write_text("#!/bin/sh\nexec /bin/sleep 0.1\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    (tmp_path / "answers").write_text("\n".join(answers) + "\n")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "STATE": str(tmp_path), **TEST_SECRETS}
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    requests = (tmp_path / "requests").read_text().splitlines()
    return result, requests


def test_kibana_password_job_sets_the_password_once_es01_takes_it(compose, tmp_path):
    result, requests = run_password_job(compose, tmp_path, ['503 {"error":"not ready"}', "200 {}"])
    assert result.returncode == 0, result.stderr
    assert "kibana_system password set" in result.stdout
    assert len(requests) == 2
    elastic, kibana = TEST_SECRETS["ELASTIC_PASSWORD"], TEST_SECRETS["KIBANA_PASSWORD"]
    assert f"-u elastic:{elastic}" in requests[-1]
    assert "https://es01:9200/_security/user/kibana_system/_password" in requests[-1]
    assert f'{{"password":"{kibana}"}}' in requests[-1]


def test_kibana_password_job_gives_up_in_bounded_time_and_says_what_to_do(compose, tmp_path):
    script = compose["services"]["kibana-password"]["command"][2]
    limit = re.search(r"give_up_after=(\d+)", script)
    assert limit and 0 < int(limit[1]) <= 300, "the job must stop within minutes"
    refused = '401 {"error":{"type":"security_exception"},"status":401}'
    result, requests = run_password_job(compose, tmp_path, [refused], give_up_after=1)
    assert result.returncode == 1
    assert len(requests) >= 2  # it did try again before giving up
    message = " ".join(result.stderr.split())
    assert "HTTP 401" in message and "security_exception" in message  # es01's own answer
    assert "ELASTIC_PASSWORD" in message and "bootstrap password" in message
    assert "/_security/user/elastic/_password" in message  # set the new one, or
    assert "docker compose down -v" in message and "deletes every index" in message
    # Any other failure: the answer, without the advice about the password.
    other, _ = run_password_job(compose, tmp_path / "other", ["000 "], give_up_after=1)
    assert other.returncode == 1 and "HTTP 000" in other.stderr
    assert "bootstrap password" not in other.stderr


@pytest.mark.parametrize("name", ["api", "worker"])
def test_newsflow_services_reach_elasticsearch_over_tls_and_prefect(compose, name):
    service = compose["services"][name]
    env = environment(service)
    assert env["NEWSFLOW_ES_URL"] == "https://es01:9200"
    assert env["NEWSFLOW_ES_USERNAME"] == "elastic"
    assert env["NEWSFLOW_ES_PASSWORD"] == TEST_SECRETS["ELASTIC_PASSWORD"]
    assert env["PREFECT_API_URL"] == "http://prefect:4200/api"
    assert env["NEWSFLOW_INDEX"] == "articles"
    certs_at = [target for source, target in mounts(service) if source == "certs"]
    assert any(env["NEWSFLOW_ES_CA_CERTS"] == f"{t}/ca/ca.crt" for t in certs_at)
    assert service["build"] == "." and service["image"] == "newsflow:local"


def test_worker_serves_the_scheduled_ingest_deployment(compose):
    worker = compose["services"]["worker"]
    assert worker["command"][:3] == ["python", "-m", "newsflow.flows.deployments"]
    args = worker["command"][3:]
    assert args[args.index("--source") + 1] == "/data/sources.txt"
    assert args[args.index("--cron") + 1] == "0 * * * *"
    assert ("./data", "/data") in mounts(worker)
    assert set(worker["depends_on"]) == {"es01", "prefect"}


def test_api_serves_on_port_8000(compose):
    api = compose["services"]["api"]
    assert api["command"] == ["newsflow", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert api["ports"] == ["127.0.0.1:8000:8000"]


def test_dockerfile_builds_a_locked_non_root_image_without_downloads():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert "-c requirements.lock" in text
    assert re.search(r"^USER (?!root|0\b)\S+$", text, re.M)
    assert "spacy download" not in text
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") + 1 :]  # deny everything, then allow the sources
    assert not any(line.startswith("!") and ".env" in line for line in ignored)


def test_image_installs_the_wheel_built_with_every_folder_the_package_links_to():
    text = DOCKERFILE.read_text()
    assert re.search(r"^RUN pip wheel .*--no-deps", text, re.M)
    assert re.search(r"pip install --no-deps \S+\.whl", text)
    assert not re.search(r"pip install .*(-e|--editable)\b", text)
    allowed = {line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines()}
    links = [path for path in (ROOT / "newsflow").iterdir() if path.is_symlink()]
    assert {link.name for link in links} >= {"transforms", "flows", "mappings", "plugins"}
    for link in links:
        folder = (link.parent / os.readlink(link)).resolve().relative_to(ROOT).as_posix()
        assert f"COPY {folder} ./{folder}" in text, f"the wheel stage lacks {folder}/"
        assert folder in allowed, f".dockerignore keeps {folder}/ out of the build context"


# --- The real Compose, where it is installed ----------------------------------------------


def test_docker_compose_config_accepts_the_file():
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("`docker compose version` fails: the Compose plugin is not installed")
    result = subprocess.run(
        [docker, "compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), *CONFIG],
        cwd=ROOT,
        env={**os.environ, **TEST_SECRETS},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
