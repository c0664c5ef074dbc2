"""A webhook naming a linked user Huma no longer has (`GET /users/{id}` answers 404, so the
targeted read returns nobody for them, while Entra's side is read by the link): the targeted run
reports no deletion, offers no re-creation, stores nothing as a deletion and keeps the link and
its agreed values (SPEC §7); the next full run, which reads everybody, decides."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from reconcile.engine import plan_run
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from tests.edges.nights import POPULATION, linked_state, snapshots
from tests.reconcile.plan_helpers import CONTEXT

TARGETED = replace(
    CONTEXT, targeted=True, previous_huma_count=POPULATION, previous_entra_count=POPULATION
)


def test_a_named_linked_user_huma_no_longer_has_is_not_deleted_by_a_targeted_run() -> None:
    _, entra = snapshots(range(3, 4))
    huma = snapshots(range(0))[0]  # the 404: nobody read in Huma
    state = linked_state()

    result = plan_run(huma, entra, state, Policy(), TARGETED)
    after = next_state(state, result, pl.DataFrame(schema=APPLY_OUTCOMES_SCHEMA), TARGETED)

    assert result.sync_plan.is_empty(), result.sync_plan
    assert result.notices.is_empty(), result.notices
    assert after.deleted_huma_users.is_empty()
    assert after.links.sort("huma_id").equals(state.links.sort("huma_id"))
    assert after.baseline.sort("huma_id").equals(state.baseline.sort("huma_id"))
