"""An analyst's DuckDB session left open while a run goes.

On the published copy (what the README tells analysts to open) the run neither waits nor fails,
and ends where a clean run ends; the session keeps the copy it opened. On the pipeline's own file
(what the README tells analysts not to open) DuckDB lets no writer in while a read-only session
holds it: the run waits `lock_timeout_seconds` (60 s) at its first history write (naming the
session's process in a warning after 5 s), then stops before it sends anything, saying which file
is locked and which process holds it; once the session is closed, the next run ends where a clean
run ends.

The analyst is a process of its own (`duckdb.connect(..., read_only=True)`), as a person's CLI or
notebook is; the runs are the console's (`huma-entra-sync run`), as cron starts them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from resources.history import HistoryStore
from tests.console_deployment import Deployment, finished_run
from tests.reliability.cases import measure_and_record
from tests.reliability.outcome import (
    changes_applied_twice,
    changes_lost,
    clean_end_state,
    end_state,
    the_world,
)
from tests.resources.conftest import Outside

pytestmark = pytest.mark.reliability_slow

_SESSION = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1], read_only=True)
print(conn.execute("SELECT count(*) FROM runs").fetchone()[0], flush=True)
sys.stdin.readline()
print(conn.execute("SELECT count(*) FROM runs").fetchone()[0], flush=True)
"""


@contextmanager
def analyst_session(path: Path) -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """A read-only DuckDB session on `path` in a process of its own, open until the block ends;
    yields the process and the runs it counted (when it opened, and when it closed)."""
    session = subprocess.Popen(
        [sys.executable, "-c", _SESSION, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    counted: list[int] = []
    try:
        assert session.stdout is not None
        assert session.stdin is not None
        counted.append(int(session.stdout.readline() or -1))
        assert counted[0] >= 0, session.communicate()[1]
        yield session, counted
        session.stdin.write("\n")
        session.stdin.flush()
        counted.append(int(session.stdout.readline() or -1))
    finally:
        session.communicate(timeout=60)


def _history_ready(deployment: Deployment) -> None:
    """The deployment's history made (and published) before its first run, so a session can
    open it."""
    deployment.folder.mkdir(parents=True, exist_ok=True)
    HistoryStore(deployment.history).migrate()


def test_a_session_on_the_published_copy_holds_up_no_run(
    deployment: Deployment, outside: Outside, tmp_path: Path, record_property
) -> None:
    expected = clean_end_state(outside, tmp_path / "clean", "world", the_world)
    _history_ready(deployment)
    published = HistoryStore(deployment.history).published_path

    with analyst_session(published) as (_, counted):
        done = deployment.cli("run")

    finished_run(done, "acme")
    assert "locked" not in done.stderr
    assert counted == [0, 0]  # the session kept the copy it opened
    lost, twice = measure_and_record(
        record_property, "history locked: session on the published copy", outside, expected
    )
    assert (lost, twice) == (0, 0)


def test_a_session_on_the_pipelines_own_file_stops_the_run_before_it_writes(
    deployment: Deployment, outside: Outside, tmp_path: Path, record_property
) -> None:
    expected = clean_end_state(outside, tmp_path / "clean", "world", the_world)
    _history_ready(deployment)
    before = end_state(outside)

    with analyst_session(deployment.history) as (session, _):
        stopped = deployment.cli("run")
    said = stopped.stderr

    assert stopped.returncode == 1, said[-2000:]
    assert f"the history database {deployment.history} is locked" in said
    assert f"process {session.pid} holds it (an analyst's session" in said
    assert "gave up after 60" in said
    # Named while the run still waited, with the copy to read instead.
    assert f"by process {session.pid} ('python" in said
    assert "not a run writing" in said
    assert "analysts read history.published.duckdb" in said
    # Stopped before anything was sent: not a write in either service.
    assert changes_lost(before, end_state(outside)) == 0
    assert not changes_applied_twice(outside)
    finished_run(deployment.cli("run"), "acme")  # the session closed: the next run goes
    lost, twice = measure_and_record(
        record_property, "history locked: session on the main file", outside, expected, runs=2
    )
    assert (lost, twice) == (0, 0)
