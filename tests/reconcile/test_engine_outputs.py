"""The engine's outputs on a mid-size world stay what they were when the expectation was recorded.

Pins: every frame of `PlanResult` (valid users, failures, links, differences, conflicts, plan,
guard trips, notices) on a seeded world of 20,000 people where every case turns up (see
`mid_world`), under three contexts: complete snapshots with decisions on part of a first plan,
a partial Huma snapshot under a permissive policy, and a partial Entra snapshot with the baseline
scanned lazily. The expectation is the engine's own output, recorded before its speed-ups (the
engine then agreed with the plain-Python reference and the properties); a rewrite for speed must
give equal frames. After a deliberate change of a rule, record again:

    python -m tests.reconcile.test_engine_outputs
"""

from __future__ import annotations

from dataclasses import fields, replace
from functools import cache
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from reconcile.context import RunContext
from reconcile.engine import PlanResult, plan_run
from reconcile.policy import Policy
from reconcile.state import SyncState
from reconcile.vocabulary import GUARD_SNAPSHOT_PARTIAL
from tests.reconcile.mid_world import decisions_on, mid_world
from tests.reference.builders import RUN_AT

pytestmark = pytest.mark.slow

_EXPECTED = Path(__file__).parent / "data" / "engine_outputs"
_PEOPLE = 20_000
_SEED = 11
_OUTPUTS = tuple(field.name for field in fields(PlanResult))
_PERMISSIVE = Policy(
    initial_direction={"given_name": "huma_to_entra", "phone": "entra_to_huma"},
    create_entra_users_automatically=True,
    auto_apply_entra_to_huma=True,
    backfill_positions=True,
    huma_default_group_id="g-all",
    mass_change_max_share=1.0,
)


#: Valid users are rows of the snapshots in their order: recorded by id, compared whole.
_USERS = {"huma_users": "huma_id", "entra_users": "entra_id"}


@cache
def _world() -> tuple[pl.DataFrame, pl.DataFrame, SyncState]:
    return mid_world(_PEOPLE, _SEED)


@cache
def _plans() -> dict[str, PlanResult]:
    huma, entra, state = _world()
    context = RunContext(run_at=RUN_AT, verified_domains=frozenset({"example.com"}))
    first = plan_run(huma, entra, state, Policy(), context)
    decided = replace(state, decisions=decisions_on(first.sync_plan, _SEED))
    # A partial snapshot trips its guard; overridden, the rows keep their own statuses.
    overridden = replace(
        context,
        previous_huma_count=huma.height + 100,
        guard_overrides=frozenset({GUARD_SNAPSHOT_PARTIAL}),
        overridden_by="admin@example.com",
        override_reason="a partial read is fine tonight",
    )
    return {
        "complete": plan_run(huma, entra, decided, Policy(), context),
        "huma_partial": plan_run(
            huma, entra, decided, _PERMISSIVE, replace(overridden, huma_partial=True)
        ),
        "entra_partial": plan_run(
            huma,
            entra,
            replace(decided, baseline=decided.baseline.lazy()),
            Policy(mass_change_max_share=1.0),
            replace(overridden, entra_partial=True),
        ),
    }


@pytest.mark.parametrize("scenario", ["complete", "huma_partial", "entra_partial"])
@pytest.mark.parametrize("output", _OUTPUTS)
def test_the_engine_plans_what_it_planned_when_recorded(scenario: str, output: str) -> None:
    expected = pl.read_parquet(_EXPECTED / scenario / f"{output}.parquet")
    actual = getattr(_plans()[scenario], output)
    if output in _USERS:
        snapshot = _world()[0 if output == "huma_users" else 1]
        ids = expected.get_column(_USERS[output]).implode()
        expected = snapshot.filter(pl.col(_USERS[output]).is_in(ids))

    assert_frame_equal(actual, expected, check_exact=True)


def test_the_world_has_every_case() -> None:
    plan = _plans()["complete"]
    actions = set(plan.sync_plan.get_column("action"))
    rules = set(plan.validation_failures.get_column("rule"))
    kinds = set(plan.notices.get_column("kind"))

    assert {"update_entra", "update_huma", "resolve_conflict", "create_entra"} <= actions
    assert {"required", "unique", "max_length", "iso_country"} <= rules
    assert len(kinds) == 5
    assert plan.conflicts.height
    assert _plans()["huma_partial"].guard_trips.height


def _record() -> None:
    for scenario, plan in _plans().items():
        directory = _EXPECTED / scenario
        directory.mkdir(parents=True, exist_ok=True)
        for output in _OUTPUTS:
            frame = getattr(plan, output)
            if output in _USERS:
                frame = frame.select(_USERS[output])
            frame.write_parquet(
                directory / f"{output}.parquet", compression_level=19, statistics=False
            )


if __name__ == "__main__":
    _record()
