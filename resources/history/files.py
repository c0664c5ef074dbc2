"""The history file itself: opened in short connections, published whole for analysts, and the
errors that name it.

Opening. DuckDB lets one process at a time hold a file for writing, and while it does no other
process can open it, not even read-only (TOOLCHAIN: DuckDB). So every write is one short transaction
on its own connection, and an opener that finds the file held retries until its timeout (longer
while a run writes: `RUN_WRITING_PATIENCE`), then raises `HistoryLocked`. A writer leaves a small
note beside the file (`<file>.holder.json`: process id and start time, what it is doing, since
when) for the duration of its transaction, so a run that gives up can say which run was writing;
the note is trusted only when its process is the one DuckDB names: the same id, started at the
same time (a writer killed mid-write leaves its note, and its id may later be another process's).
A holder without a note (a session opened on the file) is named in the log after
`NAME_HOLDER_AFTER_SECONDS`, while the opener still waits, with its program and user, so that it
can be closed before the opener gives up.

Publishing. An analyst's session left open on the file the pipeline writes would make the next
run wait and fail. The pipeline therefore writes its own file and, when a run ends (and after a
person's decisions, and a schema upgrade), copies it beside itself as `<name>.published<suffix>`:
checkpointed first, so the copy is one self-contained file, written under a temporary name and
renamed over the previous copy. A rename never waits for the readers of the file it replaces: a
session open on the previous copy goes on reading it (the name now points at the new one), and
every session opened since sees the new copy whole, never half of it. The copy is read-only to
everyone and readable by its owner only (SPEC §12): a writable open of it fails instead of leaving
a write-ahead log beside it that the next copy would inherit.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import pwd
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from resources.private_files import PRIVATE_FILE, tighten


class HistoryError(Exception):
    """Something about the history database file itself is wrong."""


class HistoryLocked(HistoryError):
    """Another process (or another connection of this one) held the file past the timeout.

    DuckDB lets no other process open a file, not even read-only, while one holds it for writing
    (and a read-only session keeps writers out). The message names the file, the holder's process
    id when DuckDB reports it, and the run writing when the holder left a note.

    Attributes:
        path: The database file.
        waited_seconds: How long the opener retried.
        holder_pid: The holding process, when known.
        holder: What the holder said it was doing (`run … of connection …`), when known.
    """

    def __init__(
        self,
        path: Path,
        *,
        waited_seconds: float,
        holder_pid: int | None = None,
        holder: str | None = None,
    ) -> None:
        self.path = path
        self.waited_seconds = waited_seconds
        self.holder_pid = holder_pid
        self.holder = holder
        if holder:
            who = f"{holder} (process {holder_pid}) is writing to it"
        elif holder_pid is not None:
            who = (
                f"process {holder_pid} holds it (an analyst's session, or another run; "
                "a run writes in short transactions, a session holds the file until it closes)"
                f"{_described(holder_pid)}"
            )
        else:
            who = "another connection in this process holds it with other settings"
        super().__init__(
            f"the history database {path} is locked: {who}; gave up after "
            f"{waited_seconds:.1f} s. Retry when it is released, or raise lock_timeout_seconds."
        )


class HistoryNotReady(HistoryError):
    """A read-only opener found no database, or one whose schema is older than this code's.

    Reading never creates or upgrades the file: the next run (or `HistoryStore.migrate()`) does.
    """


class JournalError(HistoryError):
    """A journal write that would break crash safety: an outcome without its intent, or a new
    intent for a change whose outcome is already recorded (it would be sent twice)."""


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


def process_started(pid: int) -> int | None:
    """When a local process started (clock ticks after boot, field 22 of `/proc/<pid>/stat`),
    None where unknown: with its id, what tells a process from a later one given the same id."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    # The fields after the program's name, which may itself hold spaces and parentheses.
    after_name = stat.rpartition(")")[2].split()
    return int(after_name[19]) if len(after_name) > 19 else None


