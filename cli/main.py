"""`huma-entra-sync`: the one console script, for people and cron (SPEC §11).

Each command lives in its own module, imported only when that command runs (importing Dagster
costs a second; `--help` should not). A command's module offers `add_arguments(parser)` and
`run(args)`; `emulators` is the emulators' own `up` command, served under the product's name.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import Any

from resources.private_files import owner_only_from_now_on

#: command -> (module, one-line help, description)
COMMANDS = {
    "run": (
        "cli.run",
        "run a connection's reconciliation now (the job the schedule runs)",
        "Execute the connection's nightly job in this process, print a summary, and exit "
        "non-zero when the run fails.",
    ),
    "decisions": (
        "cli.decisions",
        "list, approve or reject the changes that wait for a person",
        "The latest run's conflicts, inconsistencies, creates and Entra → Huma updates wait for "
        "a person: list them, and approve or reject them (by id, user, kind, or all), with a "
        "comment. Decisions take effect on the next run; no prompts when stdin is not a terminal.",
    ),
    "rollback": (
        "cli.rollback",
        "undo the field changes a run applied, where nobody changed them since",
        "Plan the inverse of a run's applied changes from their before-values, show it, and "
        "apply it (after confirmation) only where the systems still hold what that run wrote. "
        "Created users are never removed. The rollback is itself a run in the history.",
    ),
    "webhooks": (
        "cli.webhooks",
        "receive Huma's profile webhooks and store them for the targeted runs",
        "Serve POST /huma/<connection> for each connection with a webhook secret (or only "
        "--connection): each delivery is checked (signature, token, size, shape) and stored "
        "before it is answered. TLS with --certfile/--keyfile, or plain HTTP on loopback behind "
        "a TLS-terminating proxy.",
    ),
    "emulators": (
        "emulators.cli",
        "run local emulators of Huma and Entra ID / Microsoft Graph until stopped",
        "Start the Huma and Entra/Graph emulators over HTTPS and print, as export lines, the "
        "environment a client needs to reach them.",
    ),
    "login": (
        "cli.login",
        "sign in once to Entra ID for the 'with user account' authorization type",
        "Sign in with a device code (a page to open in any browser and a code to enter) and keep "
        "the token cache in a file only you can read; runs then act as you.",
    ),
    "demo": (
        "cli.demo",
        "start the emulators with a generated company and show what a run does",
        "The embedded default: emulators of Huma and Entra ID / Graph, a generated company, the "
        "real clients and the reconciliation engine.",
    ),
}
#: command -> (arguments function, run function), for a module whose names are not the usual ones.
_ENTRY_POINTS = {"emulators": ("add_up_arguments", "run_up")}


def _entry_point(command: str, which: int) -> Callable[[Any], Any]:
    """The function of `command`'s module that adds its arguments (`which` 0) or runs it (1)."""
    name = _ENTRY_POINTS.get(command, ("add_arguments", "run"))[which]
    return getattr(importlib.import_module(COMMANDS[command][0]), name)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or with only `command`'s own arguments (the others' modules
    are not imported: `run` need not load the emulators' web server, nor `login` Dagster)."""
    parser = argparse.ArgumentParser(
        prog="huma-entra-sync",
        description="Keep Huma employees and Microsoft Entra ID users in agreement.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text, description) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=description)
        if command is None or name == command:
            _entry_point(name, 0)(sub)
    return parser


def _command(argv: list[str]) -> str | None:
    """The command `argv` names, when its first word is one (the top level takes no options
    but `--help`, which then lists every command)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    # Whatever a command writes (the history, reports, the Dagster instance, the demo's mails) holds
    # personal data; libraries write some of it, so the umask is set here, once (SPEC §12).
    owner_only_from_now_on()
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(_command(words)).parse_args(words)
    return _entry_point(args.command, 1)(args)


if __name__ == "__main__":
    sys.exit(main())
