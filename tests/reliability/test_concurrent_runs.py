"""Two runs of one connection started at once: the second refuses at once, naming the first,
whether the first was started from the console or launched by Dagster (the schedule, the UI),
and nothing is applied twice; the first ends where a clean run ends. Runs of two connections
(two companies, one history file) overlapping both finish, each where its clean run ends.

The first run is held in its Huma reads (every Huma answer slowed) until the second has had its
say, so the two overlap whatever the machine's speed.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import orjson
import pytest
import yaml

from cli.console import dagster_instance
from emulators.data import generate_world
from emulators.launcher import Emulators
from tests.console_deployment import (
    CONNECTIONS,
    ROOT,
    Deployment,
    deployment_environment,
    finished_run,
    started_console,
)
from tests.reliability.cases import measure_and_record
from tests.reliability.inprocess import InProcessRuns, failure_text
from tests.reliability.outcome import (
    applied_writes,
    changes_applied_twice,
    changes_lost,
    clean_end_state,
    end_state,
    the_world,
)
from tests.resources.conftest import Outside, reset

pytestmark = pytest.mark.reliability_slow


def _reading_huma(outside: Outside, running: object) -> None:
    """Wait until the first run has begun its first step (it asked Huma for something)."""
    deadline = time.monotonic() + 240
    while not outside.huma.requests(path_prefix="/users"):
        alive = running.poll() is None if isinstance(running, subprocess.Popen) else running()
        assert alive, "the first run ended before the second started"
        assert time.monotonic() < deadline, "the first run never began to read Huma"
        time.sleep(0.05)


def test_a_second_console_run_of_a_connection_refuses_naming_the_first(
    deployment: Deployment, outside: Outside, tmp_path: Path, record_property
) -> None:
    expected = clean_end_state(outside, tmp_path / "clean", "world", the_world)
    outside.huma_settings(slow_rate=1.0, slow_seconds=5.0)
    first = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run"],
        cwd=ROOT,
        env=deployment.environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _reading_huma(outside, first)
        second = deployment.cli("run")
    finally:
        outside.huma_settings(slow_rate=0.0)
    stdout, stderr = first.communicate(timeout=600)

    running = finished_run(
        subprocess.CompletedProcess([], first.returncode, stdout, stderr), "acme"
    )
    assert second.returncode == 1, second.stderr[-2000:]
    assert f"connection acme is already running: run {running}" in second.stderr
    lost, twice = measure_and_record(
        record_property, "concurrent runs: console + console", outside, expected, runs=2
    )
    assert (lost, twice) == (0, 0)


def test_a_console_run_refuses_while_a_dagster_launched_run_holds_the_connection(
    deployment: Deployment,
    in_process: InProcessRuns,
    outside: Outside,
    tmp_path: Path,
    record_property,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = clean_end_state(outside, tmp_path / "clean", "world", the_world)
    # The deployment's own instance (its DAGSTER_HOME), the one the daemon launches runs in.
    monkeypatch.setenv("DAGSTER_HOME", deployment.environment()["DAGSTER_HOME"])
    instance = dagster_instance()
    outside.huma_settings(slow_rate=1.0, slow_seconds=5.0)
    launched: list[dg.ExecuteInProcessResult] = []
    holder = threading.Thread(
        target=lambda: launched.append(
            in_process.run(instance=instance, tags={"dagster/schedule_name": "nightly_acme"})
        )
    )
    holder.start()
    try:
        _reading_huma(outside, holder.is_alive)
        [held] = instance.get_runs(dg.RunsFilter(job_name="sync_acme"))
        second = deployment.cli("run")
    finally:
        outside.huma_settings(slow_rate=0.0)
        holder.join(600)
        instance.dispose()

    [first] = launched
    assert first.success, failure_text(first)
    assert second.returncode == 1, second.stderr[-2000:]
    assert f"connection acme is already running: run {held.run_id}" in second.stderr
    assert "started by the schedule nightly_acme" in second.stderr
    lost, twice = measure_and_record(
        record_property,
        "concurrent runs: console while Dagster's run holds",
        outside,
        expected,
        runs=2,
    )
    assert (lost, twice) == (0, 0)


@contextmanager
def _second_company(outside: Outside, folder: Path) -> Iterator[Outside]:
    """Another company's emulators, with a certificate of the same local CA as the first's."""
    world = generate_world(users=60, seed=12)
    folder.mkdir(parents=True)
    huma, entra = folder / "huma.json", folder / "entra.json"
    huma.write_bytes(orjson.dumps(world.huma))
    entra.write_bytes(orjson.dumps(world.entra))
    state_dir = outside.emulators.ca_bundle.parent.parent  # where the first company's CA lives
    with Emulators(state_dir=state_dir, huma_state=huma, entra_state=entra) as emulators:
        yield Outside(emulators, world)


def _two_connections(deployment: Deployment, beta: Outside) -> dict[str, str]:
    """The deployment's environment with a second connection, `beta`, on the other company."""
    env = deployment.environment()
    connections = yaml.safe_load(CONNECTIONS)
    acme = connections["connections"]["acme"]
    tenant = beta.world.entra["tenants"][0]
    connections["connections"]["beta"] = {
        "huma": {
            "base_url": beta.emulators.huma_url,
            "client_id": beta.world.huma["apiKeys"][0]["clientId"],
            "client_secret_env": "BETA_HUMA_SECRET",
            "default_group_id": beta.world.huma["groups"][0]["id"],
        },
        "entra": {
            "tenant_id": tenant["id"],
            "client_id": tenant["applications"][0]["appId"],
            "client_secret_env": "BETA_ENTRA_SECRET",
            "authority_host": beta.emulators.entra_url,
            "graph_base_url": f"{beta.emulators.entra_url}/v1.0",
        },
        "policy": acme["policy"],
    }
    path = deployment.folder / "two-connections.yaml"
    path.write_text(yaml.safe_dump(connections), encoding="utf-8")
    return env | {
        "HUMA_ENTRA_SYNC_CONNECTIONS": str(path),
        "BETA_HUMA_SECRET": beta.world.huma["apiKeys"][0]["clientSecret"],
        "BETA_ENTRA_SECRET": tenant["applications"][0]["secrets"][0]["secretText"],
    }


