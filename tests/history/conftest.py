"""Fixtures of the history tests: a file of its own per test (new, or empty at the latest version),
and one populated file shared read-only."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from resources.history import HistoryStore, read_only_store
from tests.history.scenario import Night, populate


@pytest.fixture
def new_store(tmp_path: Path) -> HistoryStore:
    """A store over a file that does not exist yet."""
    return HistoryStore(tmp_path / "history.duckdb", lock_timeout_seconds=5)


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty file at the latest schema version, migrated once for the session."""
    path = tmp_path_factory.mktemp("migrated") / "history.duckdb"
    HistoryStore(path).migrate()
    return path


@pytest.fixture
def store(migrated_file: Path, tmp_path: Path) -> HistoryStore:
    """A store over an empty file of its own at the latest schema version."""
    path = tmp_path / "history.duckdb"
    shutil.copyfile(migrated_file, path)
    return HistoryStore(path, lock_timeout_seconds=5)


@dataclass(frozen=True)
class Populated:
    """The scenario's file (read it only), a read-only store over it, and its nights."""

    path: Path
    reader: HistoryStore
    acme_1: Night
    acme_2: Night
    globex_1: Night


@pytest.fixture(scope="session")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Populated:
    """Both Acme nights and Globex's, kept once for every test that only reads."""
    path = tmp_path_factory.mktemp("populated") / "history.duckdb"
    acme_1, acme_2, globex_1 = populate(HistoryStore(path))
    return Populated(path, read_only_store(path), acme_1, acme_2, globex_1)


@pytest.fixture
def populated_copy(populated: Populated, tmp_path: Path) -> HistoryStore:
    """A writable store over a copy of the populated file, for tests that add to it."""
    path = tmp_path / "history.duckdb"
    shutil.copyfile(populated.path, path)
    return HistoryStore(path, lock_timeout_seconds=5)
