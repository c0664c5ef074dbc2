"""A targeted run never activates the connection (SPEC §5): at activation Huma's position values
are recorded as seen, not pushed, and only a pair first linked after it is new. A targeted run
that comes before the first full run (a webhook arrives before the first night) saw a few users:
were it the activation, the first full run would find every other pair linked after it and push
everybody's position values, the backfill the policy leaves off."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import polars as pl

from reconcile.engine import plan_run
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from reconcile.state import empty_state
from reconcile.vocabulary import OUT_POSITION_NOT_PUSHED, OUT_POSITION_RECORDED
from tests.reconcile.plan_helpers import CONTEXT
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user

NO_OUTCOMES = pl.DataFrame(schema=APPLY_OUTCOMES_SCHEMA)


def _pairs(ids: range) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pairs that agree on everything but the job title Huma and Entra hold from before."""

    def person(i: int) -> dict[str, str]:
        return {"phone": f"+479000{i:04d}", "employment_id": f"E{i}"}

    huma = huma_frame(
        *(huma_user(f"h{i}", f"u{i}@example.com", job_title="Engineer", **person(i)) for i in ids)
    )
    entra = entra_frame(
        *(entra_user(f"e{i}", f"u{i}@example.com", job_title="Boss", **person(i)) for i in ids)
    )
    return huma, entra


def test_the_first_full_run_after_an_early_targeted_run_records_positions_not_pushes() -> None:
    targeted = replace(CONTEXT, targeted=True)
    early = plan_run(*_pairs(range(1)), empty_state(), Policy(), targeted)
    state = next_state(empty_state(), early, NO_OUTCOMES, targeted)
    assert not state.activated

    full = replace(CONTEXT, run_at=CONTEXT.run_at + timedelta(days=1))
    first_night = plan_run(*_pairs(range(5)), state, Policy(), full)

    assert first_night.sync_plan.is_empty(), first_night.sync_plan
    titles = first_night.field_diffs.filter(pl.col("field") == "job_title")
    outcomes = dict(titles.select("huma_id", "outcome").iter_rows())
    # The one the early run read was recorded then; the others are recorded now.
    assert outcomes == {"h0": OUT_POSITION_NOT_PUSHED} | {
        f"h{i}": OUT_POSITION_RECORDED for i in range(1, 5)
    }
