"""A targeted run (`RunContext.targeted`): both snapshots hold only the users some webhooks named.

Pins: the users not read are never missing (no deletion notices, no re-creation offers, no
"left" Entra users, nothing stored as a deletion); a small snapshot does not trip the snapshot
guard's shrink; the mass-change guard counts the run's changes against the last full snapshot's
size, so one changed user passes and a flood naming everyone still trips; Entra-only users found
by a named user's email wait for the full run; a named Huma-only user is still created.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from reconcile.engine import PlanResult, plan_run
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from reconcile.vocabulary import (
    AUTO_APPROVED,
    BLOCKED,
    CREATE_ENTRA,
    GUARD_MASS_CHANGE,
    UPDATE_ENTRA,
)
from tests.reconcile.plan_helpers import CONTEXT
from tests.reference.builders import (
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)

POPULATION = 100
POLICY = Policy(create_entra_users_automatically=True)
TARGETED = replace(
    CONTEXT, targeted=True, previous_huma_count=POPULATION, previous_entra_count=POPULATION
)


def _linked_state(count: int):
    """`count` linked pairs h{i} ↔ e{i} agreeing on the phone +47{i}0."""
    return state_with(
        links=links_frame(*((f"h{i}", f"e{i}") for i in range(count))),
        baseline=baseline_frame(
            {"huma_id": f"h{i}", "field": "phone", "agreed": f"+47{i}0"} for i in range(count)
        ),
    )


def _read(named: range, *, new_phone: bool = True) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The two targeted snapshots of the named pairs: a new phone in Huma when `new_phone`."""
    huma = huma_frame(
        *(
            huma_user(
                f"h{i}",
                f"u{i}@example.com",
                phone=f"+47{i}{'9' if new_phone else '0'}",
                employment_id=f"E{i}",
            )
            for i in named
        )
    )
    entra = entra_frame(
        *(
            entra_user(f"e{i}", f"u{i}@example.com", phone=f"+47{i}0", employment_id=f"E{i}")
            for i in named
        )
    )
    return huma, entra


def _plan(named: range, context=TARGETED, policy: Policy = POLICY) -> PlanResult:
    huma, entra = _read(named)
    return plan_run(huma, entra, _linked_state(POPULATION), policy, context)


def test_one_named_user_is_updated_and_nobody_else_is_missing_or_deleted() -> None:
    result = _plan(range(3, 4))
    plan = result.sync_plan
    assert plan.select("action", "huma_id", "status").rows() == [
        (UPDATE_ENTRA, "h3", AUTO_APPROVED)
    ]
    assert result.notices.is_empty(), result.notices
    assert result.guard_trips.is_empty(), result.guard_trips


def test_the_same_snapshots_read_as_a_full_run_would_report_everyone_else_gone() -> None:
    """The control: without `targeted`, the 99 unread pairs are deletions and the guard trips."""
    result = _plan(range(3, 4), context=replace(TARGETED, targeted=False))
    assert result.notices.height >= POPULATION - 1
    assert result.guard_trips.height > 0


def test_a_targeted_run_stores_no_deletion_and_keeps_every_link() -> None:
    result = _plan(range(3, 4))
    state = _linked_state(POPULATION)
    outcomes = pl.DataFrame(schema=APPLY_OUTCOMES_SCHEMA)
    after = next_state(state, result, outcomes, TARGETED)
    assert after.deleted_huma_users.is_empty()
    assert after.links.height == POPULATION
    unread = pl.col("huma_id") != "h3"
    assert (
        after.baseline.filter(unread)
        .sort("huma_id")
        .equals(state.baseline.filter(unread).sort("huma_id"))
    )


def test_a_flood_naming_everyone_trips_the_mass_change_guard() -> None:
    policy = replace(POLICY, mass_change_max_share=0.2, mass_change_min_users=5)
    result = _plan(range(POPULATION), policy=policy)
    assert result.guard_trips.get_column("guard").to_list() == [GUARD_MASS_CHANGE]
    writes = result.sync_plan.filter(pl.col("action") == UPDATE_ENTRA)
    assert writes.height == POPULATION
    assert set(writes.get_column("status")) == {BLOCKED}


def test_a_burst_below_the_share_of_the_population_passes() -> None:
    """Ten of a hundred (10 %) under a 20 % share: read alone, the ten would be 100 %."""
    policy = replace(POLICY, mass_change_max_share=0.2, mass_change_min_users=5)
    result = _plan(range(10), policy=policy)
    assert result.guard_trips.is_empty(), result.guard_trips
    assert set(result.sync_plan.get_column("status")) == {AUTO_APPROVED}


def test_an_entra_user_found_by_email_without_its_huma_side_waits_for_the_full_run() -> None:
    """The webhook named a Huma user now gone (404): its email found an unlinked Entra user."""
    entra = entra_frame(entra_user("e-new", "gone@example.com"))
    result = plan_run(huma_frame(), entra, _linked_state(POPULATION), POLICY, TARGETED)
    assert result.sync_plan.is_empty(), result.sync_plan
    assert result.notices.is_empty()


def test_a_named_huma_only_user_is_created_in_entra() -> None:
    huma = huma_frame(huma_user("h-new", "new.person@example.com"))
    result = plan_run(huma, entra_frame(), _linked_state(POPULATION), POLICY, TARGETED)
    assert result.sync_plan.select("action", "huma_id", "status").rows() == [
        (CREATE_ENTRA, "h-new", AUTO_APPROVED)
    ]


def test_a_named_user_deleted_in_entra_is_left_to_the_full_run() -> None:
    """Read by its link's object id and not found: a targeted run reports no deletion."""
    huma, _ = _read(range(3, 4))
    result = plan_run(huma, entra_frame(), _linked_state(POPULATION), POLICY, TARGETED)
    assert result.notices.is_empty(), result.notices
    assert result.sync_plan.is_empty()
