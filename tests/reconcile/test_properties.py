"""Properties of planning over generated worlds (Hypothesis).

Pins, for any two small snapshots, kept state and policy: planning is deterministic (and depends
neither on row order nor on the baseline being held in memory or scanned lazily); applying the
auto-approved rows and planning again yields no auto-approved row (convergence; a link whose
Entra account was reported deleted takes one run more); no row deletes
anything, writes `employeeId` to Entra, touches a locked user, or, approved as it stands, makes
two Huma users share an email, phone or employment ID; for linked users the engine plans exactly
what an independent plain-Python reading of the rules plans.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

import polars as pl
import pytest
from hypothesis import given

from reconcile.bodies import graph_create_body, graph_patch_body
from reconcile.engine import PlanResult, plan_run
from reconcile.frames import EMPLOYMENT_ID
from reconcile.next_state import next_state
from reconcile.policy import Policy
from reconcile.state import SyncState
from reconcile.vocabulary import (
    ACTIONS,
    APPROVED,
    AUTO_APPROVED,
    BLOCKED,
    CREATE_ENTRA,
    ENTRA_TO_HUMA,
    HUMA_TO_ENTRA,
    NOTICE_DELETED_IN_ENTRA,
    REJECTED,
    RESOLVE_CONFLICT,
)
from tests.reconcile.plan_helpers import CONTEXT
from tests.reconcile.worlds import EXAMPLES, worlds
from tests.reference.simulation import apply_to_snapshots

pytestmark = pytest.mark.slow


def _plan(world: tuple[pl.DataFrame, pl.DataFrame, SyncState, Policy]) -> PlanResult:
    huma, entra, state, policy = world
    return plan_run(huma, entra, state, policy, CONTEXT)


@EXAMPLES
@given(worlds())
def test_planning_is_deterministic(world: Any) -> None:
    first, second = _plan(world), _plan(world)
    huma, entra, state, policy = world
    reversed_rows = plan_run(huma.reverse(), entra.reverse(), state, policy, CONTEXT)
    lazy_state = replace(state, baseline=state.baseline.lazy())
    from_storage = plan_run(huma, entra, lazy_state, policy, CONTEXT)

    for name in ("validation_failures", "field_diffs", "conflicts", "sync_plan", "notices"):
        assert getattr(first, name).equals(getattr(second, name)), name
    assert first.sync_plan.equals(reversed_rows.sync_plan)
    assert first.sync_plan.equals(from_storage.sync_plan)


@EXAMPLES
@given(worlds())
def test_applying_the_automatic_rows_converges(world: Any) -> None:
    huma, entra, state, policy = world
    result = _plan(world)

    huma_after, entra_after, outcomes = apply_to_snapshots(huma, entra, result.sync_plan)
    later = next_state(state, result, outcomes, CONTEXT)
    again = plan_run(huma_after, entra_after, later, policy, CONTEXT)

    # The one automatic row a second run may add: the link whose Entra account the first run
    # reported deleted has ended (SPEC §4), so its Huma user is on one side only and, when the
    # policy creates users automatically, is created in Entra (SPEC §6). Applied, that settles too.
    gone_from_entra = result.notices.filter(pl.col("kind") == NOTICE_DELETED_IN_ENTRA)
    automatic = again.sync_plan.filter(pl.col("status") == AUTO_APPROVED)
    assert automatic.filter(
        (pl.col("action") != CREATE_ENTRA)
        | ~pl.col("huma_id").is_in(gone_from_entra.get_column("huma_id").implode())
    ).is_empty(), again.sync_plan
    huma_last, entra_last, outcomes = apply_to_snapshots(huma_after, entra_after, again.sync_plan)
    last = next_state(later, again, outcomes, CONTEXT)
    settled = plan_run(huma_last, entra_last, last, policy, CONTEXT)
    assert settled.sync_plan.filter(pl.col("status") == AUTO_APPROVED).is_empty(), settled.sync_plan


@EXAMPLES
@given(worlds())
def test_no_row_deletes_writes_employee_id_to_entra_or_touches_a_locked_user(world: Any) -> None:
    huma, _, state, _ = world
    plan = _plan(world).sync_plan
    locked = set(huma.filter(~pl.col("active")).get_column("huma_id"))
    locked_entra = set(
        state.links.filter(pl.col("huma_id").is_in(sorted(locked))).get_column("entra_id")
    )

    assert set(plan.get_column("action")) <= set(ACTIONS)
    for row in plan.iter_rows(named=True):
        assert row["huma_id"] not in locked
        assert row["entra_id"] not in locked_entra
        if row["direction"] == HUMA_TO_ENTRA or row["action"] == RESOLVE_CONFLICT:
            assert EMPLOYMENT_ID not in row["fields"]
        if row["direction"] == HUMA_TO_ENTRA:
            body = (
                graph_create_body(row, password="x")
                if row["action"] == CREATE_ENTRA
                else graph_patch_body(row)
            )
            assert "employeeId" not in body


def _holders(huma: pl.DataFrame) -> dict[tuple[str, str], set[str]]:
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in huma.iter_rows(named=True):
        for key in ("email_key", "phone", EMPLOYMENT_ID):
            if row[key] is not None:
                holders[key, row[key]].add(row["huma_id"])
    return holders


@EXAMPLES
@given(worlds())
def test_approving_the_plan_as_it_stands_never_makes_huma_users_share_a_key(world: Any) -> None:
    huma, entra, _, _ = world
    plan = _plan(world).sync_plan.filter(~pl.col("status").is_in([BLOCKED, REJECTED]))
    # Every question answered in Entra's favour: the most Huma writes the plan can lead to.
    approved = plan.with_columns(
        status=pl.lit(APPROVED),
        direction=pl.coalesce("direction", pl.lit(ENTRA_TO_HUMA)),
        to_values=pl.coalesce("to_values", "entra_values"),
    ).filter(pl.col("direction") == ENTRA_TO_HUMA)

    huma_after, _, _ = apply_to_snapshots(huma, entra, approved)

    before = _holders(huma)
    for key, users in _holders(huma_after).items():
        if len(users) > 1:
            assert users == before[key], (key, users)
