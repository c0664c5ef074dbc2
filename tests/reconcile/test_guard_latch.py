"""A tripped guard stays tripped (SPEC §7) until a person overrides it, who and why recorded.

Pins: a guard that stopped an earlier run and was not overridden since (`RunContext.held_trips`)
keeps stopping the writes of a run whose own numbers would not trip it, and says since when; a
trip of the same guard and side this run replaces the held one; an override of the guard lets
that run through, held or fresh, and the trips carry who overrode it and why; an override without
who and why is refused.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import polars as pl
import pytest

from reconcile.context import HeldTrip, RunContext
from reconcile.engine import PlanResult, plan_run
from reconcile.policy import Policy
from reconcile.vocabulary import (
    AUTO_APPROVED,
    BLOCKED,
    GUARD_MASS_CHANGE,
    GUARD_SNAPSHOT_PARTIAL,
    GUARD_SNAPSHOT_SHRINK,
    HUMA,
    PENDING,
)
from tests.reconcile.plan_helpers import CONTEXT
from tests.reference.builders import (
    RUN_AT,
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)

EARLIER = RUN_AT - timedelta(days=1)
SHRANK = HeldTrip(
    guard=GUARD_SNAPSHOT_SHRINK,
    side=HUMA,
    observed=0.5,
    threshold=0.2,
    message="the huma snapshot shrank from 4 to 2 users (50.0%, more than 20.0%)",
    tripped_at=EARLIER,
)
MASS = HeldTrip(
    guard=GUARD_MASS_CHANGE,
    side=None,
    observed=0.9,
    threshold=0.5,
    message="the run would change 9 of 10 users (90.0%, more than 50.0%)",
    tripped_at=EARLIER,
)


def _plan(context: RunContext) -> PlanResult:
    """Ann linked and in sync except for a new phone in Huma (written automatically); Bo in
    Entra only (a create in Huma, asked)."""
    return plan_run(
        huma_frame(huma_user("h1", "ann@example.com", phone="+4791")),
        entra_frame(
            entra_user("e1", "ann@example.com", phone="+4790"),
            entra_user("e2", "bo@example.com", phone="+4792", employment_id="E2"),
        ),
        state_with(
            links=links_frame(("h1", "e1")),
            baseline=baseline_frame([{"huma_id": "h1", "field": "phone", "agreed": "+4790"}]),
        ),
        Policy(huma_default_group_id="everyone"),
        context,
    )


def _by_action(result: PlanResult) -> dict[str, str]:
    return dict(result.sync_plan.select("action", "status").iter_rows())


def test_without_a_held_trip_the_run_writes() -> None:
    result = _plan(CONTEXT)

    assert result.guard_trips.height == 0
    assert _by_action(result) == {"update_entra": AUTO_APPROVED, "create_huma": PENDING}


@pytest.mark.parametrize(
    ("held", "statuses"),
    [
        pytest.param(SHRANK, {"update_entra": BLOCKED, "create_huma": BLOCKED}, id="snapshot"),
        pytest.param(MASS, {"update_entra": BLOCKED, "create_huma": PENDING}, id="mass-change"),
    ],
)
def test_a_held_trip_keeps_stopping_a_run_whose_numbers_are_fine(
    held: HeldTrip, statuses: dict[str, str]
) -> None:
    result = _plan(replace(CONTEXT, held_trips=(held,)))

    trip = result.guard_trips.row(0, named=True)
    assert (trip["guard"], trip["side"], trip["overridden"]) == (held.guard, held.side, False)
    assert trip["tripped_at"] == EARLIER
    assert held.message in trip["message"]
    assert "until a person overrides" in trip["message"]
    assert _by_action(result) == statuses
    assert result.writes_stopped


def test_a_trip_carried_through_many_runs_says_so_once() -> None:
    once = _plan(replace(CONTEXT, held_trips=(MASS,))).guard_trips.row(0, named=True)
    carried = replace(MASS, message=once["message"])

    twice = _plan(replace(CONTEXT, held_trips=(carried,))).guard_trips.row(0, named=True)

    assert twice["message"] == once["message"]
    assert twice["message"].count("until a person overrides") == 1


def test_a_fresh_trip_of_the_same_guard_replaces_the_held_one() -> None:
    context = replace(CONTEXT, held_trips=(SHRANK,), previous_huma_count=4)

    result = _plan(context)

    assert result.guard_trips.select("guard", "side").rows() == [(GUARD_SNAPSHOT_SHRINK, HUMA)]
    trip = result.guard_trips.row(0, named=True)
    assert trip["message"].startswith("the huma snapshot shrank from 4 to 1 users")
    assert trip["tripped_at"] == EARLIER  # still the trip that began a night ago


def test_a_fresh_trip_is_stamped_with_the_run() -> None:
    result = _plan(replace(CONTEXT, huma_partial=True))

    trip = result.guard_trips.row(0, named=True)
    assert (trip["guard"], trip["tripped_at"]) == (GUARD_SNAPSHOT_PARTIAL, RUN_AT)


def test_an_override_lets_a_held_trip_through_and_records_who_and_why() -> None:
    context = replace(
        CONTEXT,
        held_trips=(SHRANK, MASS),
        guard_overrides=frozenset({GUARD_SNAPSHOT_SHRINK}),
        overridden_by="kari",
        override_reason="the leavers really left",
    )

    result = _plan(context)

    trips = result.guard_trips.sort("guard")
    assert trips.select("guard", "overridden", "overridden_by", "override_reason").rows() == [
        (GUARD_MASS_CHANGE, False, None, None),
        (GUARD_SNAPSHOT_SHRINK, True, "kari", "the leavers really left"),
    ]
    shrink = trips.filter(pl.col("guard") == GUARD_SNAPSHOT_SHRINK).row(0, named=True)
    assert "overridden by kari: the leavers really left" in shrink["message"]
    # The mass-change guard is still held: writes stay stopped, questions are asked.
    assert _by_action(result) == {"update_entra": BLOCKED, "create_huma": PENDING}


@pytest.mark.parametrize(
    ("by", "reason"),
    [
        pytest.param(None, "cleanup", id="no-who"),
        pytest.param("kari", None, id="no-why"),
        pytest.param("kari", "   ", id="blank-why"),
    ],
)
def test_an_override_without_who_and_why_is_refused(by: str | None, reason: str | None) -> None:
    with pytest.raises(ValueError, match="who and why"):
        RunContext(
            run_at=RUN_AT,
            guard_overrides=frozenset({GUARD_MASS_CHANGE}),
            overridden_by=by,
            override_reason=reason,
        )
