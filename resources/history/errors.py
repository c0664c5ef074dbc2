"""Errors of the history database, each naming the file and what a person can do about it."""

from __future__ import annotations

from pathlib import Path


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
