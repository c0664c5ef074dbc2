"""The console commands' world: a deployment with two connections (`acme`, `globex`) whose history
file holds the history scenario's nights (`tests/history/scenario.py`), a copy per test, found
the way the commands find it (`HISTORY_DB_PATH`, `HUMA_ENTRA_SYNC_CONNECTIONS`); and stdin as a
terminal or as a pipe."""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from resources.history import HistoryStore
from tests.history.scenario import populate

CONNECTIONS_YAML = """\
connections:
{entries}
"""
CONNECTION_YAML = """\
  {name}:
    huma:
      client_id_env: {upper}_HUMA_CLIENT_ID
      client_secret_env: {upper}_HUMA_CLIENT_SECRET
    entra:
      tenant_id_env: {upper}_ENTRA_TENANT_ID
      client_id_env: {upper}_ENTRA_CLIENT_ID
      client_secret_env: {upper}_ENTRA_CLIENT_SECRET
"""


def connections_file(folder: Path, *names: str) -> Path:
    """A connections file naming `names` (secrets by variable name only, never resolved here)."""
    entries = "".join(CONNECTION_YAML.format(name=n, upper=n.upper()) for n in names)
    path = folder / "connections.yaml"
    path.write_text(CONNECTIONS_YAML.format(entries=entries.rstrip("\n")), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Deployment:
    """The history file the commands use, and a store over it for the test's own checks."""

    path: Path
    store: HistoryStore


@pytest.fixture(scope="session")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "history.duckdb"
    populate(HistoryStore(path))
    return path


@pytest.fixture
def deployment(scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """Both connections, over a copy of the scenario's history."""
    path = tmp_path / "history.duckdb"
    shutil.copyfile(scenario_file, path)
    monkeypatch.setenv("HISTORY_DB_PATH", str(path))
    monkeypatch.setenv(
        "HUMA_ENTRA_SYNC_CONNECTIONS", str(connections_file(tmp_path, "acme", "globex"))
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # a pipe: never a terminal
    return Deployment(path, HistoryStore(path, lock_timeout_seconds=5))


class Terminal(io.StringIO):
    """A terminal whose person types the given answers."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Make stdin a terminal on which the person answers with the given lines."""

    def answer(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", Terminal(text))

    return answer
