"""Saving the whole next state keeps the history that saving only its changes keeps: after the
activation (the connection's first baseline, written without comparing it to the table) and
after a later run (compared in the database), row for row in every state table and its change
log; the file the whole save kept is what the next load reads. A first baseline repeating a row
keeps it once, and its file is not kept. A state handed over to the save is let go once its
baseline is in the file, before the database writes it (at activation: every row, in memory)."""

from __future__ import annotations

import weakref
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from reconcile.baseline import baseline_changes
from reconcile.engine import plan_run
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.state import ACTIVATION_SCHEMA, BASELINE_SCHEMA, LINKS_SCHEMA, RunContext, SyncState
from resources.history import HistoryStore, StateChanges
from resources.history import state as state_module
from resources.history.files import connect
from resources.history.kept_baseline import KeptBaseline
from tests.history.scenario import ACME, NIGHT_1, NIGHT_2, POLICY, acme_snapshots
from tests.reference.builders import baseline_frame, links_frame, state_with
from tests.reference.simulation import apply_to_snapshots

_TABLES = (
    "baseline",
    "baseline_changes",
    "links",
    "link_changes",
    "activation",
    "deleted_huma_users",
)


def _rows(store: HistoryStore) -> dict[str, list[tuple]]:
    """Every row of the state tables and their logs, in one order."""
    conn = connect(store.path, read_only=True, timeout_seconds=5)
    try:
        return {
            table: sorted(conn.sql(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in _TABLES
        }
    finally:
        conn.close()


def _night(
    store: HistoryStore, folder: Path, run_id: str, run_at: datetime, *, whole: bool
) -> None:
    """Plan a night of Acme with the baseline the run scans, apply it (simulated) and save the
    whole next state, or only its changes."""
    state = store.load_state(connection=ACME, baseline_dir=folder)
    huma, entra = acme_snapshots(2 if run_at == NIGHT_2 else 1)
    context = RunContext(run_at=run_at, verified_domains=frozenset({"example.com"}))
    result = plan_run(huma, entra, state, POLICY, context)
    _, _, applied = apply_to_snapshots(huma, entra, result.sync_plan)
    outcomes = applied.cast(dict(APPLY_OUTCOMES_SCHEMA))
    following = next_state(state, result, outcomes, context)
    store.begin_run(run_id=run_id, connection=ACME, mode="apply", started_at=run_at)
    if whole:
        store.save_state(connection=ACME, run_id=run_id, state=following)
        return
    changes = baseline_changes(state.baseline, result, outcomes.select("change_id", "created_id"))
    saved = StateChanges(
        links=following.links,
        activation=following.activation,
        deleted_huma_users=following.deleted_huma_users,
        baseline_changes=changes,
    )
    store.save_state(connection=ACME, run_id=run_id, state=saved)


def _reads_the_kept_file(store: HistoryStore, folder: Path) -> bool:
    store.load_state(connection=ACME, baseline_dir=folder)
    (kept,) = KeptBaseline(store.path, ACME).folder.glob("*.parquet")
    return (folder / f"baseline-{ACME}.parquet").read_bytes() == kept.read_bytes()


@pytest.fixture
def second_store(migrated_file: Path, tmp_path: Path) -> HistoryStore:
    """Another empty store, beside `store`."""
    path = tmp_path / "other" / "history.duckdb"
    path.parent.mkdir()
    path.write_bytes(migrated_file.read_bytes())
    return HistoryStore(path, lock_timeout_seconds=5)


def test_the_whole_state_keeps_the_history_its_changes_keep(
    store: HistoryStore, second_store: HistoryStore, tmp_path: Path
) -> None:
    _night(store, tmp_path / "w1", "acme-1", NIGHT_1, whole=True)
    _night(second_store, tmp_path / "c1", "acme-1", NIGHT_1, whole=False)
    activated = _rows(store)
    assert len(activated["baseline"]) > 0
    assert activated == _rows(second_store)
    assert _reads_the_kept_file(store, tmp_path / "load-1")

    _night(store, tmp_path / "w2", "acme-2", NIGHT_2, whole=True)
    _night(second_store, tmp_path / "c2", "acme-2", NIGHT_2, whole=False)
    later = _rows(store)
    assert later["baseline_changes"] != activated["baseline_changes"]  # night 2 changed rows
    assert later == _rows(second_store)
    assert _reads_the_kept_file(store, tmp_path / "load-2")


def test_a_first_baseline_repeating_a_row_keeps_it_once(
    store: HistoryStore, tmp_path: Path
) -> None:
    row = {"huma_id": "h1", "field": "phone", "agreed": "1"}
    baseline = baseline_frame([row, row, {"huma_id": "h2", "field": "phone", "agreed": None}])
    state = state_with(
        links=links_frame(("h1", "e1"), ("h2", "e2")),
        baseline=baseline,
        activation=pl.DataFrame({"activated_at": [NIGHT_1]}, schema=ACTIVATION_SCHEMA),
    )
    store.begin_run(run_id="r1", connection=ACME, mode="apply", started_at=NIGHT_1)
    store.save_state(connection=ACME, run_id="r1", state=state)

    rows = _rows(store)
    assert len(rows["baseline"]) == len(rows["baseline_changes"]) == 2
    assert not list(KeptBaseline(store.path, ACME).folder.glob("*.parquet"))
    loaded = store.load_state(connection=ACME, baseline_dir=tmp_path).baseline
    assert loaded.collect().sort("huma_id").equals(baseline.unique().sort("huma_id"))


def test_a_handed_over_state_is_let_go_before_the_database_writes_its_baseline(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed_over = [
        state_with(
            links=links_frame(("h1", "e1")),
            baseline=baseline_frame([{"huma_id": "h1", "field": "phone", "agreed": "1"}]).lazy(),
        )
    ]
    state = weakref.ref(handed_over[0])
    held_while_writing = []
    write = state_module.save_baseline

    def watched(*args: object) -> None:
        held_while_writing.append(state() is not None)
        write(*args)

    monkeypatch.setattr(state_module, "save_baseline", watched)
    store.begin_run(run_id="r1", connection=ACME, mode="apply", started_at=NIGHT_1)
    store.save_state(connection=ACME, run_id="r1", state=handed_over.pop())

    assert held_while_writing == [False]
    assert len(_rows(store)["baseline"]) == 1


def _big_state(people: int, changed: int, mark: str) -> SyncState:
    """`people` linked, five baseline rows each; the first `changed` people's phones `mark`ed."""
    ids = pl.int_range(people, eager=True).cast(pl.String)
    baseline = (
        pl.DataFrame({"huma_id": "h" + ids})
        .join(
            pl.DataFrame({"field": ["phone", "city", "title", "department", "country"]}),
            how="cross",
        )
        .with_columns(
            has_agreed=pl.lit(True),
            agreed=pl.col("field") + "-" + pl.col("huma_id") + "-" * 40,
        )
        .with_columns(
            agreed=pl.when(
                (pl.col("field") == "phone")
                & (pl.col("huma_id").str.slice(1).cast(pl.Int64) < changed)
            )
            .then(pl.col("agreed") + mark)
            .otherwise(pl.col("agreed"))
        )
        .with_columns(huma_seen=pl.col("agreed"), entra_seen=pl.col("agreed"))
    )
    links = pl.DataFrame(
        {"huma_id": "h" + ids, "entra_id": "e" + ids, "linked_at": NIGHT_1, "linked_by": "email"}
    ).cast(dict(LINKS_SCHEMA))
    activation = pl.DataFrame({"activated_at": [NIGHT_1]}, schema=ACTIVATION_SCHEMA)
    return state_with(
        links=links, baseline=baseline.cast(dict(BASELINE_SCHEMA)), activation=activation
    )


def test_a_night_compared_under_a_memory_cap_it_must_spill_beyond_saves_the_same_history(
    store: HistoryStore, second_store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 60,000 people: 300,000 baseline rows, some 45 MB of text to compare with the table.
    people, changed = 60_000, 600
    caps_while_comparing = []
    compare = state_module._stage_whole

    def watched(conn, connection: str, run_id: str) -> None:
        compare(conn, connection, run_id)
        caps_while_comparing.append(conn.sql("SELECT current_setting('memory_limit')").fetchall())

    monkeypatch.setattr(state_module, "_stage_whole", watched)
    for saving, cap in ((store, "64MB"), (second_store, "4GB")):
        monkeypatch.setattr(state_module, "STATE_WRITE_MEMORY_LIMIT", cap)
        saving.begin_run(run_id="acme-1", connection=ACME, mode="apply", started_at=NIGHT_1)
        saving.save_state(connection=ACME, run_id="acme-1", state=_big_state(people, 0, ""))
        saving.begin_run(run_id="acme-2", connection=ACME, mode="apply", started_at=NIGHT_2)
        saving.save_state(connection=ACME, run_id="acme-2", state=_big_state(people, changed, "!"))

    conn = connect(store.path, read_only=True, timeout_seconds=5)
    try:
        conn.execute("SET memory_limit = '64MB'")
        capped = conn.sql("SELECT current_setting('memory_limit')").fetchall()
    finally:
        conn.close()
    assert caps_while_comparing[0] == capped
    rows = _rows(store)
    assert rows == _rows(second_store)
    night_2 = [r for r in rows["baseline_changes"] if "acme-2" in r]
    assert len(night_2) == changed  # one phone row each, nothing else


@pytest.mark.parametrize("later", [False, True], ids=["activation", "later-night"])
def test_a_baseline_write_that_fails_says_why_and_leaves_the_history_as_it_was(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch, later: bool
) -> None:
    if later:
        store.begin_run(run_id="acme-1", connection=ACME, mode="apply", started_at=NIGHT_1)
        store.save_state(connection=ACME, run_id="acme-1", state=_big_state(100, 0, ""))
    before = _rows(store)
    # Far below what DuckDB needs to write any baseline: the write fails inside the transaction.
    monkeypatch.setattr(state_module, "STATE_WRITE_MEMORY_LIMIT", "1MB")
    store.begin_run(run_id="acme-2", connection=ACME, mode="apply", started_at=NIGHT_2)

    with pytest.raises(duckdb.OutOfMemoryException):  # not "the transaction is aborted"
        store.save_state(connection=ACME, run_id="acme-2", state=_big_state(100, 10, "!"))

    assert _rows(store) == before
    monkeypatch.undo()
    store.save_state(connection=ACME, run_id="acme-2", state=_big_state(100, 10, "!"))
    assert len([r for r in _rows(store)["baseline_changes"] if "acme-2" in r]) == (
        10 if later else 500
    )