def _holder(path: Path, pid: int | None) -> str | None:
    """What the holder said it was doing, if its note is there and is really its own."""
    if pid is None:
        return None
    try:
        note = json.loads(holder_note_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(note, dict) or note.get("pid") != pid:
        return None  # a stale note of a process that died mid-write
    if note.get("started") != process_started(pid):
        return None  # the same: its id now names another process
    return f"{note.get('doing', 'a writer')} since {note.get('since', '?')}"


#: How many times its timeout an opener waits for a run writing (a holder whose note is its own):
#: runs of several connections share the file and take turns, and one run's write may hold it far
#: longer than a short transaction (the snapshot steps' at a million people: minutes, README
#: "Performance"), which must not fail the other run. A holder that is not a run writing (a
#: session opened on the file) holds it until it is closed: for it the timeout stands.
RUN_WRITING_PATIENCE = 10

#: How long an opener waits on a holder that left no note before naming it in the log: a run's
#: reads hold the file for moments, a session left open holds it until it is closed.
NAME_HOLDER_AFTER_SECONDS = 5.0


def process_name(pid: int) -> str | None:
    """`program, user name` of a local process, from `/proc` (None where unknown). Only the
    program's name and its owner: a command line may carry a secret."""
    try:
        program = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
        uid = Path(f"/proc/{pid}").stat().st_uid
    except OSError:
        return None
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"uid {uid}"
    return f"{program!r}, user {user}"


def _described(pid: int) -> str:
    name = process_name(pid)
    return f"; process {pid} is {name}" if name else ""


def _name_the_holder(path: Path, pid: int | None, waited: float, timeout_seconds: float) -> None:
    """Say, while still waiting, which process keeps the file when it is not a run writing (a
    writer of ours leaves a note; a session on the file does not), so that whoever opened it
    can close it before the opener gives up."""
    if pid is None or _holder(path, pid) is not None:
        return
    name = process_name(pid)
    logger.warning(
        "the history database %s has been held for %.0f s by process %d%s, which is not a run "
        "writing: most likely a session opened on the pipeline's own file. Nothing can write "
        "until it closes; this waits up to %.0f s in all, then stops before sending anything. "
        "Close that session; analysts read %s, which keeps no run waiting.",
        path,
        waited,
        pid,
        f" ({name})" if name else "",
        timeout_seconds,
        published_path(path).name,
    )


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
    named = False  # whether a holder that left no note was named in the log
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if not _lock_conflict(exc):
                raise
            held = True
            waited = time.monotonic() - started
            match = _HOLDER_PID.search(str(exc))
            pid = int(match.group(1)) if match else None
            holder = _holder(path, pid)
            patience = timeout_seconds * (RUN_WRITING_PATIENCE if holder else 1)
            if waited >= patience:
                if on_wait is not None:
                    on_wait(waited)
                raise HistoryLocked(
                    path, waited_seconds=waited, holder_pid=pid, holder=holder
                ) from None
            if not named and waited >= NAME_HOLDER_AFTER_SECONDS:
                _name_the_holder(path, pid, waited, timeout_seconds)
                named = True
            time.sleep(min(poll, patience - waited))
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
            "started": process_started(os.getpid()),
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


#: Owner read only: nobody writes the copy in place; the next run replaces it.
PUBLISHED_MODE = 0o400


def published_path(path: Path) -> Path:
    """Where the copy of the history file `path` is published for analysts."""
    return path.with_name(f"{path.stem}.published{path.suffix}")


def wal_path(path: Path) -> Path:
    """DuckDB's write-ahead log of `path`."""
    return path.with_name(path.name + ".wal")


def publish(conn: duckdb.DuckDBPyConnection, source: Path, target: Path) -> None:
    """Replace `target` with a copy of `source`, whose writable connection `conn` this process
    holds (so no other process writes `source` while it is copied).

    Args:
        conn: The open, writable connection to `source`, outside any transaction.
        source: The history file the pipeline writes.
        target: The published copy (replaced whole, atomically).

    Raises:
        HistoryError: The checkpoint left committed writes in the log (they would be missing
            from the copy).
    """
    conn.execute("CHECKPOINT")  # every committed write into the file itself
    log = wal_path(source)
    if log.exists() and log.stat().st_size:
        raise HistoryError(f"{source} could not be checkpointed: not publishing a partial copy")
    # A publisher killed before its rename left its copy under its temporary name. Publishers
    # take turns (each holds `source` for writing), so any such copy is stale: clear it, or it
    # stays for good, and one with this process's id (a container's) is read-only to this one.
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        if stale.name.removeprefix(f".{target.name}.").removesuffix(".tmp").isdigit():
            stale.unlink(missing_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, temporary)
        with temporary.open("rb") as copied:  # on disk before the name points at it
            os.fsync(copied.fileno())
        temporary.chmod(PUBLISHED_MODE)
        # A log beside the published name would be replayed into the new copy by its next opener.
        wal_path(target).unlink(missing_ok=True)
        temporary.replace(target)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
