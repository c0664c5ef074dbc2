"""The console's run lock per connection: a second holder is refused at once with the running
run named; the lock says which run holds it; it is free again once its process is gone, however
it ended (SIGKILL included); other connections are not held up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from resources.run_lock import RunInProgress, connection_run_lock, holding_run, lock_path

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys
from pathlib import Path
from resources.run_lock import connection_run_lock

with connection_run_lock(Path(sys.argv[1]), "acme", run_id="run-in-child"):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_a_second_holder_is_refused_naming_the_run(tmp_path: Path) -> None:
    with connection_run_lock(tmp_path, "acme", run_id="run-1"):
        with (
            pytest.raises(RunInProgress) as refused,
            connection_run_lock(tmp_path, "acme", run_id="run-2"),
        ):
            pytest.fail("two holders at once")
        assert refused.value.run_id == "run-1"
        assert str(refused.value).startswith("connection acme is already running: run run-1 (")
        assert f"process {os.getpid()}" in str(refused.value)
        assert holding_run(lock_path(tmp_path, "acme")) == "run-1"
        with connection_run_lock(tmp_path, "globex", run_id="run-3"):  # another connection
            assert holding_run(lock_path(tmp_path, "globex")) == "run-3"
    assert holding_run(lock_path(tmp_path, "acme")) is None
    with connection_run_lock(tmp_path, "acme", run_id="run-4"):
        assert holding_run(lock_path(tmp_path, "acme")) == "run-4"


def test_a_killed_holder_leaves_the_lock_free(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    assert holding_run(lock_path(tmp_path, "acme")) == "run-in-child"
    with (
        pytest.raises(RunInProgress, match="run run-in-child"),
        connection_run_lock(tmp_path, "acme", run_id="run-2"),
    ):
        pytest.fail("held by the child")
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert holding_run(lock_path(tmp_path, "acme")) is None
    with connection_run_lock(tmp_path, "acme", run_id="run-2"):
        assert holding_run(lock_path(tmp_path, "acme")) == "run-2"
