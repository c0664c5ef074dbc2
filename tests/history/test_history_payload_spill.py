"""The payload spill: packed raw payloads reach DuckDB through a file beside the history file,
which holds personal data and must not outlive its write.

Pins: a spill left by a writer killed mid-write (SIGKILL: no `finally` runs) is cleared by the
next writer of that history file; a spill a live writer is still using is never touched, whether
that writer writes another history file in the same folder (another process) or the same file
(another connection of the same process).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from resources.history import HistoryStore
from resources.huma_payloads import RawPayloads
from tests.reference.builders import huma_frame, huma_user

ROOT = Path(__file__).resolve().parents[2]
USERS = huma_frame(huma_user("h1", "ann@example.com"), huma_user("h2", "bo@example.com"))
RAW = pl.DataFrame({"huma_id": ["h1", "h2"], "payload": ['{"id":"h1"}', '{"id":"h2"}']})

#: Writes a Huma snapshot to the history file named in argv, stopping mid-write (its spill
#: made, the file held) until killed.
STALLING_WRITER = """
import sys
from pathlib import Path

from tests.history.test_history_payload_spill import write_stalling


def stall():
    print("spilling", flush=True)
    sys.stdin.readline()


write_stalling(Path(sys.argv[1]), "r1", stall)
"""


@dataclasses.dataclass(frozen=True)
class StallingPayloads(RawPayloads):
    """Payloads that call `stall` once their first chunk has been handed out."""

    stall: Callable[[], None] = lambda: None

    def frames(self) -> Iterator[pl.DataFrame]:
        for number, frame in enumerate(super().frames()):
            yield frame
            if number == 0:
                self.stall()


def write_stalling(path: Path, run_id: str, stall: Callable[[], None]) -> HistoryStore:
    """Begin `run_id` in the history at `path` and record its Huma snapshot, calling `stall`
    while its payloads are being written."""
    store = HistoryStore(path, lock_timeout_seconds=30)
    store.begin_run(run_id=run_id, connection="acme", mode="apply", started_at=datetime.now(UTC))
    payloads = RawPayloads.of(RAW)
    store.record_snapshot(
        run_id=run_id,
        side="huma",
        users=USERS,
        raw=StallingPayloads(payloads.ids, payloads.texts, stall),
    )
    return store


def _spills(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix == ".parquet")


@contextmanager
def stalled_writer(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process stopped mid-way through a snapshot write of `path`; killed at the end."""
    child = subprocess.Popen(
        [sys.executable, "-c", STALLING_WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "spilling"
        yield child
    finally:
        child.kill()
        child.wait(timeout=30)
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()


def _begin(path: Path, run_id: str) -> None:
    HistoryStore(path, lock_timeout_seconds=30).begin_run(
        run_id=run_id, connection="acme", mode="apply", started_at=datetime.now(UTC)
    )


def test_a_killed_writers_spill_is_cleared_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    with stalled_writer(path) as writer:
        (spill,) = _spills(tmp_path)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert spill.exists()  # nothing of the killed writer ran after it was killed

    _begin(path, "r2")

    assert _spills(tmp_path) == []


def test_a_live_writers_spill_of_another_history_file_is_left_alone(tmp_path: Path) -> None:
    with stalled_writer(tmp_path / "other.duckdb"):
        (spill,) = _spills(tmp_path)
        _begin(tmp_path / "history.duckdb", "r1")
        assert _spills(tmp_path) == [spill]


def test_a_live_writers_spill_of_the_same_file_is_left_alone(tmp_path: Path) -> None:
    """Two connections of one process may write one file at once (one DuckDB instance)."""
    path = tmp_path / "history.duckdb"
    spilling, go_on = threading.Event(), threading.Event()

    def stall() -> None:
        spilling.set()
        assert go_on.wait(timeout=60)

    writer = threading.Thread(target=write_stalling, args=(path, "r1", stall))
    writer.start()
    try:
        assert spilling.wait(timeout=60)
        (spill,) = _spills(tmp_path)
        _begin(path, "r2")
        assert _spills(tmp_path) == [spill]
    finally:
        go_on.set()
        writer.join(timeout=60)

    assert _spills(tmp_path) == []
    kept = HistoryStore(path).snapshot_payloads(run_id="r1", side="huma")
    assert kept.equals(RAW)
