"""Locking across processes: while another process holds the file, opening waits and then fails
with `HistoryLocked` naming the file, the holding process and, when the holder is a run of this
pipeline, which run; when the holder lets go before the timeout, opening succeeds. A run's writing
keeps readers out and an analyst's read-only session keeps runs out, while readers share the file
with each other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from resources.history import HistoryLocked, HistoryStore, read_only_store
from resources.history.files import holder_note, holder_note_path

ROOT = Path(__file__).resolve().parents[2]

#: Holds the file in a child process until a line arrives on stdin.
HOLDER = """
import sys
import duckdb

path, how = sys.argv[1], sys.argv[2]
if how == "run":
    from resources.history import HistoryStore

    store = HistoryStore(path)
    with store.session(doing="run acme-7 of connection acme"):
        print("held", flush=True)
        sys.stdin.readline()
else:
    conn = duckdb.connect(path, read_only=(how == "reader"))
    print("held", flush=True)
    sys.stdin.readline()
    conn.close()
"""


@contextmanager
def held(path: Path, how: str) -> Iterator[subprocess.Popen[str]]:
    """A child process holding `path` (`writer`, `reader`, or `run`) until the block ends."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        yield child
    finally:
        release(child)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()


def release(child: subprocess.Popen[str]) -> None:
    """Tell the holder to let go (once)."""
    if child.stdin is not None and not child.stdin.closed:
        child.stdin.write("release\n")
        child.stdin.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A migrated history file."""
    file = tmp_path / "history.duckdb"
    HistoryStore(file).migrate()
    return file


@pytest.mark.parametrize("how", ["writer", "reader"])
def test_a_held_file_makes_a_writer_wait_then_fail(path: Path, how: str) -> None:
    store = HistoryStore(path, lock_timeout_seconds=0.6)
    with held(path, how) as child:
        started = time.monotonic()
        with pytest.raises(HistoryLocked) as caught:
            store.begin_run(
                run_id="r1", connection="acme", mode="apply", started_at=datetime.now(UTC)
            )
        waited = time.monotonic() - started
    assert waited >= 0.6
    message = str(caught.value)
    assert str(path) in message
    assert f"process {child.pid}" in message
    assert caught.value.holder_pid == child.pid
    assert "gave up after" in message


def test_a_run_holding_the_file_is_named(path: Path) -> None:
    with held(path, "run"), pytest.raises(HistoryLocked) as caught:
        read_only_store(path, lock_timeout_seconds=0.3).runs(connection="acme")
    assert "run acme-7 of connection acme" in str(caught.value)
    assert "is writing to it" in str(caught.value)


def test_a_run_writing_longer_than_the_timeout_is_waited_for(path: Path) -> None:
    """Runs of two connections share the file and take turns; one run's write can hold it for
    longer than a timeout sized for short transactions (a large snapshot's, minutes at a million
    people), and the other run must not fail for it. A run writing (it leaves its note) is
    waited for longer than a holder that is not one (a session on the file)."""
    store = HistoryStore(path, lock_timeout_seconds=0.5)
    with held(path, "run") as child:
        threading.Timer(2.0, release, [child]).start()
        started = time.monotonic()
        store.begin_run(
            run_id="r1", connection="globex", mode="apply", started_at=datetime.now(UTC)
        )
        waited = time.monotonic() - started
    assert waited >= 1.5
    assert store.run(run_id="r1") is not None


def test_opening_succeeds_when_the_holder_lets_go_in_time(path: Path) -> None:
    store = HistoryStore(path, lock_timeout_seconds=20)
    with held(path, "writer") as child:
        threading.Timer(0.5, release, [child]).start()
        started = time.monotonic()
        store.begin_run(run_id="r1", connection="acme", mode="apply", started_at=datetime.now(UTC))
        waited = time.monotonic() - started
    assert waited >= 0.4
    assert store.run(run_id="r1") is not None


def test_readers_share_the_file(path: Path) -> None:
    with held(path, "reader"):
        assert read_only_store(path, lock_timeout_seconds=1).runs(connection="acme").height == 0


def test_a_stale_holder_note_is_not_believed(path: Path) -> None:
    note = path.with_name(path.name + ".holder.json")
    note.write_text('{"pid": 1, "doing": "run ghost", "since": "yesterday"}', encoding="utf-8")
    with held(path, "writer"), pytest.raises(HistoryLocked) as caught:
        read_only_store(path, lock_timeout_seconds=0.2).runs(connection="acme")
    assert "ghost" not in str(caught.value)


def test_a_dead_writers_note_naming_a_reused_process_id_is_not_believed(path: Path) -> None:
    """A writer killed mid-write leaves its note; when its process id is later reused by a
    process that holds the file without being a run (an analyst's session), the note must not
    make an opener take that session for a run writing and wait ten times its timeout."""
    note = holder_note_path(path)
    with holder_note(path, "run ghost of connection acme"):  # what a writer leaves behind
        left_behind = json.loads(note.read_text(encoding="utf-8"))
    with held(path, "reader") as session:
        # The dead writer's id, now the session's.
        note.write_text(json.dumps(left_behind | {"pid": session.pid}), encoding="utf-8")
        with pytest.raises(HistoryLocked) as caught:
            HistoryStore(path, lock_timeout_seconds=0.2).begin_run(
                run_id="r1", connection="acme", mode="apply", started_at=datetime.now(UTC)
            )
    assert caught.value.holder_pid == session.pid
    assert caught.value.holder is None  # so the opener waited its own timeout, not a run's
    assert "ghost" not in str(caught.value)
