"""Planning outputs: the six frames of a real plan read back 1:1; recording a run's plan again
replaces it, never duplicates it; plan rows keep their status history (planned, then what the apply
step reported) and the plan reads back with each row's latest status."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from reconcile.context import RunContext
from reconcile.engine import PlanResult, plan_run
from reconcile.policy import Policy
from reconcile.state import empty_state
from resources.history import HistoryStore
from resources.history.tables import OUTPUT_TABLES
from tests.history.conftest import Populated
from tests.history.scenario import NIGHT_1, NIGHT_2
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user


def _rich_plan() -> PlanResult:
    """A first sync with something in every output but conflicts: a validation failure (shared
    phone), an inconsistency, creates both ways, a locked user, a snapshot-shrink trip."""
    huma = huma_frame(
        huma_user("h1", "ann@example.com", given_name="Anne", employment_id="E1"),
        huma_user("h2", "bo@example.com", employment_id="E2", phone="+4711"),
        huma_user("h3", "cy@example.com", employment_id="E3", phone="+4711"),
        huma_user("h4", "di@example.com", employment_id="E4", phone="+4744"),
        huma_user("h7", "gus@example.com", employment_id="E7", phone="+4777", active=False),
    )
    entra = entra_frame(
        entra_user("e1", "ann@example.com", given_name="Ann", employment_id="E1"),
        entra_user("e5", "eve@example.com", employment_id="E5", phone="+4755"),
        entra_user("e7", "gus@example.com", employment_id="E7", phone="+4777"),
    )
    context = RunContext(
        run_at=NIGHT_1, verified_domains=frozenset({"example.com"}), previous_huma_count=100
    )
    return plan_run(huma, entra, empty_state(), Policy(), context)


def test_every_output_reads_back_exactly(store: HistoryStore) -> None:
    plan = _rich_plan()
    assert all(getattr(plan, table).height for table in OUTPUT_TABLES if table != "conflicts")
    store.begin_run(run_id="r1", connection="acme", mode="dry_run", started_at=NIGHT_1)
    store.record_plan(run_id="r1", plan=plan)
    for table in OUTPUT_TABLES:
        assert store.run_frame(run_id="r1", table=table).equals(getattr(plan, table)), table
    record = store.run(run_id="r1")
    assert record is not None
    assert record.plan_rows == plan.sync_plan.height


def test_conflicts_read_back_exactly(populated: Populated) -> None:
    conflicts = populated.acme_2.result.conflicts
    assert conflicts.height == 1
    assert populated.reader.run_frame(run_id="acme-2", table="conflicts").equals(conflicts)


def test_recording_a_plan_again_replaces_it(store: HistoryStore) -> None:
    plan = _rich_plan()
    store.begin_run(run_id="r1", connection="acme", mode="apply", started_at=NIGHT_1)
    store.record_plan(run_id="r1", plan=plan)
    store.record_plan(run_id="r1", plan=plan)
    for table in OUTPUT_TABLES:
        assert store.run_frame(run_id="r1", table=table).height == getattr(plan, table).height
    assert store.status_history(run_id="r1").height == plan.sync_plan.height


def test_an_unknown_table_is_refused(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match="table must be one of"):
        store.run_frame(run_id="r1", table="runs; DROP TABLE runs")


def test_plan_rows_keep_their_status_history(store: HistoryStore) -> None:
    plan = _rich_plan()
    store.begin_run(run_id="r1", connection="acme", mode="apply", started_at=NIGHT_1)
    store.record_plan(run_id="r1", plan=plan)
    first, second = plan.sync_plan.get_column("change_id").head(2).to_list()
    later = NIGHT_1 + timedelta(minutes=2)
    changes = pl.DataFrame(
        {
            "change_id": [first, second],
            "status": ["applied", "failed"],
            "changed_at": [later, later],
            "reason": [None, "graph answered 400 Request_BadRequest"],
        },
        schema_overrides={"changed_at": pl.Datetime("us", "UTC")},
    )
    assert store.record_statuses(run_id="r1", changes=changes) == 2
    assert store.record_statuses(run_id="r1", changes=changes) == 0  # the same report again

    history = store.status_history(run_id="r1").filter(pl.col("change_id") == second)
    assert history.get_column("status").to_list() == [
        plan.sync_plan.filter(pl.col("change_id") == second).item(0, "status"),
        "failed",
    ]
    assert history.get_column("reason").to_list() == [
        "planned",
        "graph answered 400 Request_BadRequest",
    ]
    current = store.plan_with_statuses(run_id="r1")
    assert (
        current.select(plan.sync_plan.columns).drop("status").equals(plan.sync_plan.drop("status"))
    )
    by_id = dict(zip(current["change_id"], current["status"], strict=True))
    assert (by_id[first], by_id[second]) == ("applied", "failed")
    assert current.get_column("planned_status").equals(
        plan.sync_plan.get_column("status"), check_names=False
    )


def test_a_status_change_may_leave_out_its_time_and_reason(populated: Populated) -> None:
    applied = populated.acme_2.outcomes.get_column("change_id").to_list()
    current = populated.reader.plan_with_statuses(run_id="acme-2")
    assert current.filter(pl.col("status") == "applied").get_column("change_id").to_list() == (
        applied
    )
    assert current.filter(pl.col("change_id").is_in(applied)).get_column(
        "status_changed_at"
    ).to_list() == [NIGHT_2 + timedelta(minutes=3)]


def test_status_changes_without_a_time_are_stamped_now(store: HistoryStore) -> None:
    plan = _rich_plan()
    store.begin_run(run_id="r1", connection="acme", mode="apply", started_at=NIGHT_1)
    store.record_plan(run_id="r1", plan=plan)
    change_id = plan.sync_plan.item(0, "change_id")
    store.record_statuses(
        run_id="r1", changes=pl.DataFrame({"change_id": [change_id], "status": ["stale"]})
    )
    history = store.status_history(run_id="r1").filter(pl.col("change_id") == change_id)
    assert history.get_column("status").to_list()[-1] == "stale"
    assert history.get_column("changed_at").to_list()[-1] > NIGHT_1
