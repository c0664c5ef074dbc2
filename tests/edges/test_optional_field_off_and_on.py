"""An optional field turned off and on again (SPEC §3, §5): while off, a run neither plans it nor
touches what the history agreed for it; turned on again, the kept agreed value is B, so an edit
made in Entra meanwhile is drift (never overwritten), and a change made in Huma meanwhile is
pushed, exactly as if the field had stayed on."""

from __future__ import annotations

import polars as pl
import pytest

from reconcile.engine import plan_run
from reconcile.frames import entra_users_schema, huma_users_schema
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from reconcile.vocabulary import AUTO_APPROVED, OUT_DRIFT, UPDATE_ENTRA
from tests.reconcile.plan_helpers import CONTEXT
from tests.reference.builders import (
    baseline_frame,
    entra_user,
    huma_user,
    links_frame,
    state_with,
)

ON = Policy(fields=frozenset({"department"}))
OFF = Policy()


def _pair(policy: Policy, huma: str | None = None, entra: str | None = None):
    departments = ({"department": huma}, {"department": entra}) if policy.fields else ({}, {})
    return (
        pl.DataFrame([huma_user("h1", **departments[0])], schema=huma_users_schema(policy.fields)),
        pl.DataFrame(
            [entra_user("e1", **departments[1])], schema=entra_users_schema(policy.fields)
        ),
    )


@pytest.mark.parametrize(
    ("huma", "entra", "expected"),
    [
        pytest.param("Sales", "Ops", [], id="entra-edit-meanwhile-is-drift"),
        pytest.param("Marketing", "Sales", [(UPDATE_ENTRA, AUTO_APPROVED)], id="huma-change"),
    ],
)
def test_a_field_turned_off_and_on_again_keeps_its_agreed_value(
    huma: str, entra: str, expected: list
) -> None:
    agreed = baseline_frame([{"huma_id": "h1", "field": "department", "agreed": "Sales"}])
    state = state_with(links=links_frame(("h1", "e1")), baseline=agreed)
    while_off = plan_run(*_pair(OFF), state, OFF, CONTEXT)
    state = next_state(state, while_off, pl.DataFrame(schema=APPLY_OUTCOMES_SCHEMA), CONTEXT)
    assert while_off.sync_plan.is_empty()
    kept = state.baseline.filter(pl.col("field") == "department")
    assert kept.select("agreed", "huma_seen", "entra_seen").rows() == [("Sales",) * 3]

    on_again = plan_run(*_pair(ON, huma, entra), state, ON, CONTEXT)

    assert on_again.sync_plan.select("action", "status").rows() == expected
    if not expected:
        assert on_again.field_diffs.get_column("outcome").to_list() == [OUT_DRIFT]
