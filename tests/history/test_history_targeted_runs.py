"""Targeted runs in the history: each run records its scope (migration 5), a file kept before
upgrades with every earlier run read as a full one, a targeted run's small snapshot never becomes
the snapshot guard's comparison."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from reconcile.engine import plan_run
from reconcile.policy import Policy
from reconcile.state import RunContext, empty_state
from resources.history import HistoryStore
from resources.history.runs import FULL, TARGETED
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def _begin(store: HistoryStore, run_id: str, day: int, users: int, **scope: object) -> None:
    store.begin_run(
        run_id=run_id,
        connection="acme",
        mode="apply",
        started_at=T0 + timedelta(days=day),
        **scope,
    )
    humas = huma_frame(*(huma_user(f"h{i}", f"u{i}@example.com") for i in range(users)))
    entras = entra_frame(*(entra_user(f"e{i}", f"u{i}@example.com") for i in range(users)))
    store.record_snapshot(run_id=run_id, side="huma", users=humas)
    store.record_snapshot(run_id=run_id, side="entra", users=entras)
    # The run planned (no guard stopped it): only such a run's sizes are ever compared with.
    context = RunContext(run_at=T0 + timedelta(days=day))
    store.record_plan(run_id=run_id, plan=plan_run(humas, entras, empty_state(), Policy(), context))


def test_a_file_of_version_4_is_upgraded_and_its_runs_read_as_full(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    HistoryStore(path).migrate(target_version=4)
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            "INSERT INTO runs (run_id, connection, mode, started_at) VALUES (?, ?, ?, ?)",
            ["old", "acme", "apply", T0],
        )
    store = HistoryStore(path)
    assert store.migrate() == [5]
    record = store.run(run_id="old")
    assert record is not None
    assert (record.scope, record.scope_users) == (FULL, None)


def test_a_targeted_run_records_its_scope_and_users(store: HistoryStore) -> None:
    _begin(store, "t1", 0, 2, scope=TARGETED, scope_users=2)
    record = store.run(run_id="t1")
    assert record is not None
    assert (record.scope, record.scope_users) == (TARGETED, 2)


def test_an_unknown_scope_is_refused(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match="scope must be one of"):
        store.begin_run(run_id="x", connection="acme", mode="apply", started_at=T0, scope="partial")


def test_a_targeted_runs_snapshot_is_never_the_guards_comparison(store: HistoryStore) -> None:
    _begin(store, "n1", 0, 10)
    _begin(store, "t1", 1, 1, scope=TARGETED, scope_users=1)
    previous = store.previous_snapshots(connection="acme")
    assert (previous.huma_count, previous.entra_count) == (10, 10)
