"""The state kept after a run: B advances only where both sides agree after the writes.

Pins: in-sync fields become agreed; a difference records both sides as seen and leaves B alone
until a write reported `applied` makes the sides equal (a failed or unattempted write changes
nothing); a position push not yet applied is pushed again next run; creates link their new user
(and agree on what they sent); a re-created Huma user takes over the deleted one's link; deletions
in Huma are remembered once; locked pairs and unknown fields keep their rows; the activation is
stamped once; a run stopped by the snapshot guard leaves the state as it was.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl
import pytest

from reconcile.engine import PlanResult, plan_run
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from reconcile.state import SyncState, empty_state
from reconcile.vocabulary import APPLIED, CREATE_ENTRA, FAILED, UPDATE_ENTRA
from tests.reconcile.plan_helpers import CONTEXT, plan_pair
from tests.reference.builders import (
    RUN_AT,
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    state_with,
)
from tests.reference.simulation import apply_to_snapshots

_NO_OUTCOMES = pl.DataFrame(schema=APPLY_OUTCOMES_SCHEMA)


def _outcomes(result: PlanResult, status: str, created_id: str | None = None) -> pl.DataFrame:
    return result.sync_plan.select(
        "change_id",
        pl.lit(status).alias("status"),
        pl.lit(created_id, pl.String).alias("created_id"),
        pl.lit(None, pl.String).alias("error"),
    )


def _row(state: SyncState, field: str, huma_id: str = "h1") -> dict[str, Any]:
    rows = state.baseline.filter((pl.col("huma_id") == huma_id) & (pl.col("field") == field))
    assert rows.height == 1, state.baseline
    return rows.row(0, named=True)


def _state_after(
    result: PlanResult,
    outcomes: pl.DataFrame = _NO_OUTCOMES,
    baseline: list[dict[str, Any]] | None = None,
) -> SyncState:
    """The next state of a plan made for the default pair with these baseline rows."""
    kept = state_with(links=result.user_links, baseline=_baseline(baseline or []))
    return next_state(kept, result, outcomes, CONTEXT)


def test_a_first_run_agrees_on_every_field_in_sync_and_stamps_the_activation() -> None:
    result = plan_run(
        huma_frame(huma_user()), entra_frame(entra_user()), empty_state(), Policy(), CONTEXT
    )

    state = next_state(empty_state(), result, _NO_OUTCOMES, CONTEXT)

    assert state.links.select("huma_id", "entra_id", "linked_by").rows() == [("h1", "e1", "email")]
    assert state.baseline.height == 7
    assert state.baseline.get_column("has_agreed").all()
    assert _row(state, "hire_date")["agreed"] == "2020-01-01"
    assert state.activation.rows() == [(RUN_AT,)]
    assert state.activated
    assert not empty_state().activated


def test_a_difference_is_seen_but_not_agreed() -> None:
    state = _state_after(plan_pair({"phone": "+47 1"}, {"phone": "+47 2"}))

    assert _row(state, "phone") == {
        "huma_id": "h1",
        "field": "phone",
        "has_agreed": False,
        "agreed": None,
        "huma_seen": "+47 1",
        "entra_seen": "+47 2",
    }


@pytest.mark.parametrize(
    ("status", "agreed"),
    [
        pytest.param(APPLIED, "+47 2", id="applied-advances"),
        pytest.param(FAILED, "+47 1", id="failed-does-not"),
        pytest.param(None, "+47 1", id="unattempted-does-not"),
    ],
)
def test_b_advances_only_when_the_write_was_applied(status: str | None, agreed: str) -> None:
    agreed_before = [{"field": "phone", "agreed": "+47 1"}]
    result = plan_pair({"phone": "+47 2"}, {"phone": "+47 1"}, agreed_before)
    outcomes = _NO_OUTCOMES if status is None else _outcomes(result, status)

    state = _state_after(result, outcomes, agreed_before)

    assert _row(state, "phone")["agreed"] == agreed
    assert _row(state, "phone")["has_agreed"]


def test_an_unapplied_position_push_is_pushed_again_next_run() -> None:
    seen = [{"field": "job_title", "has_agreed": False, "huma_seen": "Engineer"}]
    result = plan_pair({"job_title": "Lead"}, {"job_title": "Boss"}, seen)
    assert result.sync_plan.get_column("action").to_list() == [UPDATE_ENTRA]

    kept = _state_after(result, baseline=seen)

    assert _row(kept, "job_title")["huma_seen"] == "Engineer"
    again = plan_pair({"job_title": "Lead"}, {"job_title": "Boss"}, [_row(kept, "job_title")])
    assert again.sync_plan.get_column("action").to_list() == [UPDATE_ENTRA]


def _baseline(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return baseline_frame({"huma_id": "h1", **row} for row in rows)


def test_a_create_links_its_user_and_agrees_on_what_it_sent() -> None:
    huma = huma_frame(huma_user(employment_id="E1"))
    result = plan_run(huma, entra_frame(), empty_state(), Policy(), CONTEXT)
    assert result.sync_plan.get_column("action").to_list() == [CREATE_ENTRA]

    state = next_state(empty_state(), result, _outcomes(result, APPLIED, "new-e"), CONTEXT)

    assert state.links.select("huma_id", "entra_id", "linked_by").rows() == [
        ("h1", "new-e", CREATE_ENTRA)
    ]
    assert set(state.baseline.get_column("field")) == {
        "given_name",
        "family_name",
        "phone",
        "address",
        "hire_date",
        "job_title",
    }


def test_a_create_whose_followup_failed_is_linked_without_agreement() -> None:
    policy = Policy(huma_default_group_id="group-1")
    result = plan_run(huma_frame(), entra_frame(entra_user()), empty_state(), policy, CONTEXT)

    state = next_state(empty_state(), result, _outcomes(result, FAILED, "new-h"), CONTEXT)

    assert state.links.select("huma_id", "entra_id").rows() == [("new-h", "e1")]
    assert state.baseline.height == 0


def test_a_recreated_user_takes_over_the_link_and_the_deletion_is_remembered() -> None:
    first = plan_run(
        huma_frame(huma_user()), entra_frame(entra_user()), empty_state(), Policy(), CONTEXT
    )
    before = next_state(empty_state(), first, _NO_OUTCOMES, CONTEXT)
    policy = Policy(huma_default_group_id="group-1")
    later = replace(CONTEXT, run_at=CONTEXT.run_at.replace(day=2))

    gone = plan_run(huma_frame(), entra_frame(entra_user()), before, policy, later)
    after = next_state(before, gone, _outcomes(gone, APPLIED, "h-new"), later)

    assert after.links.select("huma_id", "entra_id", "linked_by").rows() == [
        ("h-new", "e1", "recreate_huma")
    ]
    assert set(after.baseline.get_column("huma_id")) == {"h-new"}
    assert after.deleted_huma_users.select("huma_id", "detected_at").rows() == [
        ("h1", later.run_at)
    ]
    again = next_state(after, gone, _NO_OUTCOMES, later)
    assert again.deleted_huma_users.height == 1
    assert after.activation.rows() == [(RUN_AT,)]


@pytest.mark.parametrize(
    ("huma", "entra"),
    [
        pytest.param({"active": False, "phone": "+47 9"}, {}, id="locked"),
        pytest.param({"phone": "+47 9"}, {"unknown_fields": ["phone"]}, id="unknown"),
    ],
)
def test_locked_pairs_and_unknown_fields_keep_their_rows(
    huma: dict[str, Any], entra: dict[str, Any]
) -> None:
    agreed = [{"field": "phone", "agreed": "+4790000001"}]
    result = plan_pair(huma, entra, agreed)

    state = _state_after(result, baseline=agreed)

    assert _row(state, "phone")["agreed"] == "+4790000001"
    assert _row(state, "phone")["huma_seen"] == "+4790000001"


def test_a_run_stopped_by_the_snapshot_guard_leaves_the_state_as_it_was() -> None:
    context = replace(CONTEXT, huma_partial=True)
    result = plan_run(
        huma_frame(huma_user()), entra_frame(entra_user()), empty_state(), Policy(), context
    )

    state = empty_state()

    assert next_state(state, result, _NO_OUTCOMES, context) is state


def test_a_simulated_apply_converges_in_one_run() -> None:
    huma = huma_frame(huma_user(phone="+47 1"))
    entra = entra_frame(entra_user(phone=None))
    policy = Policy()
    result = plan_run(huma, entra, empty_state(), policy, CONTEXT)
    huma, entra, outcomes = apply_to_snapshots(huma, entra, result.sync_plan)

    state = next_state(empty_state(), result, outcomes, CONTEXT)

    assert _row(state, "phone")["agreed"] == "+47 1"
    assert plan_run(huma, entra, state, policy, CONTEXT).sync_plan.height == 0


def test_a_lazy_baseline_gives_the_same_next_baseline_lazily() -> None:
    agreed = [{"field": "phone", "agreed": "+47 1"}, {"field": "job_title", "agreed": "Boss"}]
    result = plan_pair({"phone": "+47 2"}, {"phone": "+47 1"}, agreed)
    eager = state_with(links=result.user_links, baseline=_baseline(agreed))
    lazy = replace(eager, baseline=eager.baseline.lazy())
    outcomes = _outcomes(result, APPLIED)

    from_memory = next_state(eager, result, outcomes, CONTEXT).baseline
    from_storage = next_state(lazy, result, outcomes, CONTEXT).baseline

    assert isinstance(from_storage, pl.LazyFrame)
    assert from_storage.collect().sort("field").equals(from_memory.sort("field"))
    assert _row(replace(eager, baseline=from_memory), "phone")["agreed"] == "+47 2"
