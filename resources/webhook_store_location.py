"""Where the webhook event stores live, and the refusal to keep them on a network file system.

The stores are SQLite files in WAL mode (`resources.webhook_events`): every process that opens one
shares its write-ahead index through memory mapped from a file beside it, which works between
processes of one host (containers too, through a bind mount) and not between hosts. Over NFS or
SMB the processes of different hosts would each see their own index and could corrupt the store.
So the folder is a local disk of the one host where the receiver, the Dagster daemon (the webhook
sensor) and the runs that take events run: `WEBHOOK_EVENTS_DIR`, by default the folder beside
the history (`<HISTORY_DB_PATH>.events`), which suits one machine.

Only Linux tells reliably what a folder is mounted from (`/proc/mounts`); elsewhere nothing is
checked and the deployment's documentation is the guard.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Final

#: The environment variable naming the folder of the event stores (one file per connection).
EVENTS_DIR_ENV: Final = "WEBHOOK_EVENTS_DIR"

#: File system types (`/proc/mounts`' third column) that are shared over a network.
_NETWORK_TYPES: Final = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smbfs",
        "smb3",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "fuse.sshfs",
        "fuse.cephfs",
        "lustre",
        "afs",
        "9p",
    }
)

_MOUNTS: Final = Path("/proc/mounts")


def events_folder(history: Path, environ: Mapping[str, str] = os.environ) -> Path:
    """The folder of the event stores: `WEBHOOK_EVENTS_DIR`, else beside the history file.

    Raises:
        ValueError: `WEBHOOK_EVENTS_DIR` is not an absolute path (every process that opens the
            stores must find the same folder, whatever its working directory).
    """
    named = (environ.get(EVENTS_DIR_ENV) or "").strip()
    if not named:
        return history.with_name(history.name + ".events")
    folder = Path(named).expanduser()
    if not folder.is_absolute():
        raise ValueError(f"{EVENTS_DIR_ENV} must be an absolute path, not {named!r}")
    return folder


def network_filesystem(path: Path, mounts: str) -> str | None:
    """The network file system type `path` is on, according to `mounts` (the text of
    `/proc/mounts`), or None when it is on a local one.

    The mount whose point is the longest leading part of the path decides; `path` need not exist.
    """
    absolute = PurePosixPath(os.path.normpath(path.absolute()))
    best, best_type = -1, ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = PurePosixPath(_unescaped(fields[1]))
        if (absolute == point or point in absolute.parents) and len(point.parts) > best:
            best, best_type = len(point.parts), fields[2]
    network = best_type in _NETWORK_TYPES or best_type.startswith(("nfs", "smb"))
    return best_type if network else None


def require_local_disk(folder: Path, mounts: str | None) -> None:
    """Refuse an events folder on a network file system (see the module docstring).

    Args:
        folder: The events folder.
        mounts: The text of `/proc/mounts` (`read_mounts()`); None checks nothing.

    Raises:
        ValueError: The folder is on a network file system, saying which and what to do.
    """
    if mounts is None:
        return
    kind = network_filesystem(folder, mounts)
    if kind is not None:
        raise ValueError(
            f"the webhook event stores' folder {folder} is on a network file system ({kind}): "
            "SQLite's write-ahead log works only on a local disk. Set "
            f"{EVENTS_DIR_ENV} to a folder on a local disk of the host where the receiver, "
            "the Dagster daemon and the runs run"
        )


def read_mounts() -> str | None:
    """The text of `/proc/mounts`, or None where the system has none (not Linux)."""
    try:
        return _MOUNTS.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _unescaped(field: str) -> str:
    """A `/proc/mounts` field with its octal escapes (space, tab, newline, backslash) undone."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field
