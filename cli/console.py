"""What the commands share: which connection, which history file, how a person is asked, and the
Dagster instance the commands run jobs in.

A person is asked only when stdin is a terminal (SPEC §11: no prompts for cron and scripts).
Failures a person can act on are `CommandError`s carrying the message and the exit code; the
commands print them and exit, never with a traceback.

The Dagster instance is shared with `dagster dev`: runs started from the command line show in the
UI only when both use the same `DAGSTER_HOME`. When it is not set, `var/dagster` under the current
folder is used (made on first use, with telemetry off), and `dagster dev` started from the same
folder with the same variable shows those runs.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from assets.run_options import CONNECTION_TAG
from resources.private_files import private_folder, tighten_tree

if TYPE_CHECKING:
    import dagster as dg

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


DEFAULT_DAGSTER_HOME = Path("var/dagster")
#: The first line of every `dagster.yaml` this module writes; a file starting otherwise is the
#: deployment's own and is never touched.
_MADE_HERE = "# Made by huma-entra-sync for local runs"
DAGSTER_YAML = f"""\
{_MADE_HERE}; a deployment points DAGSTER_HOME at its own instance.
telemetry:
  enabled: false
# One run per connection at a time: a second run of a connection (schedule, UI, sensor) waits in
# the queue while one is in progress. `dagster dev` and `dagster-daemon` apply it.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  runs:
    tag_concurrency_limits:
      - key: {CONNECTION_TAG}
        value:
          applyLimitPerUniqueValue: true
        limit: 1
# A run whose worker died is marked failed instead of holding its connection's place forever.
run_monitoring:
  enabled: true
"""


def dagster_home() -> Path:
    """`DAGSTER_HOME`, set to the default (and prepared) when it was not set.

    Its `dagster.yaml` is written when missing, and brought up to date when an earlier release
    of this module wrote it.
    """
    if "DAGSTER_HOME" not in os.environ:
        home = DEFAULT_DAGSTER_HOME.resolve()
        os.environ["DAGSTER_HOME"] = str(home)
    home = private_folder(Path(os.environ["DAGSTER_HOME"]))
    # The IO manager keeps every snapshot frame in here, as Arrow files (SPEC §12: owner-only).
    tighten_tree(home, what="the Dagster instance")
    config = home / "dagster.yaml"
    if not config.exists() or (
        config.read_text().startswith(_MADE_HERE) and config.read_text() != DAGSTER_YAML
    ):
        config.write_text(DAGSTER_YAML)
    return home


def dagster_instance() -> dg.DagsterInstance:
    """The persistent instance in `dagster_home()`."""
    import dagster as dg  # a second to import: only the commands that run jobs pay it

    dagster_home()
    return dg.DagsterInstance.get()
