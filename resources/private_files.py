"""Files that hold personal data or credentials are readable by their owner only (SPEC §12).

The history, the reports, the token cache and the Dagster instance (where the IO manager pickles
every snapshot frame) hold home addresses, phone numbers and tokens. Libraries write some of them
(DuckDB its WAL and temporary files, Dagster its storage), so the processes that run the product
set an owner-only umask once, where they start (`owner_only_from_now_on`); our own writers also
give explicit modes, so they hold whatever the umask. A file or folder found readable by others is
tightened, with a warning: it was written by an older version, by hand, or by a process that did
not start through the product.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
#: The permission bits of the group and of others.
_OTHERS = 0o077


def owner_only_from_now_on() -> None:
    """Make every file and folder this process (and its children) creates owner-only.

    Sets the process-wide umask to 077, keeping any stricter bit already set.
    """
    os.umask(os.umask(_OTHERS) | _OTHERS)


def tighten(path: Path, *, what: str) -> None:
    """Make `path` owner-only when the group or others may use it, saying so in a warning.

    Args:
        path: A file or folder that exists.
        what: What it is, for the warning ("the history database").
    """
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & _OTHERS:
        return
    try:
        path.chmod(mode & ~_OTHERS)
    except OSError as exc:  # not ours to change: say so rather than fail the reader
        logger.warning("%s %s is readable by others and cannot be tightened: %s", what, path, exc)
        return
    logger.warning("%s %s was readable by others; it is now readable by its owner only", what, path)


def tighten_tree(root: Path, *, what: str) -> None:
    """Make `root` and everything under it owner-only, with one warning when anything was not.

    Args:
        root: A folder (nothing happens when it does not exist).
        what: What it is, for the warning ("the Dagster instance").
    """
    tightened = 0
    # Other processes add and remove files meanwhile (steps, SQLite journals): `os.walk` skips a
    # folder that vanished, and so does this loop for a file.
    for folder, folders, files in os.walk(root):
        for name in (".", *folders, *files):
            path = Path(folder, name)
            with contextlib.suppress(FileNotFoundError):
                mode = path.lstat().st_mode
                if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & _OTHERS:
                    path.chmod(stat.S_IMODE(mode) & ~_OTHERS)
                    tightened += 1
    if tightened:
        logger.warning(
            "%s %s held files readable by others (%d); they are now readable by their owner only",
            what,
            root,
            tightened,
        )


def private_folder(path: Path) -> Path:
    """`path`, made when missing, with each folder it had to make owner-only; returns it."""
    for folder in reversed([path, *path.parents]):
        if not folder.exists():
            folder.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (replaced if there), readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), PRIVATE_FILE)  # a file that was there keeps its mode otherwise
        handle.write(data)
