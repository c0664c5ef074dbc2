"""Runs: begun and finished records, a re-begun run id starting afresh, a run id never shared by two
connections, listings newest first, the latest finished run, and the snapshot sizes the snapshot
guard compares with (partial snapshots never serve as the comparison)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconcile.engine import plan_run
from reconcile.policy import Policy
from reconcile.state import RunContext, empty_state
from resources.history import HistoryStore, PreviousSnapshots
from tests.history.conftest import Populated
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def _night(store: HistoryStore, run_id: str, day: int, *, huma: int, entra: int, **flags) -> None:
    store.begin_run(run_id=run_id, connection="acme", mode="apply", started_at=T0 + timedelta(day))
    users = [huma_user(f"h{i}", f"u{i}@example.com") for i in range(huma)]
    store.record_snapshot(
        run_id=run_id,
        side="huma",
        users=huma_frame(*users),
        complete=not flags.get("huma_partial", False),
    )
    accounts = [entra_user(f"e{i}", f"u{i}@example.com") for i in range(entra)]
    store.record_snapshot(
        run_id=run_id,
        side="entra",
        users=entra_frame(*accounts),
        complete=not flags.get("entra_partial", False),
    )
    # The run planned (no guard stopped it): only such a run's sizes are ever compared with.
    context = RunContext(run_at=T0 + timedelta(day))
    plan = plan_run(huma_frame(*users), entra_frame(*accounts), empty_state(), Policy(), context)
    store.record_plan(run_id=run_id, plan=plan)


def test_a_run_is_begun_then_finished(store: HistoryStore) -> None:
    store.begin_run(
        run_id="r1", connection="acme", mode="apply", started_at=T0, dagster_run_id="dg-1"
    )
    running = store.run(run_id="r1")
    assert running is not None
    assert (running.connection, running.mode, running.started_at, running.ended_at) == (
        "acme",
        "apply",
        T0,
        None,
    )
    store.finish_run(
        run_id="r1",
        outcome="failed",
        ended_at=T0 + timedelta(minutes=3),
        summary={"applied": 3, "failed": 1},
        report_path="reports/r1.html",
        email_status="sent",
        error="graph answered 403 Authorization_RequestDenied",
    )
    done = store.run(run_id="r1")
    assert done is not None
    assert done.summary == {"applied": 3, "failed": 1}
    assert (done.outcome, done.ended_at, done.report_path, done.email_status) == (
        "failed",
        T0 + timedelta(minutes=3),
        "reports/r1.html",
        "sent",
    )
    assert done.dagster_run_id == "dg-1"
    assert done.error == "graph answered 403 Authorization_RequestDenied"


def test_beginning_a_run_again_starts_its_record_afresh(store: HistoryStore) -> None:
    store.begin_run(run_id="r1", connection="acme", mode="apply", started_at=T0)
    store.finish_run(run_id="r1", outcome="failed", ended_at=T0 + timedelta(minutes=1))
    store.begin_run(run_id="r1", connection="acme", mode="apply", started_at=T0)
    again = store.run(run_id="r1")
    assert again is not None
    assert (again.outcome, again.ended_at) == (None, None)
    assert store.runs(connection="acme").height == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"mode": "wet_run"}, "mode must be one of", id="unknown-mode"),
        pytest.param({"started_at": datetime(2026, 3, 1)}, "timezone-aware", id="naive-time"),
        pytest.param({"mode": "rollback"}, "rollback_of is required", id="rollback-of-nothing"),
        pytest.param({"rollback_of": "r0"}, "only for one", id="apply-with-rollback-of"),
        pytest.param({"connection": "globex"}, "already used by connection", id="other-connection"),
    ],
)
def test_a_bad_run_is_refused(store: HistoryStore, arguments: dict, message: str) -> None:
    store.begin_run(run_id="r1", connection="acme", mode="apply", started_at=T0)
    run = {"run_id": "r1", "connection": "acme", "mode": "apply", "started_at": T0} | arguments
    with pytest.raises(ValueError, match=message):
        store.begin_run(**run)


def test_a_rollback_names_the_run_it_undoes(store: HistoryStore) -> None:
    store.begin_run(
        run_id="r2", connection="acme", mode="rollback", started_at=T0, rollback_of="r1"
    )
    record = store.run(run_id="r2")
    assert record is not None
    assert (record.mode, record.rollback_of) == ("rollback", "r1")


def test_writes_of_a_run_never_begun_are_refused(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match="never begun"):
        store.finish_run(run_id="nope", outcome="succeeded", ended_at=T0)
    with pytest.raises(ValueError, match="never begun"):
        store.record_snapshot(run_id="nope", side="huma", users=huma_frame())


def test_runs_are_listed_newest_first_per_connection(populated: Populated) -> None:
    listed = populated.reader.runs(connection="acme")
    assert listed.get_column("run_id").to_list() == ["acme-2", "acme-1"]
    assert populated.reader.runs(connection="acme", limit=1).get_column("run_id").to_list() == [
        "acme-2"
    ]
    assert populated.reader.runs(connection="globex").get_column("run_id").to_list() == ["globex-1"]
    assert populated.reader.run(run_id="missing") is None


def test_the_latest_finished_run_is_found_by_mode_and_outcome(store: HistoryStore) -> None:
    for day, (run_id, mode) in enumerate([("a", "apply"), ("d", "dry_run"), ("b", "apply")]):
        store.begin_run(run_id=run_id, connection="acme", mode=mode, started_at=T0 + timedelta(day))
        store.finish_run(
            run_id=run_id,
            outcome="succeeded" if run_id != "b" else "failed",
            ended_at=T0 + timedelta(day, minutes=5),
        )
    store.begin_run(run_id="c", connection="acme", mode="apply", started_at=T0 + timedelta(9))

    def latest(**filters: str) -> str | None:
        found = store.latest_run(connection="acme", **filters)
        return found.run_id if found else None

    assert latest() == "b"  # "c" has not finished
    assert latest(outcome="succeeded") == "a"
    assert latest(mode="dry_run") == "d"
    assert store.latest_run(connection="globex") is None


def test_previous_snapshots_skip_partial_ones_and_later_runs(store: HistoryStore) -> None:
    assert store.previous_snapshots(connection="acme") == PreviousSnapshots(
        None, None, None, last_huma_partial=False, last_entra_partial=False
    )
    _night(store, "n1", 0, huma=5, entra=6)
    _night(store, "n2", 1, huma=2, entra=7, huma_partial=True)
    _night(store, "n3", 2, huma=9, entra=9)

    assert store.previous_snapshots(connection="acme", before_run_id="n3") == PreviousSnapshots(
        huma_count=5,
        entra_count=7,
        last_run_id="n2",
        last_huma_partial=True,
        last_entra_partial=False,
        huma_run_id="n1",
        entra_run_id="n2",
    )
    latest = store.previous_snapshots(connection="acme")
    assert (latest.huma_count, latest.entra_count, latest.last_run_id) == (9, 9, "n3")
    assert store.previous_snapshots(connection="globex").huma_count is None
