"""The mass-change and snapshot guards (SPEC §7): they stop the writes and say why.

Pins: a run writing to more than the policy's share (and count) of users has every writable row
blocked with the guard's reason while questions stay pending; a partial snapshot, or one that
shrank more than the policy allows, blocks every row that could be written or asked; below the
thresholds nothing trips; an explicit override lets the run through and is still reported.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl
import pytest

from reconcile.context import RunContext
from reconcile.engine import PlanResult, plan_run
from reconcile.policy import Policy
from reconcile.vocabulary import (
    AUTO_APPROVED,
    BLOCKED,
    GUARD_MASS_CHANGE,
    GUARD_SNAPSHOT_PARTIAL,
    GUARD_SNAPSHOT_SHRINK,
    PENDING,
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

_USERS = 4


def _plan(changed: int, policy: dict[str, Any], context: RunContext = CONTEXT) -> PlanResult:
    """Four linked users; the first `changed` have a new phone in Huma; one more is Huma-only."""
    huma = [
        huma_user(
            f"h{i}",
            f"u{i}@example.com",
            phone=f"+47{i}{'9' if i < changed else '0'}",
            employment_id=f"E{i}",
        )
        for i in range(_USERS)
    ]
    entra = [
        entra_user(f"e{i}", f"u{i}@example.com", phone=f"+47{i}0", employment_id=f"E{i}")
        for i in range(_USERS)
    ]
    baseline = baseline_frame(
        {"huma_id": f"h{i}", "field": "phone", "agreed": f"+47{i}0"} for i in range(_USERS)
    )
    state = state_with(
        links=links_frame(*((f"h{i}", f"e{i}") for i in range(_USERS))), baseline=baseline
    )
    newcomer = huma_user("h9", "new@example.com", phone="+4799", employment_id="E9")
    return plan_run(
        huma_frame(*huma, newcomer), entra_frame(*entra), state, Policy(**policy), context
    )


def _statuses(result: PlanResult) -> list[str]:
    return sorted(result.sync_plan.get_column("status").to_list())


def test_a_mass_change_blocks_the_writes_but_keeps_the_questions() -> None:
    result = _plan(3, {"mass_change_max_share": 0.5, "mass_change_min_users": 1})

    trip = result.guard_trips.row(0, named=True)
    assert (trip["guard"], trip["overridden"]) == (GUARD_MASS_CHANGE, False)
    assert trip["observed"] > trip["threshold"]
    assert _statuses(result) == [BLOCKED] * 3 + [PENDING]
    blocked = result.sync_plan.filter(pl.col("status") == BLOCKED)
    assert blocked.get_column("blocked_reason").str.contains("would change 3 of 5 users").all()
    assert result.writes_stopped


@pytest.mark.parametrize(
    ("changed", "policy"),
    [
        pytest.param(2, {"mass_change_max_share": 0.5, "mass_change_min_users": 1}, id="share"),
        pytest.param(3, {"mass_change_max_share": 0.5, "mass_change_min_users": 3}, id="count"),
    ],
)
def test_below_either_threshold_nothing_trips(changed: int, policy: dict[str, Any]) -> None:
    result = _plan(changed, policy)

    assert result.guard_trips.height == 0
    assert _statuses(result) == [AUTO_APPROVED] * changed + [PENDING]


def test_an_override_lets_a_mass_change_through_and_reports_it() -> None:
    context = replace(
        CONTEXT,
        guard_overrides=frozenset({GUARD_MASS_CHANGE}),
        overridden_by="kari",
        override_reason="the reorganisation is real",
    )

    result = _plan(3, {"mass_change_max_share": 0.5, "mass_change_min_users": 1}, context)

    assert result.guard_trips.select("guard", "overridden").rows() == [(GUARD_MASS_CHANGE, True)]
    assert _statuses(result) == [AUTO_APPROVED] * 3 + [PENDING]
    assert not result.writes_stopped


@pytest.mark.parametrize(
    ("context", "guard"),
    [
        pytest.param(replace(CONTEXT, huma_partial=True), GUARD_SNAPSHOT_PARTIAL, id="partial"),
        pytest.param(
            replace(CONTEXT, previous_entra_count=_USERS * 2), GUARD_SNAPSHOT_SHRINK, id="shrank"
        ),
    ],
)
def test_an_untrustworthy_snapshot_blocks_every_write_and_question(
    context: RunContext, guard: str
) -> None:
    result = _plan(1, {}, context)

    assert result.guard_trips.get_column("guard").to_list() == [guard]
    assert _statuses(result) == [BLOCKED, BLOCKED]
    assert result.sync_plan.get_column("blocked_reason").str.starts_with("guard:").all()


@pytest.mark.parametrize(
    ("previous", "trips"),
    [
        pytest.param(_USERS + 2, False, id="one-in-six-fewer-is-within-a-quarter"),
        pytest.param(_USERS + 3, True, id="two-in-seven-fewer-is-beyond-a-quarter"),
    ],
)
def test_the_shrink_threshold_is_the_policys(previous: int, trips: bool) -> None:
    context = replace(CONTEXT, previous_huma_count=previous)

    result = _plan(1, {"snapshot_max_shrink": 0.25}, context)

    assert result.guard_trips.get_column("guard").to_list() == (
        [GUARD_SNAPSHOT_SHRINK] if trips else []
    )


def test_unknown_override_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown guards"):
        RunContext(run_at=CONTEXT.run_at, guard_overrides=frozenset({"everything"}))


def test_guard_uses_whole_snapshots_of_both_sides() -> None:
    huma = huma_frame(huma_user())
    entra = entra_frame(entra_user(), entra_user("g1", user_type="Guest"))
    context = replace(CONTEXT, previous_huma_count=1, previous_entra_count=2)

    result = plan_run(huma, entra, state_with(), Policy(), context)

    assert result.guard_trips.height == 0
