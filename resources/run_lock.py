"""One console run per connection at a time: an OS file lock held for the run.

The console's `run` executes the job in its own process, outside Dagster's run queue, so it takes
`<folder>/<connection>.lock` (`flock`, exclusive, never waiting) for the run's whole duration and
writes in it which run holds it. A second `run` of the connection finds the lock taken and refuses
at once, naming the holder. The operating system lets go of the lock when the process ends,
however it ends, so a killed run never leaves the connection locked; whether the lock is still
held, and for which run, is also how a run left "started" in the Dagster instance by a killed
console process is told from a live one.

A rollback (`huma-entra-sync rollback`) takes the same lock, noting what it does
(`activity`), so a run and a rollback of one connection never overlap either; a run that Dagster
launched checks the lock's holder at its start (`holder_note`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

#: How long a refused opener waits for the holder to finish writing who it is.
_NOTE_WAIT_SECONDS = 1.0


class RunInProgress(Exception):
    """Another process holds the connection's run lock.

    Attributes:
        connection: The connection.
        run_id: The holder's run, when it said.
        note: What the holder wrote about itself (`run_id`, `pid`, `host`, `since`).
    """

    def __init__(self, connection: str, note: dict[str, str]) -> None:
        self.connection = connection
        self.note = note
        self.run_id = note.get("run_id")
        who = f"run {self.run_id}" if self.run_id else "another run"
        if note.get("activity"):
            who = f"{note['activity']} {self.run_id or ''}".strip()
        where = ", ".join(
            f"{label} {note[key]}"
            for label, key in (("process", "pid"), ("on", "host"), ("since", "since"))
            if note.get(key)
        )
        super().__init__(
            f"connection {connection} is already running: {who} (started from the console"
            f"{', ' + where if where else ''}); this run did not start"
        )


def run_lock_folder(history: Path) -> Path:
    """Where the per-connection run locks are kept: beside the history file, which every
    machine running the deployment's runs shares."""
    return history.with_name(history.name + ".locks")


def lock_path(folder: Path, connection: str) -> Path:
    """The lock file of `connection`'s console runs in `folder`."""
    return folder / f"{connection}.lock"


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    return True


def _read_note(path: Path) -> dict[str, str]:
    """The holder's note, waiting briefly for a holder that has just taken the lock to write it."""
    deadline = time.monotonic() + _NOTE_WAIT_SECONDS
    while True:
        try:
            note = json.loads(path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            note = {}
        if note or time.monotonic() >= deadline:
            return {key: str(value) for key, value in note.items()}
        time.sleep(0.05)


@contextlib.contextmanager
def connection_run_lock(
    folder: Path, connection: str, *, run_id: str, activity: str | None = None
) -> Iterator[Path]:
    """Hold `connection`'s run lock while the block runs.

    Args:
        folder: Where the connections' lock files are kept (created, owner-only, when missing).
        connection: The connection about to run.
        run_id: The run about to start, named to anyone refused meanwhile.
        activity: What the holder does when it is not a run of the job (`rollback of run …`),
            named to anyone refused meanwhile.

    Yields:
        The lock file's path.

    Raises:
        RunInProgress: Another process holds the lock (at once: it never waits).
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = lock_path(folder, connection)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _try_lock(fd):
            raise RunInProgress(connection, _read_note(path))
        note = {
            "run_id": run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if activity:
            note["activity"] = activity
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(note).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # lets go of the lock


def holder_note(path: Path) -> dict[str, str] | None:
    """What the process holding the lock file `path` now wrote about itself (`run_id`, `pid`,
    `host`, `since`, `activity` when it is not a run), or None when nobody holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        if _try_lock(fd):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
    finally:
        os.close(fd)
    return _read_note(path)


def holding_run(path: Path) -> str | None:
    """The run whose process holds the lock file `path` now, or None when nobody holds it.

    A process that holds the lock and checks on an earlier run of its connection learns that the
    earlier run's process is gone: the lock names the checker's own run.
    """
    note = holder_note(path)
    return None if note is None else note.get("run_id", "")
