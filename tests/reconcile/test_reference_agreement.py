"""The engine against an independent plain-Python reading of the rules (`tests.reference.rules`).

Pins: for linked users with no decision pending, in any small world, the engine plans exactly
the rows the reference plans: same change ids (so same actions, users, fields and values to
write) and same statuses.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given

from reconcile.engine import plan_run
from reconcile.vocabulary import PAIR_ACTIONS
from tests.reconcile.plan_helpers import CONTEXT
from tests.reconcile.worlds import EXAMPLES, linked_worlds
from tests.reference.rules import plan_linked

pytestmark = pytest.mark.slow


@EXAMPLES
@given(linked_worlds())
def test_the_engine_agrees_with_the_plain_python_reading_of_the_rules(world: Any) -> None:
    huma, entra, state, policy = world
    engine = plan_run(huma, entra, state, policy, CONTEXT).sync_plan.filter(
        pl.col("action").is_in(PAIR_ACTIONS)
    )
    activated_at = state.activation.get_column("activated_at").min() if state.activated else None
    reference = plan_linked(
        huma.to_dicts(),
        entra.to_dicts(),
        state.links.to_dicts(),
        state.baseline.to_dicts(),
        policy,
        activated_at,
    )

    assert sorted(engine.select("change_id", "action", "status").rows()) == sorted(
        (row["change_id"], row["action"], row["status"]) for row in reference
    )
