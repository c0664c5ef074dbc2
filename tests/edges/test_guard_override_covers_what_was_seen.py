"""An override lets through what the person saw, not a larger plan (SPEC §7: a guard waits for an
explicit override; a human's decision never applies to something other than what they saw).
The mass-change guard stopped a run that would have changed 3 of 10 users; a person overrides
it for the next run ("the reorganisation is real"), but that run would change 9 of 10: the
override covers at most the share the stopped run showed, so the guard stops this run too and
says why. A run within it is let through; an override given while no guard held (a planned
reorganisation, announced in advance) lets its run through as before."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from reconcile.engine import plan_run
from reconcile.policy import Policy
from reconcile.state import HeldTrip, RunContext
from reconcile.vocabulary import AUTO_APPROVED, BLOCKED, GUARD_MASS_CHANGE
from tests.edges.nights import POPULATION, T0, linked_state, snapshots

HELD = HeldTrip(
    guard=GUARD_MASS_CHANGE,
    side=None,
    observed=0.3,
    threshold=0.2,
    message="the run would change 3 of 10 users (30.0%, more than 20.0%)",
    tripped_at=T0,
)
OVERRIDE = RunContext(
    run_at=T0,
    verified_domains=frozenset({"example.com"}),
    previous_huma_count=POPULATION,
    previous_entra_count=POPULATION,
    guard_overrides=frozenset({GUARD_MASS_CHANGE}),
    overridden_by="kari",
    override_reason="the reorganisation is real",
)
POLICY = Policy(mass_change_min_users=2)


def _plan(changed: int, context: RunContext):
    huma, entra = snapshots(range(POPULATION), changed=range(changed))
    return plan_run(huma, entra, linked_state(), POLICY, context)


def test_an_override_never_lets_a_larger_plan_through_than_the_stopped_one() -> None:
    larger = _plan(9, replace(OVERRIDE, held_trips=(HELD,)))

    assert larger.writes_stopped
    assert set(larger.sync_plan.get_column("status")) == {BLOCKED}
    [trip] = larger.guard_trips.select("guard", "observed", "overridden", "message").rows()
    assert trip[:3] == (GUARD_MASS_CHANGE, 0.9, False), trip
    assert "30.0%" in trip[3], trip


@pytest.mark.parametrize(
    ("changed", "held"),
    [
        pytest.param(3, (HELD,), id="as-seen"),
        pytest.param(2, (HELD,), id="smaller-than-seen"),
        pytest.param(9, (), id="announced-in-advance"),
    ],
)
def test_an_override_lets_through_what_it_covers(changed: int, held: tuple) -> None:
    result = _plan(changed, replace(OVERRIDE, held_trips=held))

    assert not result.writes_stopped
    assert set(result.sync_plan.get_column("status")) == {AUTO_APPROVED}
    assert result.guard_trips.filter(~pl.col("overridden")).is_empty()
