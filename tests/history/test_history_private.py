"""The history file holds personal data: it is readable by its owner only (SPEC §12).

Pins: a file the store creates, and a copy it takes for analysts, is 0600 whatever the process's
umask; a file found readable by others is tightened to 0600 when it is next opened, with a
warning naming it.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from resources.history import HistoryStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask (022), under which files are made readable by everyone."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("loose_umask")
def test_a_new_history_file_is_readable_by_its_owner_only(new_store: HistoryStore) -> None:
    new_store.migrate()

    assert _mode(new_store.path) == 0o600


@pytest.mark.usefixtures("loose_umask")
def test_a_copy_for_analysts_is_readable_by_its_owner_only(
    store: HistoryStore, tmp_path: Path
) -> None:
    copy = store.copy_to(tmp_path / "copy.duckdb")

    assert _mode(copy) == 0o600


def test_a_loose_history_file_is_tightened_with_a_warning(
    store: HistoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.path.chmod(0o644)
    caplog.set_level(logging.WARNING)

    store.migrate()

    assert _mode(store.path) == 0o600
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [
        f"the history database {store.path} was readable by others; "
        "it is now readable by its owner only"
    ]
