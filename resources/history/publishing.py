"""The published copy: the history as analysts read it, swapped in whole after each run.

DuckDB keeps every other process out of a file while one writes it, and a read-only session in
turn keeps writers out (TOOLCHAIN: DuckDB), so an analyst's session left open on the file the
pipeline writes would make the next run wait and fail. The pipeline therefore writes its own file
and, when a run ends (and after a person's decisions, and a schema upgrade), copies it beside itself
as `<name>.published<suffix>`: checkpointed first, so the copy is one self-contained file, written
under a temporary name and renamed over the previous copy. A rename never waits for the readers of
the file it replaces: a session open on the previous copy goes on reading it (the name now points
at the new one), and every session opened since sees the new copy whole, never half of it.

The copy is read-only to everyone and readable by its owner only (SPEC §12): a writable open of it
fails instead of leaving a write-ahead log beside it that the next copy would inherit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import duckdb

from resources.history.errors import HistoryError

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
