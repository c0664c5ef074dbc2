"""What the `decisions` and `rollback` commands share: which connection, which history file, and
how a person is asked.

A person is asked only when stdin is a terminal (SPEC §11: no prompts for cron and scripts).
Failures a person can act on are `CommandError`s carrying the message and the exit code; the
commands print them and exit, never with a traceback.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.connections import Connection
    from resources.history import HistoryStore

#: Exit codes of the commands.
OK = 0
FAILED = 1
USAGE = 2

#: How long a command waits for a run holding the history file before giving up.
LOCK_TIMEOUT_SECONDS = 30.0


class CommandError(Exception):
    """A refusal or failure to print (no traceback), with the exit code to return."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


def fail(error: CommandError) -> int:
    """Print the error for a person (`printable`: it may quote Huma or Entra); returns its exit
    code."""
    from assets.printable import printable

    print(f"huma-entra-sync: {printable(str(error), keep_lines=True)}", file=sys.stderr)
    return error.code


def deployment_connections() -> list[Connection]:
    """The deployment's connections, read from the environment now.

    Raises:
        CommandError: The connections file cannot be used.
    """
    from pipelines.connections import ConnectionsError
    from pipelines.connections import deployment_connections as load

    try:
        return load()
    except ConnectionsError as exc:
        raise CommandError(str(exc), USAGE) from None


def choose_connection(name: str | None) -> Connection:
    """The connection named `name`, or the only one when no name is given.

    Raises:
        CommandError: No such connection, or several and none chosen (usage).
    """
    connections = deployment_connections()
    names = [c.name for c in connections]
    if name is None:
        if len(connections) == 1:
            return connections[0]
        raise CommandError(f"choose a connection with --connection: {', '.join(names)}", USAGE)
    for connection in connections:
        if connection.name == name:
            return connection
    raise CommandError(f"no connection {name!r}; the connections are: {', '.join(names)}", USAGE)


def history_path() -> Path:
    """The history file: `HISTORY_DB_PATH`, else the pipeline's default."""
    from pipelines.resources import DEFAULT_HISTORY_DB_PATH

    return Path(os.environ.get("HISTORY_DB_PATH") or DEFAULT_HISTORY_DB_PATH)


def open_history(*, write: bool) -> HistoryStore:
    """The history store, checked readable at the latest schema (a reader never upgrades it).

    Args:
        write: A store that may write (the file must exist and be up to date all the same: the
            commands act on what runs recorded).

    Raises:
        CommandError: No file yet, an older or newer schema, or a file held past the timeout.
    """
    from resources.history import LATEST_VERSION, HistoryError, HistoryStore, read_only_store

    path = history_path()
    if not path.exists():
        raise CommandError(
            f"no history database at {path} (HISTORY_DB_PATH): no run has written one yet; "
            "run `huma-entra-sync run` first"
        )
    reader = read_only_store(path, lock_timeout_seconds=LOCK_TIMEOUT_SECONDS)
    try:
        version = reader.schema_version()
    except HistoryError as exc:
        raise CommandError(str(exc)) from None
    if version < LATEST_VERSION:
        raise CommandError(
            f"the history database {path} is at schema version {version}, older than this "
            f"code's {LATEST_VERSION}: the next `huma-entra-sync run` upgrades it"
        )
    if version > LATEST_VERSION:
        raise CommandError(
            f"the history database {path} is at schema version {version}, newer than this "
            f"code's {LATEST_VERSION}: upgrade huma-entra-sync before using it"
        )
    if not write:
        return reader
    return HistoryStore(path, lock_timeout_seconds=LOCK_TIMEOUT_SECONDS)


def interactive(*, yes: bool) -> bool:
    """Whether to ask before acting: stdin is a terminal and `--yes` was not given."""
    return not yes and sys.stdin.isatty()


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal; anything but yes (or end of input) is no."""
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def os_user() -> str:
    """Who is at the keyboard, for `--by` and the rollback record."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"uid {os.getuid()}"
