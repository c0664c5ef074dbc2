"""People's decisions on pending rows, and change ids (SPEC §7).

Pins: the same change planned twice has the same id, a change whose values to write moved gets a
new one; a decision made on the row's current values approves or rejects it (a conflict takes the
named winner's side and gets its direction and values); a decision made on values that moved
since, on either side, leaves the row `stale`, asked again; the latest decision counts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reconcile.decisions import decision_row
from reconcile.vocabulary import (
    APPROVE,
    APPROVED,
    ENTRA,
    ENTRA_TO_HUMA,
    HUMA,
    HUMA_TO_ENTRA,
    PENDING,
    REJECT,
    REJECTED,
    STALE,
)
from tests.reconcile.plan_helpers import only_row, plan_pair
from tests.reference.builders import RUN_AT, decisions_frame

_AGREED = [{"field": "phone", "agreed": "+4711111111"}]
_ENTRA_EDIT = ({"phone": "+4711111111"}, {"phone": "+4722222222"})
_CONFLICT = ({"phone": "+4733333333"}, {"phone": "+4722222222"})


def _decided(row: dict[str, Any], **decision: Any) -> dict[str, Any]:
    return plan_pair(*row["_sides"], _AGREED, decisions=decisions_frame([decision])).sync_plan.row(
        0, named=True
    )


def _pending(sides: tuple[dict, dict]) -> dict[str, Any]:
    row = only_row(plan_pair(*sides, _AGREED))
    assert row["status"] == PENDING
    # The plan row's own (empty) decision stamps must not stand in for the decision's.
    del row["decided_at"], row["decided_by"]
    return {**row, "_sides": sides}


def test_the_same_change_planned_twice_has_the_same_id() -> None:
    first = only_row(plan_pair(*_ENTRA_EDIT, _AGREED))
    second = only_row(plan_pair(*_ENTRA_EDIT, _AGREED))
    moved = only_row(plan_pair({"phone": "+4711111111"}, {"phone": "+4744444444"}, _AGREED))

    assert first["change_id"] == second["change_id"]
    assert moved["change_id"] != first["change_id"]
    assert len(first["change_id"]) == 32


@pytest.mark.parametrize(
    ("verdict", "status"),
    [pytest.param(APPROVE, APPROVED, id="approve"), pytest.param(REJECT, REJECTED, id="reject")],
)
def test_a_decision_on_the_current_values_settles_the_row(verdict: str, status: str) -> None:
    row = _pending(_ENTRA_EDIT)

    decided = _decided(row, **row, verdict=verdict)

    assert decided["status"] == status
    assert decided["change_id"] == row["change_id"]
    assert (decided["decided_at"], decided["decided_by"]) == (RUN_AT, "admin@example.com")


@pytest.mark.parametrize(
    ("winner", "direction", "written"),
    [
        pytest.param(HUMA, HUMA_TO_ENTRA, '{"phone":"+4733333333"}', id="huma-wins"),
        pytest.param(ENTRA, ENTRA_TO_HUMA, '{"phone":"+4722222222"}', id="entra-wins"),
    ],
)
def test_an_approved_conflict_takes_the_winners_side(
    winner: str, direction: str, written: str
) -> None:
    row = _pending(_CONFLICT)

    decided = _decided(row, **row, verdict=APPROVE, winner=winner)

    assert (decided["status"], decided["direction"], decided["to_values"]) == (
        APPROVED,
        direction,
        written,
    )


def test_an_approved_conflict_without_a_winner_is_asked_again() -> None:
    row = _pending(_CONFLICT)

    decided = _decided(row, **row, verdict=APPROVE)

    assert (decided["status"], decided["direction"]) == (PENDING, None)
    assert "names no winning side" in decided["reason"]


@pytest.mark.parametrize(
    "moved",
    [
        pytest.param({"huma_values": '{"phone":"+4700000000"}'}, id="huma-moved-same-id"),
        pytest.param(
            {"entra_values": '{"phone":"+4700000000"}', "change_id": "an-older-id"},
            id="entra-moved-new-id",
        ),
    ],
)
def test_a_decision_made_on_other_values_is_stale(moved: dict[str, Any]) -> None:
    row = _pending(_ENTRA_EDIT)

    decided = _decided(row, **{**row, **moved}, verdict=APPROVE)

    assert decided["status"] == STALE
    assert "asked again" in decided["reason"]
    assert decided["decided_at"] is None


def test_the_latest_decision_counts() -> None:
    row = _pending(_ENTRA_EDIT)
    earlier = {**row, "verdict": APPROVE, "decided_at": RUN_AT - timedelta(days=1)}
    later = {**row, "verdict": REJECT}

    result = plan_pair(*_ENTRA_EDIT, _AGREED, decisions=decisions_frame([later, earlier]))

    assert only_row(result)["status"] == REJECTED


def test_a_decision_about_another_change_is_ignored() -> None:
    row = _pending(_ENTRA_EDIT)
    other = {**row, "fields": ["given_name"], "change_id": "other", "verdict": APPROVE}

    result = plan_pair(*_ENTRA_EDIT, _AGREED, decisions=decisions_frame([other]))

    assert only_row(result)["status"] == PENDING


def test_a_recorded_decision_settles_its_row_next_run() -> None:
    row = _pending(_CONFLICT)

    decision = decision_row(
        row, verdict=APPROVE, winner=ENTRA, decided_at=RUN_AT, decided_by="admin@example.com"
    )

    assert (
        plan_pair(*_CONFLICT, _AGREED, decisions=decision).sync_plan.row(0, named=True)["status"]
        == APPROVED
    )


@pytest.mark.parametrize(
    ("changes", "decision", "message"),
    [
        pytest.param({}, {"verdict": APPROVE}, "needs the winning side", id="conflict-no-winner"),
        pytest.param({}, {"verdict": "maybe"}, "verdict must be", id="unknown-verdict"),
        pytest.param({}, {"verdict": APPROVE, "winner": "both"}, "winner must be", id="winner"),
        pytest.param({"status": "auto_approved"}, {"verdict": REJECT}, "not awaiting", id="auto"),
    ],
)
def test_a_decision_that_does_not_fit_its_row_is_refused(
    changes: dict[str, Any], decision: dict[str, Any], message: str
) -> None:
    row = {**_pending(_CONFLICT), **changes}

    with pytest.raises(ValueError, match=message):
        decision_row(row, decided_at=RUN_AT, decided_by="admin@example.com", **decision)
