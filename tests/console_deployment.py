"""A deployment driven through its console script, for the tests of `rollback` and of decisions
taking effect: the emulators (see `tests/resources/conftest.py`) and one connection, `acme`, whose
commands run in a subprocess exactly as cron would run them (stdin not a terminal), with its
history, reports and Dagster home under the test's folder.

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

ROOT = Path(__file__).resolve().parents[2]
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
_FINISHED = re.compile(r"^acme: run (\S+) finished", re.MULTILINE)


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
        return {
            **os.environ,
            **self.outside.env,
            "HUMA_ENTRA_SYNC_CONNECTIONS": str(connections),
            "HISTORY_DB_PATH": str(self.history),
            "REPORTS_DIR": str(self.folder / "reports"),
            "DAGSTER_HOME": str(self.folder / "dagster"),
        }

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`huma-entra-sync ARGS`, with stdin not a terminal (as under cron)."""
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def run(self) -> str:
        """One run of the connection's job; returns its run id."""
        done = self.cli("run")
        assert done.returncode == 0, done.stderr[-3000:]
        found = _FINISHED.search(done.stdout)
        assert found, done.stdout
        return found.group(1)

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