def _finished(run: subprocess.Popen[str], connection: str) -> str:
    stdout, stderr = run.communicate(timeout=900)
    done = subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)
    return finished_run(done, connection)


def test_runs_of_two_connections_overlapping_both_finish(
    deployment: Deployment, outside: Outside, tmp_path: Path, record_property
) -> None:
    expected_acme = clean_end_state(outside, tmp_path / "clean", "world", the_world)
    with _second_company(outside, tmp_path / "beta") as beta:
        env = _two_connections(deployment, beta)
        clean = tmp_path / "clean-beta"
        clean.mkdir()
        _finished(
            started_console(
                "run", "--connection", "beta", env=env | deployment_environment(outside.env, clean)
            ),
            "beta",
        )
        expected_beta = end_state(beta)
        reset(beta)

        # Both held in their Huma reads until both have begun: the runs overlap.
        for company in (outside, beta):
            company.huma_settings(slow_rate=1.0, slow_seconds=2.0)
        try:
            first = started_console("run", "--connection", "acme", env=env)
            _reading_huma(outside, first)
            second = started_console("run", "--connection", "beta", env=env)
            _reading_huma(beta, second)
        finally:
            for company in (outside, beta):
                company.huma_settings(slow_rate=0.0)
        _finished(first, "acme")
        _finished(second, "beta")

        lost_acme = changes_lost(expected_acme, end_state(outside))
        twice_acme = changes_applied_twice(outside)
        lost_beta = changes_lost(expected_beta, end_state(beta))
        twice_beta = changes_applied_twice(beta)
        assert applied_writes(outside)
        assert applied_writes(beta)
        record_property("case", "concurrent runs: two connections overlapping")
        record_property("runs", 2)
        record_property("changes_lost", lost_acme + lost_beta)
        record_property("changes_applied_twice", twice_acme + twice_beta)
        assert (lost_acme, twice_acme, lost_beta, twice_beta) == (0, 0, 0, 0)
