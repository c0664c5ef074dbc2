"""A deployment driven through its console script, for the tests of `rollback` and of decisions
taking effect: the emulators (see `tests/resources/conftest.py`) and one connection, `acme`, whose
commands run in a subprocess exactly as cron would run them (stdin not a terminal), with its
history, reports and Dagster home under the test's folder. `console` and `finished_run` run the
script that way for any deployment.

The connection's policy makes the first run write: first-sync differences of names, phone and
address go to Entra, and Huma-only users are created there automatically.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from resources.history import HistoryStore
from tests.resources.conftest import (  # noqa: F401 - fixtures
    Outside,
    graph_resource,
    outside,
    outside_session,
    world,
)

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = """\
connections:
  acme:
    huma:
      base_url_env: HUMA_BASE_URL
      client_id_env: HUMA_CLIENT_ID
      client_secret_env: HUMA_CLIENT_SECRET
      default_group_id_env: HUMA_DEFAULT_GROUP_ID
    entra:
      tenant_id_env: ENTRA_TENANT_ID
      client_id_env: ENTRA_CLIENT_ID
      client_secret_env: ENTRA_CLIENT_SECRET
      authority_host_env: ENTRA_AUTHORITY_HOST
      graph_base_url_env: GRAPH_BASE_URL
    policy:
      initial_direction:
        given_name: huma_to_entra
        family_name: huma_to_entra
        phone: huma_to_entra
        address: huma_to_entra
      create_entra_users_automatically: true
      mass_change_max_share: 1.0
"""
#: Settings of the developer's own shell that would reach past the emulators (a connections file,
#: a real mail relay, another Dagster instance) are not handed on.
_FOREIGN_PREFIXES = ("HUMA_", "ENTRA_", "GRAPH_", "SMTP_", "REPORT_", "DAGSTER_")


def deployment_environment(emulator_env: dict[str, str], folder: Path) -> dict[str, str]:
    """This process's environment without foreign settings, plus the emulators' and `folder`'s.

    `folder` holds the history database, the reports and the Dagster instance (`DAGSTER_HOME`).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
    return (
        env
        | emulator_env
        | {
            "HISTORY_DB_PATH": str(folder / "history.duckdb"),
            "REPORTS_DIR": str(folder / "reports"),
            "DAGSTER_HOME": str(folder / "dagster"),
        }
    )


def console(
    *args: str, env: dict[str, str], timeout: float = 300, umask: int = -1
) -> subprocess.CompletedProcess[str]:
    """`huma-entra-sync ARGS` in a child process, stdin not a terminal (as under cron); `umask`
    is the child's (default: this process's)."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        umask=umask,
    )


def started_console(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """`huma-entra-sync ARGS` started in a child process and left running (stdin not a terminal,
    output piped): `console` for a command the test stops or waits for itself."""
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished_run(done: subprocess.CompletedProcess[str], connection: str) -> str:
    """The id of the run `huma-entra-sync run` reports finished; fails with what it said if not."""
    said = f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"`huma-entra-sync run` exited with {done.returncode}:\n{said}"
    found = re.search(rf"^{re.escape(connection)}: run (\S+) finished$", done.stdout, re.MULTILINE)
    assert found, f"`huma-entra-sync run` reported no finished run:\n{said}"
    return found.group(1)


@dataclass
class Deployment:
    """One connection against the emulators, driven through its console script."""

    outside: Outside
    folder: Path

    @property
    def history(self) -> Path:
        return self.folder / "history.duckdb"

    @property
    def store(self) -> HistoryStore:
        return HistoryStore(self.history, lock_timeout_seconds=10)

    def environment(self) -> dict[str, str]:
        connections = self.folder / "connections.yaml"
        connections.write_text(CONNECTIONS, encoding="utf-8")
        return deployment_environment(self.outside.env, self.folder) | {
            "HUMA_ENTRA_SYNC_CONNECTIONS": str(connections)
        }

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`huma-entra-sync ARGS`, with stdin not a terminal (as under cron)."""
        return console(*args, env=self.environment())

    def run(self) -> str:
        """One run of the connection's job; returns its run id."""
        return finished_run(self.cli("run"), "acme")

    def huma_users(self) -> dict[str, dict[str, Any]]:
        """The Huma emulator's users now, by id."""
        return {user["id"]: user for user in self.outside.huma.state()["users"]}

    def entra_users(self) -> dict[str, dict[str, Any]]:
        """The Entra emulator's users now, by object id."""
        tenant = self.outside.entra.state()["tenants"][0]
        return {user["id"]: user for user in tenant["users"]}


@pytest.fixture
def deployment(outside: Outside, tmp_path: Path) -> Deployment:  # noqa: F811 - the fixture
    return Deployment(outside, tmp_path)
