"""The Dagster resource and sessions: `HistoryResource` configures a store over its file (usable
from an asset), a held session serves many calls on one open file with each call still its own
transaction, a store opened read-only refuses every write, and a copy for analysts holds
everything the file does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from resources.history import (
    HistoryError,
    HistoryResource,
    HistoryStore,
    JournalError,
    read_only_store,
)
from tests.history.conftest import Populated

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def test_the_resource_serves_a_store_inside_an_asset(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"

    @dg.asset
    def begun(history: HistoryResource) -> None:
        assert history.store() is history.store()  # migrated once per resource, not per call
        history.store().begin_run(run_id="r1", connection="acme", mode="apply", started_at=T0)

    result = dg.materialize(
        [begun], resources={"history": HistoryResource(path=str(path), lock_timeout_seconds=3)}
    )
    assert result.success
    reader = HistoryResource(path=str(path), lock_timeout_seconds=3).reader()
    assert reader.read_only
    assert reader.runs(connection="acme").get_column("run_id").to_list() == ["r1"]


def test_a_session_serves_many_calls_each_its_own_transaction(store: HistoryStore) -> None:
    store.begin_run(run_id="r1", connection="acme", mode="apply", started_at=T0)
    with store.session(doing="apply of run r1"):
        for change_id in ("c1", "c2"):
            store.journal_intent(
                run_id="r1",
                connection="acme",
                change_id=change_id,
                system="graph",
                operation="PATCH /users/{id}",
                target_id="e1",
                request=None,
                before=None,
            )
        store.journal_outcome(run_id="r1", change_id="c1", status="applied")
        with pytest.raises(JournalError):
            store.journal_outcome(run_id="r1", change_id="nope", status="applied")
        assert store.open_journal(connection="acme").get_column("change_id").to_list() == ["c2"]
        with pytest.raises(HistoryError, match="already open"), store.session(doing="again"):
            pass
    # What the session committed is there for the next opener; the failed call left nothing.
    fresh = HistoryStore(store.path)
    assert fresh.journal(run_id="r1").get_column("status").to_list() == ["applied", None]


def test_a_read_only_store_refuses_writes(store: HistoryStore) -> None:
    store.migrate()
    reader = HistoryStore(store.path, read_only=True)
    with pytest.raises(HistoryError, match="read-only"):
        reader.begin_run(run_id="r1", connection="acme", mode="apply", started_at=T0)
    with pytest.raises(HistoryError, match="read-only"):
        reader.record_statuses(
            run_id="r1", changes=pl.DataFrame({"change_id": ["c1"], "status": ["applied"]})
        )
    with pytest.raises(HistoryError, match="read-only"), reader.session(doing="x"):
        pass
    with pytest.raises(HistoryError, match="read-only"):
        reader.migrate()


def test_a_copy_for_analysts_holds_everything(populated: Populated, tmp_path: Path) -> None:
    copy = populated.reader.copy_to(tmp_path / "copy.duckdb")
    reader = read_only_store(copy)
    assert reader.runs(connection="acme").equals(populated.reader.runs(connection="acme"))
    assert reader.pending_decisions(connection="acme").height == 2
