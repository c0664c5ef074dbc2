"""State: a new connection loads the empty state; every state frame reads back 1:1 (eager, or the
baseline as a lazy Parquet scan the engine plans with alike); saving a run twice leaves the same
tables and the same change log; saving only the changed baseline rows gives the engine's next
baseline; connections never see each other's links, baseline or activation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from reconcile.baseline import baseline_changes, next_baseline
from reconcile.context import RunContext
from reconcile.engine import plan_run
from reconcile.next_state import next_state
from reconcile.state import (
    ACTIVATION_SCHEMA,
    DELETED_HUMA_USERS_SCHEMA,
    STATE_SCHEMAS,
    SyncState,
    empty_state,
)
from resources.history import HistoryStore, StateChanges
from resources.history.files import connect
from tests.history.conftest import Populated
from tests.history.scenario import ACME, GLOBEX, NIGHT_1, NIGHT_2, POLICY, acme_snapshots
from tests.reference.builders import baseline_frame, decisions_frame, links_frame, state_with
from tests.reference.simulation import apply_to_snapshots

LATER = NIGHT_1 + timedelta(days=3)


def _full_state() -> SyncState:
    """A state with a row of every kind, nulls and lists included."""
    links = pl.concat(
        [
            links_frame(("h1", "e1"), ("h2", "e2")),
            links_frame(("created-x", "e3"), at=LATER).with_columns(
                linked_by=pl.lit("create_huma")
            ),
        ]
    )
    baseline = baseline_frame(
        [
            {"huma_id": "h1", "field": "given_name", "agreed": "Ann"},
            {"huma_id": "h1", "field": "phone", "agreed": None},
            {"huma_id": "h1", "field": "job_title", "has_agreed": False, "huma_seen": "Lead"},
            {"huma_id": "h2", "field": "address", "agreed": '{"city":"Oslo"}', "entra_seen": None},
        ]
    )
    return state_with(
        links=links,
        baseline=baseline,
        activation=pl.DataFrame({"activated_at": [NIGHT_1]}, schema=ACTIVATION_SCHEMA),
        deleted_huma_users=pl.DataFrame(
            [{"huma_id": "h9", "entra_id": "e9", "email_key": "nn@x.no", "detected_at": LATER}],
            schema=DELETED_HUMA_USERS_SCHEMA,
        ),
    )


def _sorted(state: SyncState) -> dict[str, pl.DataFrame]:
    frames = {name: getattr(state, name) for name in STATE_SCHEMAS}
    frames["baseline"] = frames["baseline"].lazy().collect()
    return {name: frame.sort(frame.columns[:2], nulls_last=True) for name, frame in frames.items()}


def _count(path: Path, sql: str) -> int:
    conn = connect(path, read_only=True, timeout_seconds=5)
    try:
        return conn.sql(sql).fetchall()[0][0]
    finally:
        conn.close()


def _begin(store: HistoryStore, run_id: str, connection: str = ACME) -> None:
    store.begin_run(run_id=run_id, connection=connection, mode="apply", started_at=LATER)


def test_a_new_connection_has_the_empty_state(store: HistoryStore) -> None:
    loaded = store.load_state(connection=ACME)
    assert not loaded.activated
    assert _sorted(loaded).keys() == _sorted(empty_state()).keys()
    for name, frame in _sorted(empty_state()).items():
        assert _sorted(loaded)[name].equals(frame), name


def test_every_state_frame_reads_back_exactly(store: HistoryStore) -> None:
    state = _full_state()
    _begin(store, "r1")
    store.save_state(connection=ACME, run_id="r1", state=state)
    for name, frame in _sorted(state).items():
        assert _sorted(store.load_state(connection=ACME))[name].equals(frame), name


def test_saving_a_run_twice_leaves_the_same_tables_and_log(store: HistoryStore) -> None:
    _begin(store, "r1")
    store.save_state(connection=ACME, run_id="r1", state=_full_state())
    tables = ("links", "baseline", "link_changes", "baseline_changes", "deleted_huma_users")
    once = {table: _count(store.path, f"SELECT count(*) FROM {table}") for table in tables}
    store.save_state(connection=ACME, run_id="r1", state=_full_state())
    twice = {table: _count(store.path, f"SELECT count(*) FROM {table}") for table in tables}
    assert (
        once
        == twice
        == {
            "links": 3,
            "baseline": 4,
            "link_changes": 3,
            "baseline_changes": 4,
            "deleted_huma_users": 1,
        }
    )


def test_a_later_run_logs_only_what_it_changed(store: HistoryStore) -> None:
    _begin(store, "r1")
    store.save_state(connection=ACME, run_id="r1", state=_full_state())
    state = _full_state()
    moved = state_with(
        links=state.links.filter(pl.col("huma_id") != "h2"),
        baseline=state.baseline.with_columns(
            agreed=pl.when(pl.col("field") == "given_name").then(pl.lit("Anne")).otherwise("agreed")
        ).filter(pl.col("huma_id") != "h2"),
        activation=state.activation,
        deleted_huma_users=state.deleted_huma_users,
    )
    _begin(store, "r2")
    store.save_state(connection=ACME, run_id="r2", state=moved)
    store.save_state(connection=ACME, run_id="r2", state=moved)

    log = "SELECT count(*) FROM {} WHERE run_id = 'r2' AND {}"
    assert _count(store.path, log.format("baseline_changes", "NOT removed")) == 1
    assert _count(store.path, log.format("baseline_changes", "removed AND huma_id = 'h2'")) == 1
    assert _count(store.path, log.format("link_changes", "change = 'removed'")) == 1
    assert _count(store.path, log.format("link_changes", "change = 'added'")) == 0
    assert _count(store.path, "SELECT count(*) FROM activation WHERE run_id = 'r1'") == 1
    for name, frame in _sorted(moved).items():
        assert _sorted(store.load_state(connection=ACME))[name].equals(frame), name


def _night_2(populated: Populated) -> tuple[SyncState, object, pl.DataFrame, RunContext]:
    state = populated.reader.load_state(connection=ACME)
    huma, entra = acme_snapshots(2)
    context = RunContext(run_at=NIGHT_2, verified_domains=frozenset({"example.com"}))
    result = plan_run(huma, entra, state, POLICY, context)
    _, _, outcomes = apply_to_snapshots(huma, entra, result.sync_plan)
    return state, result, outcomes, context


def test_a_lazy_baseline_plans_like_the_eager_one(populated: Populated, tmp_path: Path) -> None:
    eager = populated.reader.load_state(connection=ACME)
    lazy = populated.reader.load_state(connection=ACME, baseline_dir=tmp_path)
    assert isinstance(lazy.baseline, pl.LazyFrame)
    assert (
        lazy.baseline.collect()
        .sort("huma_id", "field")
        .equals(eager.baseline.sort("huma_id", "field"))
    )
    huma, entra = acme_snapshots(2)
    context = RunContext(run_at=NIGHT_2, verified_domains=frozenset({"example.com"}))
    assert plan_run(huma, entra, lazy, POLICY, context).sync_plan.equals(
        plan_run(huma, entra, eager, POLICY, context).sync_plan
    )


@pytest.mark.parametrize("how", ["changes", "whole-eager", "whole-lazy"])
def test_every_way_of_saving_gives_the_engines_next_state(
    populated: Populated, populated_copy: HistoryStore, tmp_path: Path, how: str
) -> None:
    state, result, outcomes, context = _night_2(populated)
    applied = outcomes.select("change_id", "created_id")
    following = next_state(state, result, outcomes, context)
    changes = baseline_changes(state.baseline, result, applied)
    assert changes.height  # Ann's phone, Bo's seen city
    if how == "changes":
        saved: SyncState | StateChanges = StateChanges(
            links=following.links,
            activation=following.activation,
            deleted_huma_users=following.deleted_huma_users,
            baseline_changes=changes,
        )
    elif how == "whole-eager":
        saved = following
    else:
        lazy = populated_copy.load_state(connection=ACME, baseline_dir=tmp_path)
        saved = next_state(lazy, result, outcomes, context)
        assert isinstance(saved.baseline, pl.LazyFrame)
    populated_copy.begin_run(run_id="acme-3", connection=ACME, mode="apply", started_at=LATER)
    populated_copy.save_state(connection=ACME, run_id="acme-3", state=saved)

    loaded = _sorted(populated_copy.load_state(connection=ACME))
    expected = next_baseline(state.baseline, changes, pl.Series([], dtype=pl.String))
    assert loaded["baseline"].equals(expected.sort("huma_id", "field"))
    assert loaded["links"].equals(_sorted(following)["links"])
    logged = _count(
        populated_copy.path, "SELECT count(*) FROM baseline_changes WHERE run_id = 'acme-3'"
    )
    assert logged == changes.height


def test_removed_users_leave_the_baseline(store: HistoryStore) -> None:
    _begin(store, "r1")
    store.save_state(connection=ACME, run_id="r1", state=_full_state())
    state = _full_state()
    _begin(store, "r2")
    store.save_state(
        connection=ACME,
        run_id="r2",
        state=StateChanges(
            links=state.links,
            activation=state.activation,
            deleted_huma_users=state.deleted_huma_users,
            baseline_changes=baseline_frame([{"huma_id": "new-h1", "field": "phone"}]),
            removed_huma_ids=("h1",),
        ),
    )
    kept = store.load_state(connection=ACME).baseline
    assert isinstance(kept, pl.DataFrame)
    assert sorted(kept.get_column("huma_id").unique().to_list()) == ["h2", "new-h1"]


def test_connections_never_mix(populated: Populated) -> None:
    acme = populated.reader.load_state(connection=ACME)
    globex = populated.reader.load_state(connection=GLOBEX)
    assert acme.links.get_column("entra_id").sort().to_list() == ["e-ann", "e-bo"]
    assert globex.links.get_column("entra_id").to_list() == ["g-eve"]
    assert isinstance(globex.baseline, pl.DataFrame)
    assert globex.baseline.filter(pl.col("field") == "given_name").get_column(
        "agreed"
    ).to_list() == ["Eve"]
    assert acme.activation.item() == NIGHT_1
    assert globex.activation.item() == NIGHT_2
    assert acme.decisions.height == 1
    assert globex.decisions.height == 0


def test_a_run_saves_only_its_own_connections_state(store: HistoryStore) -> None:
    _begin(store, "g1", connection=GLOBEX)
    with pytest.raises(ValueError, match="belongs to connection 'globex'"):
        store.save_state(connection=ACME, run_id="g1", state=_full_state())


def test_decisions_are_appended_once(store: HistoryStore) -> None:
    rows = [
        {"change_id": "c1", "action": "resolve_conflict", "fields": ["phone"], "verdict": "approve"}
        | {"winner": "huma", "huma_id": "h1", "entra_id": "e1", "huma_values": '{"phone":"1"}'},
        {"change_id": "c2", "action": "create_entra", "fields": [], "verdict": "reject"},
    ]
    decided = decisions_frame(rows)
    assert store.record_decisions(connection=ACME, decisions=decided) == 2
    assert store.record_decisions(connection=ACME, decisions=decided) == 0
    assert store.decisions(connection=ACME).equals(decided)
    assert store.decisions(connection=GLOBEX).height == 0
    assert store.load_state(connection=ACME).decisions.equals(decided)
