"""Links end when an account is gone for good (SPEC §4), and a partial snapshot is never read as
people leaving (SPEC §7).

Pins: after the run that reports a linked account deleted (absent from a complete snapshot), the
link ends (with the baseline of the pair, for an Entra deletion); a later account with that email
is matched like any new pair, never planned as a blocked create. A user deleted in Huma whose
Entra account stays unlinked is still offered for re-creation on later runs (SPEC §6), and never
as a plain create. A user missing from a partial snapshot is neither reported deleted nor offered
for re-creation, nothing about them is stored as a deletion and their link stays, even when a
person lets the partial snapshot through; nor is anyone created on the partial side because of
their absence from it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import polars as pl
import pytest

from reconcile.context import RunContext
from reconcile.engine import PlanResult, plan_run
from reconcile.fields import UNITS
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from reconcile.state import SyncState
from reconcile.vocabulary import (
    BLOCKED,
    CREATE_ENTRA,
    CREATE_HUMA,
    GUARD_SNAPSHOT_PARTIAL,
    NOTICE_DELETED_IN_ENTRA,
    NOTICE_DELETED_IN_HUMA,
    PENDING,
    RECREATE_HUMA,
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

_POLICY = Policy(huma_default_group_id="everyone")
_NO_OUTCOMES = pl.DataFrame(schema=APPLY_OUTCOMES_SCHEMA)
_NEXT_NIGHT = replace(CONTEXT, run_at=CONTEXT.run_at + timedelta(days=1))
_LET_THROUGH = {
    "guard_overrides": frozenset({GUARD_SNAPSHOT_PARTIAL}),
    "overridden_by": "kari",
    "override_reason": "paging broke; the rest is fine",
}


def _agreed(huma_id: str) -> pl.DataFrame:
    """Every field of `huma_id` agreed and seen as the default person's (`SAME_PERSON`)."""
    from reconcile.fields import unit_text

    row = huma_frame(huma_user(huma_id))
    values = row.select(*(unit_text(unit).alias(unit.name) for unit in UNITS)).row(0, named=True)
    return baseline_frame(
        {"huma_id": huma_id, "field": name, "agreed": value} for name, value in values.items()
    )


def _state(**frames: pl.DataFrame) -> SyncState:
    return state_with(
        links=links_frame(("h1", "e1")),
        baseline=_agreed("h1"),
        activation=pl.DataFrame({"activated_at": [CONTEXT.run_at - timedelta(days=7)]}),
        **frames,
    )


def _night(
    huma: list[dict[str, Any]], entra: list[dict[str, Any]], state: SyncState, context: RunContext
) -> tuple[PlanResult, SyncState]:
    result = plan_run(huma_frame(*huma), entra_frame(*entra), state, _POLICY, context)
    return result, next_state(state, result, _NO_OUTCOMES, context)


def _actions(result: PlanResult) -> list[tuple[str, str]]:
    return result.sync_plan.select("action", "status").rows()


def test_a_re_created_entra_account_is_matched_after_the_deletion_is_reported() -> None:
    found, after = _night([huma_user("h1")], [], _state(), CONTEXT)

    assert found.notices.select("kind", "huma_id").rows() == [(NOTICE_DELETED_IN_ENTRA, "h1")]
    assert after.links.height == 0
    assert after.baseline.lazy().collect().height == 0

    again, kept = _night([huma_user("h1")], [entra_user("e9")], after, _NEXT_NIGHT)

    assert again.user_links.select("huma_id", "entra_id").rows() == [("h1", "e9")]
    assert CREATE_HUMA not in {action for action, _ in _actions(again)}
    assert again.notices.height == 0
    assert kept.links.select("huma_id", "entra_id").rows() == [("h1", "e9")]


def test_a_re_hire_under_a_new_huma_id_is_matched_after_the_deletion_is_reported() -> None:
    found, after = _night([], [entra_user("e1")], _state(), CONTEXT)

    assert found.notices.select("kind", "huma_id").rows() == [(NOTICE_DELETED_IN_HUMA, "h1")]
    assert after.links.height == 0
    assert after.deleted_huma_users.select("huma_id", "entra_id").rows() == [("h1", "e1")]

    again, _ = _night([huma_user("h7")], [entra_user("e1")], after, _NEXT_NIGHT)

    assert again.user_links.select("huma_id", "entra_id").rows() == [("h7", "e1")]
    assert _actions(again) == []
    assert again.notices.height == 0


def test_a_user_deleted_in_huma_is_still_offered_for_re_creation_on_later_runs() -> None:
    first, after = _night([], [entra_user("e1")], _state(), CONTEXT)
    assert _actions(first) == [(RECREATE_HUMA, PENDING)]

    again, _ = _night([], [entra_user("e1")], after, _NEXT_NIGHT)

    assert _actions(again) == [(RECREATE_HUMA, PENDING)]
    assert again.sync_plan.get_column("change_id").to_list() == (
        first.sync_plan.get_column("change_id").to_list()
    )
    assert again.notices.select("kind", "huma_id").rows() == [(NOTICE_DELETED_IN_HUMA, "h1")]


@pytest.mark.parametrize(
    ("huma", "entra", "partial"),
    [
        pytest.param([], [entra_user("e1")], {"huma_partial": True}, id="huma"),
        pytest.param([huma_user("h1")], [], {"entra_partial": True}, id="entra"),
    ],
)
@pytest.mark.parametrize("let_through", [False, True], ids=["stopped", "overridden"])
def test_a_user_missing_from_a_partial_snapshot_has_not_left(
    huma: list[dict], entra: list[dict], partial: dict[str, bool], let_through: bool
) -> None:
    context = replace(CONTEXT, **partial, **(_LET_THROUGH if let_through else {}))

    result, after = _night(huma, entra, _state(), context)

    assert result.notices.height == 0
    assert result.sync_plan.height == 0
    assert after.deleted_huma_users.height == 0
    assert after.links.select("huma_id", "entra_id").rows() == [("h1", "e1")]


@pytest.mark.parametrize(
    ("huma", "entra", "partial", "action"),
    [
        pytest.param(
            [],
            [entra_user("e5", "new@example.com")],
            {"huma_partial": True},
            CREATE_HUMA,
            id="huma",
        ),
        pytest.param(
            [huma_user("h5", "new@example.com")],
            [],
            {"entra_partial": True},
            CREATE_ENTRA,
            id="entra",
        ),
    ],
)
def test_nobody_is_created_on_a_partial_side_for_being_absent_from_it(
    huma: list[dict], entra: list[dict], partial: dict[str, bool], action: str
) -> None:
    context = replace(CONTEXT, **partial, **_LET_THROUGH)

    result, _ = _night(huma, entra, state_with(), context)

    row = result.sync_plan.row(0, named=True)
    assert (row["action"], row["status"]) == (action, BLOCKED)
    assert "partial" in row["blocked_reason"]
