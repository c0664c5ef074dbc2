"""A session left open on the pipeline's own history file is named while a run still waits.

Pins: a writer kept out by a holder that left no note (a read-only session, as an analyst's CLI
or notebook) logs one warning naming the process, its program and user, and the published copy
to read instead, while it still waits, so the session can be closed in time (here the holder lets
go on that warning and the write goes through); a run writing (it leaves a note) is not named so;
the error of a writer that gives up names the holder's program too.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from resources.history import HistoryLocked, HistoryStore
from resources.history import files as history_files
from resources.history.files import process_name
from tests.history.test_history_locking import held, release

#: Long enough that only the warning can end the wait in time.
PATIENT_SECONDS = 60.0


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A migrated history file."""
    file = tmp_path / "history.duckdb"
    HistoryStore(file).migrate()
    return file


@pytest.fixture(autouse=True)
def name_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """Name a holder after a moment rather than the deployment's seconds."""
    monkeypatch.setattr(history_files, "NAME_HOLDER_AFTER_SECONDS", 0.2)


class _ReleaseOnWarning(logging.Handler):
    """Lets the holder go when the opener names it, as the person who left it open would."""

    def __init__(self, child) -> None:
        super().__init__(logging.WARNING)
        self.child = child
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        release(self.child)


def _begin(store: HistoryStore) -> None:
    store.begin_run(run_id="r1", connection="acme", mode="apply", started_at=datetime.now(UTC))


def test_a_session_holding_the_file_is_named_while_the_writer_still_waits(path: Path) -> None:
    logger = logging.getLogger(history_files.__name__)
    with held(path, "reader") as child:
        handler = _ReleaseOnWarning(child)
        logger.addHandler(handler)
        try:
            name = process_name(child.pid)
            store = HistoryStore(path, lock_timeout_seconds=PATIENT_SECONDS)
            _begin(store)  # goes through once the named session closed
        finally:
            logger.removeHandler(handler)
    assert store.run(run_id="r1") is not None
    assert name is not None
    [message] = handler.messages
    assert f"by process {child.pid} ({name})" in message
    assert "not a run writing" in message
    assert "history.published.duckdb" in message
    assert f"waits up to {PATIENT_SECONDS:.0f} s" in message


def test_a_run_writing_is_waited_for_without_being_named_a_session(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger=history_files.__name__),
        held(path, "run"),
        pytest.raises(HistoryLocked, match="run acme-7 of connection acme"),
    ):
        _begin(HistoryStore(path, lock_timeout_seconds=0.6))
    assert not [r for r in caplog.records if "not a run writing" in r.getMessage()]


def test_the_error_of_a_writer_that_gave_up_names_the_sessions_program(path: Path) -> None:
    with held(path, "reader") as child:
        name = process_name(child.pid)
        with pytest.raises(HistoryLocked) as caught:
            _begin(HistoryStore(path, lock_timeout_seconds=0.6))
    assert name is not None
    assert f"process {child.pid} holds it (an analyst's session" in str(caught.value)
    assert f"process {child.pid} is {name}" in str(caught.value)
