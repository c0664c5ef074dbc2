"""Opening the history file: short connections, retried while another process holds it.

DuckDB lets one process at a time hold a file for writing, and while it does no other process can
open it, not even read-only (TOOLCHAIN: DuckDB). So every write is one short transaction on its own
connection, and an opener that finds the file held retries until its timeout, then raises
`HistoryLocked`. A writer leaves a small note beside the file (`<file>.holder.json`: process id,
what it is doing, since when) for the duration of its transaction, so a run that gives up can say
which run was writing; the note is trusted only when its process id is the one DuckDB names.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from resources.history.errors import HistoryLocked, HistoryNotReady
from resources.private_files import PRIVATE_FILE, tighten

logger = logging.getLogger(__name__)

_HOLDER_PID = re.compile(r"\(PID (\d+)\)")
_FIRST_POLL_SECONDS = 0.05
_MAX_POLL_SECONDS = 0.5


def holder_note_path(path: Path) -> Path:
    """Where a writer describes itself while it holds `path`."""
    return path.with_name(path.name + ".holder.json")


def _lock_conflict(exc: duckdb.Error) -> bool:
    text = str(exc)
    return (isinstance(exc, duckdb.IOException) and "lock" in text.lower()) or (
        # The same process holding the file with other settings (read-only vs writable).
        isinstance(exc, duckdb.ConnectionException) and "different configuration" in text
    )


def _holder(path: Path, pid: int | None) -> str | None:
    """What the holder said it was doing, if its note is there and is really its own."""
    if pid is None:
        return None
    try:
        note = json.loads(holder_note_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if note.get("pid") != pid:
        return None  # a stale note of a process that died mid-write
    return f"{note.get('doing', 'a writer')} since {note.get('since', '?')}"


def connect(
    path: Path,
    *,
    read_only: bool,
    timeout_seconds: float,
    on_wait: Callable[[float], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open `path`, retrying while another connection holds it.

    Args:
        path: The database file.
        read_only: Open for reading only (never creates the file).
        timeout_seconds: How long to keep retrying.
        on_wait: Told how many seconds an open waited for another holder, when it had to wait
            (whether it then succeeded or gave up).

    Returns:
        An open connection with the session time zone set to UTC.

    Raises:
        HistoryLocked: The file was still held when the timeout passed.
        HistoryNotReady: `read_only` and the file does not exist.
    """
    existed = path.exists()
    if read_only and not existed:
        raise HistoryNotReady(f"no history database at {path}: no run has written one yet")
    if existed:
        tighten(path, what="the history database")
    started = time.monotonic()
    poll = _FIRST_POLL_SECONDS
    held = False  # whether an attempt found the file held
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if not _lock_conflict(exc):
                raise
            held = True
            waited = time.monotonic() - started
            if waited >= timeout_seconds:
                if on_wait is not None:
                    on_wait(waited)
                match = _HOLDER_PID.search(str(exc))
                pid = int(match.group(1)) if match else None
                raise HistoryLocked(
                    path, waited_seconds=waited, holder_pid=pid, holder=_holder(path, pid)
                ) from None
            time.sleep(min(poll, timeout_seconds - waited))
            poll = min(poll * 2, _MAX_POLL_SECONDS)
            continue
        if not existed:
            path.chmod(PRIVATE_FILE)  # personal data, whatever the umask (SPEC §12)
        if held and on_wait is not None:
            on_wait(time.monotonic() - started)
        # Time stamps are stored as TIMESTAMPTZ and must read back as UTC whatever the host's zone.
        conn.execute("SET TimeZone = 'UTC'")
        # A long query would otherwise draw a progress bar into the run's logs.
        conn.execute("SET enable_progress_bar = false")
        return conn


@contextlib.contextmanager
def holder_note(path: Path, doing: str) -> Iterator[None]:
    """Describe this process beside `path` while the block runs (see the module docstring)."""
    note = holder_note_path(path)
    text = json.dumps(
        {
            "pid": os.getpid(),
            "doing": doing,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    try:
        note.write_text(text, encoding="utf-8")
    except OSError:  # the note only improves an error message; never fail a write for it
        logger.debug("could not write %s", note)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            note.unlink()


@contextlib.contextmanager
def in_transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """`BEGIN` … `COMMIT` on an open connection; `ROLLBACK` when the block raises."""
    conn.begin()
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


@contextlib.contextmanager
def transaction(
    path: Path,
    *,
    timeout_seconds: float,
    doing: str,
    on_wait: Callable[[float], None] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable connection inside one transaction: committed on success, rolled back on error,
    closed either way.

    Args:
        path: The database file (created when missing).
        timeout_seconds: How long to wait for another holder.
        doing: What this writer does, for the error another opener may raise meanwhile.
        on_wait: See `connect`.

    Yields:
        The connection, inside `BEGIN`.
    """
    conn = connect(path, read_only=False, timeout_seconds=timeout_seconds, on_wait=on_wait)
    try:
        with holder_note(path, doing), in_transaction(conn):
            yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def reading(
    path: Path, *, timeout_seconds: float, on_wait: Callable[[float], None] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, closed on exit (other readers may share the file meanwhile)."""
    conn = connect(path, read_only=True, timeout_seconds=timeout_seconds, on_wait=on_wait)
    try:
        yield conn
    finally:
        conn.close()
