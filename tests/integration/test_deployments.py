"""Deployments: what `newsflow flows serve` serves and prefect.yaml declares are the same
deployments, schedules and parameters; building them needs no server and does not block."""

from __future__ import annotations

import inspect
import sys

import pytest
import yaml
from prefect.cli.deploy._models import DeploymentConfig, PrefectYamlModel
from prefect.utilities.importtools import import_object
from typer.testing import CliRunner

from newsflow.cli import app
from newsflow.flows import deployments
from tests.corpora import ROOT

EXPECTED = {
    ("ingest", "scheduled"): ("0 * * * *", {"sources": ["/data/sources.txt"]}),
    ("maintenance", "scheduled"): ("30 3 * * *", {"reenrich": True}),
    ("backfill", "manual"): (None, {"sources": ["/data/sources.txt"]}),
    ("reprocess", "manual"): (None, {}),
}


def _by_key(built):
    return {(d.flow_name, d.name): d for d in built}


def _cron(deployment) -> str | None:
    crons = [s.schedule.cron for s in deployment.schedules]
    assert len(crons) <= 1
    return crons[0] if crons else None


def _flow_of(entrypoint: str):
    # A module path (module.flow or module:flow), imported from the installed package as a
    # worker does; never a file of the checkout.
    assert ".py" not in entrypoint and "/" not in entrypoint, entrypoint
    return import_object(entrypoint)


def test_served_deployments_have_the_schedules_and_parameters():
    built = _by_key(deployments.build_deployments(["/data/sources.txt"]))
    assert set(built) == set(EXPECTED)
    for key, (cron, parameters) in EXPECTED.items():
        d = built[key]
        assert _cron(d) == cron, key
        assert all(s.schedule.timezone == "UTC" for s in d.schedules)
        assert d.parameters == parameters, key
        assert d.concurrency_limit == 1  # never two runs of a deployment at once
        # Every parameter is one the flow takes; settings never travel as a parameter.
        flow = _flow_of(d.entrypoint)
        assert flow.name == key[0]
        inspect.signature(flow.fn).bind(**parameters)
        assert "settings" not in parameters


def test_flows_serve_builds_from_its_options_and_serves(monkeypatch):
    served = []
    monkeypatch.setattr(deployments, "serve_deployments", served.append)
    result = CliRunner().invoke(
        app,
        ["flows", "serve", "--source", "a.txt", "-s", "b.txt", "--ingest-cron", "*/10 * * * *"],
    )
    assert result.exit_code == 0, result.output
    (built,) = served
    by_key = _by_key(built)
    assert _cron(by_key[("ingest", "scheduled")]) == "*/10 * * * *"
    assert by_key[("ingest", "scheduled")].parameters == {"sources": ["a.txt", "b.txt"]}
    assert _cron(by_key[("maintenance", "scheduled")]) == deployments.MAINTENANCE_CRON


def test_flows_serve_can_ingest_on_an_interval(monkeypatch):
    served = []
    monkeypatch.setattr(deployments, "serve_deployments", served.append)
    result = CliRunner().invoke(app, ["flows", "serve", "-s", "a.txt", "--ingest-every", "30"])
    assert result.exit_code == 0, result.output
    (ingest,) = [d for d in served[0] if d.flow_name == "ingest"]
    (schedule,) = ingest.schedules
    assert schedule.schedule.interval.total_seconds() == 30


def test_compose_entry_point_serves_the_same_deployments(monkeypatch):
    served = []
    monkeypatch.setattr(deployments, "serve_deployments", served.append)
    monkeypatch.setattr(
        sys,
        "argv",
        ["newsflow.flows.deployments", "--source", "/data/sources.txt", "--cron", "0 * * * *"],
    )
    deployments.main()
    assert {k: (_cron(d), d.parameters) for k, d in _by_key(served[0]).items()} == EXPECTED


def test_prefect_yaml_declares_the_served_deployments():
    raw = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    model = PrefectYamlModel.model_validate(raw)
    known = set(DeploymentConfig.model_fields)
    built = _by_key(deployments.build_deployments(["/data/sources.txt"]))
    declared = {}
    for entry, config in zip(raw["deployments"], model.deployments, strict=True):
        assert set(entry) <= known, set(entry) - known  # no misspelt key silently ignored
        flow = _flow_of(config.entrypoint)
        key = (flow.name, config.name)
        crons = [s.cron for s in config.schedules or []]
        assert all(s.timezone == "UTC" for s in config.schedules or [])
        declared[key] = (crons[0] if crons else None, config.parameters)
        served = built[key]
        assert _flow_of(config.entrypoint) is _flow_of(served.entrypoint)
        assert config.concurrency_limit == served.concurrency_limit
        assert config.work_pool.name == "newsflow"
    assert declared == {k: (_cron(d), d.parameters) for k, d in built.items()}


@pytest.mark.parametrize("cron", ["not a cron", "61 * * * *"])
def test_a_bad_cron_is_refused_before_serving(cron):
    with pytest.raises(ValueError):
        deployments.build_deployments(["s.txt"], ingest_cron=cron)


def test_the_prefect_server_accepts_the_deployments(prefect_harness):
    """What `serve` registers first: the server stores each deployment with its schedule and
    parameters (it checks them against the flow's parameter schema)."""
    from prefect.client.orchestration import get_client

    built = deployments.build_deployments(["/data/sources.txt"])
    for deployment in built:
        deployment.apply()
    with get_client(sync_client=True) as client:
        for (flow_name, name), (cron, parameters) in EXPECTED.items():
            stored = client.read_deployment_by_name(f"{flow_name}/{name}")
            assert stored.parameters == parameters
            assert [s.schedule.cron for s in stored.schedules] == ([cron] if cron else [])
            assert stored.global_concurrency_limit.limit == 1  # one run at a time


def test_crash_detection_installed_again_keeps_the_runs_it_times(prefect_harness):
    """`flows serve` installs the crash detection at every start: the same rule is left as it
    is, since an update gives its trigger a new id and the server drops the silent runs the
    old one was timing; another heartbeat frequency replaces it."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    def installed() -> list[tuple[str, float]]:
        with get_client(sync_client=True) as client:
            found = client._client.post("/automations/filter", json={}).json()
        return [
            (a["trigger"]["id"], a["trigger"]["within"])
            for a in found
            if a["name"] == deployments.CRASH_DETECTION
        ]

    try:
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 30}):
            deployments.ensure_crash_detection()
            [(trigger, within)] = installed()
            deployments.ensure_crash_detection()
            assert installed() == [(trigger, within)] and within == 90
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 60}):
            deployments.ensure_crash_detection()
        [(other, within)] = installed()
        assert other != trigger and within == 180
    finally:
        with get_client(sync_client=True) as client:
            for automation in client.read_automations_by_name(deployments.CRASH_DETECTION):
                client.delete_automation(automation.id)
