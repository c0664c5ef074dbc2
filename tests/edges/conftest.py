"""Fixtures of the edge probes: a history file of their own per test, at the latest version."""

from __future__ import annotations

from pathlib import Path

import pytest

from resources.history import HistoryStore


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    """A store over an empty file of its own at the latest schema version."""
    store = HistoryStore(tmp_path / "history.duckdb", lock_timeout_seconds=5)
    store.migrate()
    return store
