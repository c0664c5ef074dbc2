"""Two runs of one connection started at once: the second refuses at once, naming the first,
whether the first was started from the console or launched by Dagster (the schedule, the UI),
and nothing is applied twice; the first ends where a clean run ends.

The first run is held in its Huma reads (every Huma answer slowed) until the second has had its
say, so the two overlap whatever the machine's speed.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from cli.instance import dagster_instance
from tests.console_deployment import ROOT, Deployment, finished_run
from tests.reliability.cases import measure_and_record
from tests.reliability.inprocess import InProcessRuns, failure_text
from tests.reliability.outcome import clean_end_state, the_world
from tests.resources.conftest import Outside

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
