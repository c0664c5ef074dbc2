"""The console commands the report tells people to type (SPEC §11: `decisions`, `run`).

One place spells them, so the email, the attachment and the console script cannot drift apart.
Connection names and ids are shell-quoted: a command copied from the email runs as shown.
"""

from __future__ import annotations

import shlex
from typing import Final

CLI: Final = "huma-entra-sync"


def _command(*words: str) -> str:
    return " ".join(shlex.quote(word) for word in (CLI, *words))


def list_decisions(connection: str) -> str:
    """The command that lists every decision waiting in `connection`."""
    return _command("decisions", "list", "--connection", connection)


def approve(connection: str, change_id: str, *, winner: str | None = None) -> str:
    """The command that approves one change (a conflict names the winning side)."""
    extra = ("--winner", winner) if winner else ()
    return _command("decisions", "approve", "--connection", connection, "--id", change_id, *extra)


def reject(connection: str, change_id: str) -> str:
    """The command that rejects one change."""
    return _command("decisions", "reject", "--connection", connection, "--id", change_id)


def approve_all_of_kind(connection: str, kind: str) -> str:
    """The command that approves every waiting decision of one kind (`decision_kind`)."""
    return _command("decisions", "approve", "--connection", connection, "--all", "--kind", kind)


def run_with_override(connection: str, guard: str) -> str:
    """The command that runs the connection again with one guard overridden for that run."""
    return _command("run", "--connection", connection, "--override-guard", guard)
