"""One run per connection at a time: two `huma-entra-sync run`s of one connection started at once,
the second refuses at once, naming the running one, and every change reaches Entra exactly once;
a console run refuses while the connection has a run in progress in the Dagster instance (one the
schedule or the UI launched), a run of any origin stops at once while a rollback of its connection
holds the connection's lock, and a console run that was killed blocks nobody afterwards."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import orjson
import pytest

from assets.run_options import CONNECTION_TAG
from cli.console import dagster_instance
from pipelines.definitions import deployment_definitions
from resources.run_lock import connection_run_lock, run_lock_folder
from tests.console_deployment import ROOT, Deployment, finished_run


def _start(deployment: Deployment) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run"],
        cwd=ROOT,
        env=deployment.environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _done(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _prepare_instance(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment's Dagster instance, made before the runs start (as after its first run)."""
    monkeypatch.setenv("DAGSTER_HOME", deployment.environment()["DAGSTER_HOME"])
    instance = dagster_instance()
    try:
        instance.get_runs()
    finally:
        instance.dispose()


def _graph_patches(deployment: Deployment) -> Counter[tuple[str, str]]:
    """Each PATCH Graph applied (inside `$batch` or not), with how often it was applied."""
    return Counter(
        (e["path"], orjson.dumps(e["body"], option=orjson.OPT_SORT_KEYS).decode())
        for e in deployment.outside.entra.requests(method="PATCH")
        if e["status"] == 204
    )


def _reading_huma(deployment: Deployment, run: subprocess.Popen[str]) -> None:
    """Wait until `run` has begun its run's first step (it asked Huma for something)."""
    deadline = time.monotonic() + 240
    while not deployment.outside.huma.requests(path_prefix="/users"):
        assert run.poll() is None, run.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the run never began to read Huma"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_second_console_run_refuses_at_once_and_nothing_is_applied_twice(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    _prepare_instance(deployment, monkeypatch)
    # Every Huma answer slow until the second run has had its say: the first is still reading.
    deployment.outside.huma_settings(slow_rate=1.0, slow_seconds=5.0)
    first = _start(deployment)
    try:
        _reading_huma(deployment, first)
        second = _done(_start(deployment))
    finally:
        deployment.outside.huma_settings(slow_rate=0.0)
    done = _done(first)

    running = finished_run(done, "acme")
    assert second.returncode == 1, second.stdout[-2000:] + second.stderr[-2000:]
    assert f"connection acme is already running: run {running}" in second.stderr, second.stderr
    patches = _graph_patches(deployment)
    assert patches, "the run should have written to Entra"
    assert set(patches.values()) == {1}  # every change applied exactly once


@pytest.mark.slow
def test_a_killed_console_run_blocks_no_later_run(deployment: Deployment) -> None:
    deployment.outside.huma_settings(slow_rate=1.0, slow_seconds=5.0)
    killed = _start(deployment)
    try:
        _reading_huma(deployment, killed)  # its run is in progress in the Dagster instance
        killed.send_signal(signal.SIGKILL)
        killed.communicate()
    finally:
        deployment.outside.huma_settings(slow_rate=0.0)

    done = deployment.cli("run")

    finished_run(done, "acme")
    assert not re.search("already running", done.stderr)


def _default_connection_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The `default` connection, pointed at a closed loopback port: a run that read anything
    would fail with a connection error, not with the refusal."""
    for name in ("HUMA_ENTRA_SYNC_CONNECTIONS", "SMTP_HOST", "REPORT_TO"):
        monkeypatch.delenv(name, raising=False)
    closed = "https://127.0.0.1:9"
    for name, value in {
        "HUMA_BASE_URL": closed,
        "HUMA_CLIENT_ID": "id",
        "HUMA_CLIENT_SECRET": "secret-not-used",
        "ENTRA_TENANT_ID": "00000000-0000-0000-0000-000000000001",
        "ENTRA_CLIENT_ID": "00000000-0000-0000-0000-000000000002",
        "ENTRA_CLIENT_SECRET": "secret-not-used",
        "ENTRA_AUTHORITY_HOST": closed,
        "GRAPH_BASE_URL": f"{closed}/v1.0",
        "HISTORY_DB_PATH": str(tmp_path / "history.duckdb"),
        "REPORTS_DIR": str(tmp_path / "reports"),
    }.items():
        monkeypatch.setenv(name, value)


def test_a_run_stops_at_once_while_a_scheduled_run_of_its_connection_is_in_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _default_connection_env(monkeypatch, tmp_path)
    holding, release = threading.Event(), threading.Event()

    @dg.op
    def hold() -> None:
        holding.set()
        assert release.wait(600)

    @dg.job(tags={CONNECTION_TAG: "default", "dagster/schedule_name": "nightly_default"})
    def scheduled() -> None:
        hold()

    job = deployment_definitions().resolve_job_def("sync_default")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        holder = threading.Thread(
            target=scheduled.execute_in_process, kwargs={"instance": instance}
        )
        holder.start()
        try:
            assert holding.wait(120)
            [running] = instance.get_runs(dg.RunsFilter(job_name="scheduled"))
            result = job.execute_in_process(instance=instance, raise_on_error=False)
        finally:
            release.set()
            holder.join(120)

    assert not result.success
    failures = [
        e.step_failure_data.user_failure_data.description
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data.user_failure_data is not None
    ]
    assert len(failures) == 2, "the run should have stopped in its first steps"
    for message in failures:  # both snapshot steps, before reading anything
        assert f"connection default is already running: run {running.run_id}" in message
        assert "started by the schedule nightly_default" in message
    assert not (tmp_path / "history.duckdb").exists()  # nothing written


def test_the_local_instance_queues_a_second_run_of_a_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _default_connection_env(monkeypatch, tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    instance = dagster_instance()
    try:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert limits == [
            {"key": CONNECTION_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        ]
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_monitoring_enabled
    finally:
        instance.dispose()
    # The jobs carry the tag the limit counts by.
    assert deployment_definitions().resolve_job_def("sync_default").tags[CONNECTION_TAG] == (
        "default"
    )


def test_a_run_stops_at_once_while_a_rollback_of_its_connection_holds_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _default_connection_env(monkeypatch, tmp_path)
    folder = run_lock_folder(tmp_path / "history.duckdb")
    job = deployment_definitions().resolve_job_def("sync_default")

    with (
        connection_run_lock(
            folder, "default", run_id="rollback-7", activity="rollback of run night-6"
        ),
        dg.instance_for_test(temp_dir=str(tmp_path)) as instance,
    ):
        result = job.execute_in_process(instance=instance, raise_on_error=False)

    assert not result.success
    failures = [
        e.step_failure_data.user_failure_data.description
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data.user_failure_data is not None
    ]
    assert len(failures) == 2, "the run should have stopped in its first steps"
    for message in failures:  # both snapshot steps, before reading anything
        assert "connection default is being rolled back: rollback of run night-6" in message
        assert "rollback run rollback-7" in message
    assert not (tmp_path / "history.duckdb").exists()  # nothing written
