"""Scratch files beside the history file: owner-only, named after it, cleared once stale.

A write may hand DuckDB a large input as a file beside the history file (a snapshot's raw
payloads, `runs`): personal data, removed when the write ends. A writer killed mid-write (SIGKILL,
power loss) never gets there, so, like the published copy's temporaries (`files.publish`), scratch
files are named after the history file and the next writer clears those left behind, while it
holds the file for writing. Unlike a publisher, a writer of scratch files does not have the
history to itself: connections of one process share its write lock (one DuckDB instance) and may
write at once. So each writer holds an exclusive `flock` on its scratch file for as long as it
uses it, and only a file nobody holds is stale: the system lets go of the lock however its process
ends, and a later process given the same id does not inherit it.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

#: Held while a scratch file is made and locked, and while stale ones are looked for: another
#: thread's file is never seen between being made and being locked.
_MAKING = threading.Lock()


def _prefix(history: Path) -> str:
    return f".{history.name}.scratch-"


@contextlib.contextmanager
def scratch_file(history: Path, *, suffix: str) -> Iterator[Path]:
    """A new, empty file beside `history` (owner-only), held by this writer while the block
    runs and removed after it.

    Args:
        history: The history file.
        suffix: The file name's ending (`.parquet`).

    Yields:
        The file's path (write it by name: the lock stays with the file).
    """
    with _MAKING:
        descriptor, name = tempfile.mkstemp(
            prefix=_prefix(history), suffix=suffix, dir=history.parent
        )
        fcntl.flock(descriptor, fcntl.LOCK_EX)
    path = Path(name)
    try:
        yield path
    finally:
        # Removed before the lock goes: a file nobody holds is never a live writer's.
        path.unlink(missing_ok=True)
        os.close(descriptor)


def clear_stale_scratch(history: Path) -> None:
    """Remove the scratch files beside `history` that no live writer holds (left by a writer
    killed mid-write). Call it holding `history` for writing, so no other process makes one
    meanwhile."""
    with _MAKING:
        for path in history.parent.glob(glob.escape(_prefix(history)) + "*"):
            try:
                descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue  # removed by its writer meanwhile
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer's
            else:
                path.unlink(missing_ok=True)
            finally:
                os.close(descriptor)
