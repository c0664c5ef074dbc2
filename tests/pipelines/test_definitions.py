"""What ships: the exact asset keys, checks, jobs, schedules and sensors of a deployment.

Pins the graph a data engineer sees in the UI for two connections: each connection its own copy
of the assets under its name, its own job and nightly schedule (cron and time zone from the
connections file), and one sensor for failed runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.connections import load_connections
from pipelines.definitions import deployment_definitions

CONNECTIONS = """
connections:
  north:
    huma: {client_id: a, client_secret_env: N_HUMA}
    entra: {tenant_id: t, client_id: c, client_secret_env: N_ENTRA}
    schedule: {cron: "0 3 * * *", timezone: Europe/Oslo}
  south:
    huma: {client_id: b, client_secret_env: S_HUMA}
    entra: {tenant_id: u, client_id: d, client_secret_env: S_ENTRA}
"""
ASSETS = (
    "huma_users_raw",
    "entra_users_raw",
    "huma_users",
    "entra_users",
    "validation_failures",
    "user_links",
    "field_diffs",
    "conflicts",
    "sync_plan",
    "applied_changes",
    "sync_report",
)
CHECKS = (
    "huma_users_raw:complete",
    "entra_users_raw:complete",
    "huma_users:schema_and_unique_keys",
    "entra_users:schema_and_unique_keys",
    "sync_plan:mass_change_guard",
    "sync_plan:snapshot_guard",
)


@pytest.fixture
def repository(tmp_path: Path):
    path = tmp_path / "connections.yaml"
    path.write_text(CONNECTIONS)
    connections = load_connections(path)
    return deployment_definitions(connections).get_repository_def()


def test_each_connection_has_its_own_assets(repository) -> None:
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}

    assert keys == {f"{c}/{a}" for c in ("north", "south") for a in ASSETS}


def test_the_checks_and_which_ones_block(repository) -> None:
    checks = {
        key.to_user_string(): spec.blocking
        for key, spec in (
            (k, repository.asset_graph.get_check_spec(k))
            for k in repository.asset_graph.asset_check_keys
        )
    }

    assert set(checks) == {f"{c}/{check}" for c in ("north", "south") for check in CHECKS}
    blocking = {key for key, blocks in checks.items() if blocks}
    assert blocking == {
        f"{c}/{e}_users:schema_and_unique_keys"
        for c in ("north", "south")
        for e in ("huma", "entra")
    }


def test_jobs_schedules_and_sensors(repository) -> None:
    jobs = {job.name for job in repository.get_all_jobs() if not job.name.startswith("__")}
    schedules = {
        s.name: (s.job_name, s.cron_schedule, s.execution_timezone)
        for s in repository.schedule_defs
    }

    assert jobs == {"sync_north", "sync_south", "targeted_north", "targeted_south"}
    assert schedules == {
        "nightly_north": ("sync_north", "0 3 * * *", "Europe/Oslo"),
        "nightly_south": ("sync_south", "0 2 * * *", "UTC"),
    }
    assert [s.name for s in repository.sensor_defs] == [
        "email_on_run_failure",
        "webhooks_north",
        "webhooks_south",
    ]


def test_a_job_runs_exactly_its_connections_assets(repository) -> None:
    job = repository.get_job("sync_north")

    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert selected == {f"north/{a}" for a in ASSETS}


def test_every_job_runs_its_steps_in_the_runs_own_process(repository) -> None:
    """A scheduled, sensor or UI run executes like `huma-entra-sync run`: steps one after the
    other in one process, outputs handed on in memory."""
    executors = {
        job.name: job.executor_def.name
        for job in repository.get_all_jobs()
        if not job.name.startswith("__")
    }

    assert executors == dict.fromkeys(
        ("sync_north", "sync_south", "targeted_north", "targeted_south"), "in_process"
    )
