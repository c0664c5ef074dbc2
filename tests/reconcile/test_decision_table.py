"""The three-way decision of SPEC §5, one named case per row of its table, on a two-way field.

Pins, for a linked pair with H (Huma), E (Entra) and B (last agreed value): the case recorded in
`field_diffs`, and the plan row it leads to: its action, direction, status, the kind of decision
a person is asked for, and the values written. Unknown fields (not returned by a payload) are
never compared, written, or used to clear anything.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconcile.policy import Policy
from reconcile.vocabulary import (
    AUTO_APPROVED,
    BOTH_CHANGED,
    ENTRA_CHANGED,
    ENTRA_TO_HUMA,
    FIRST_SYNC,
    HUMA_CHANGED,
    HUMA_TO_ENTRA,
    KIND_CONFLICT,
    KIND_ENTRA_TO_HUMA,
    KIND_INCONSISTENCY,
    KIND_MISSING_VALUE,
    MISSING_VALUE,
    PENDING,
    RESOLVE_CONFLICT,
    UPDATE_ENTRA,
    UPDATE_HUMA,
)
from tests.reconcile.plan_helpers import diff_of, only_row, plan_pair

OLD, NEW, OTHER = "+4711111111", "+4722222222", "+4733333333"


def test_in_sync_plans_nothing_and_reports_no_difference() -> None:
    result = plan_pair({"phone": OLD}, {"phone": OLD}, [{"field": "phone", "agreed": OLD}])

    assert result.sync_plan.height == 0
    assert result.field_diffs.height == 0


@pytest.mark.parametrize(
    ("huma", "entra", "agreed", "policy", "case", "expected"),
    [
        pytest.param(
            NEW,
            OLD,
            OLD,
            {},
            HUMA_CHANGED,
            (UPDATE_ENTRA, HUMA_TO_ENTRA, AUTO_APPROVED, None, NEW),
            id="huma-changed-updates-entra-automatically",
        ),
        pytest.param(
            OLD,
            NEW,
            OLD,
            {},
            ENTRA_CHANGED,
            (UPDATE_HUMA, ENTRA_TO_HUMA, PENDING, KIND_ENTRA_TO_HUMA, NEW),
            id="entra-changed-updates-huma-after-approval",
        ),
        pytest.param(
            NEW,
            OTHER,
            OLD,
            {},
            BOTH_CHANGED,
            (RESOLVE_CONFLICT, None, PENDING, KIND_CONFLICT, None),
            id="both-changed-is-a-conflict-for-a-person",
        ),
        pytest.param(
            NEW,
            OTHER,
            ...,
            {},
            FIRST_SYNC,
            (RESOLVE_CONFLICT, None, PENDING, KIND_INCONSISTENCY, None),
            id="first-sync-inconsistency-left-to-a-person",
        ),
        pytest.param(
            NEW,
            OTHER,
            ...,
            {"initial_direction": {"phone": HUMA_TO_ENTRA}},
            FIRST_SYNC,
            (UPDATE_ENTRA, HUMA_TO_ENTRA, AUTO_APPROVED, None, NEW),
            id="first-sync-inconsistency-settled-toward-entra-by-policy",
        ),
        pytest.param(
            NEW,
            OTHER,
            ...,
            {"initial_direction": {"phone": ENTRA_TO_HUMA}},
            FIRST_SYNC,
            (UPDATE_HUMA, ENTRA_TO_HUMA, PENDING, KIND_INCONSISTENCY, OTHER),
            id="first-sync-inconsistency-settled-toward-huma-still-approved",
        ),
        pytest.param(
            NEW,
            None,
            ...,
            {},
            MISSING_VALUE,
            (UPDATE_ENTRA, HUMA_TO_ENTRA, AUTO_APPROVED, None, NEW),
            id="missing-in-entra-filled-automatically",
        ),
        pytest.param(
            None,
            NEW,
            ...,
            {},
            MISSING_VALUE,
            (UPDATE_HUMA, ENTRA_TO_HUMA, PENDING, KIND_MISSING_VALUE, NEW),
            id="missing-in-huma-filled-after-approval",
        ),
        pytest.param(
            None,
            OLD,
            OLD,
            {},
            HUMA_CHANGED,
            (UPDATE_ENTRA, HUMA_TO_ENTRA, AUTO_APPROVED, None, None),
            id="emptied-in-huma-clears-entra",
        ),
        pytest.param(
            OLD,
            None,
            OLD,
            {},
            ENTRA_CHANGED,
            (UPDATE_HUMA, ENTRA_TO_HUMA, PENDING, KIND_ENTRA_TO_HUMA, None),
            id="emptied-in-entra-clears-huma-after-approval",
        ),
        pytest.param(
            NEW,
            None,
            None,
            {},
            HUMA_CHANGED,
            (UPDATE_ENTRA, HUMA_TO_ENTRA, AUTO_APPROVED, None, NEW),
            id="agreed-empty-then-filled-in-huma",
        ),
        pytest.param(
            OLD,
            NEW,
            OLD,
            {"auto_apply_entra_to_huma": True},
            ENTRA_CHANGED,
            (UPDATE_HUMA, ENTRA_TO_HUMA, AUTO_APPROVED, KIND_ENTRA_TO_HUMA, NEW),
            id="entra-changed-applied-automatically-when-policy-says-so",
        ),
        pytest.param(
            NEW,
            OTHER,
            OLD,
            {"auto_apply_entra_to_huma": True},
            BOTH_CHANGED,
            (RESOLVE_CONFLICT, None, PENDING, KIND_CONFLICT, None),
            id="conflict-never-automatic",
        ),
    ],
)
def test_each_row_of_the_table(
    huma: str | None,
    entra: str | None,
    agreed: Any,
    policy: dict[str, Any],
    case: str,
    expected: tuple[str, str | None, str, str | None, str | None],
) -> None:
    baseline = [] if agreed is ... else [{"field": "phone", "agreed": agreed}]

    result = plan_pair({"phone": huma}, {"phone": entra}, baseline, Policy(**policy))

    assert diff_of(result, "phone")["case"] == case
    row = only_row(result)
    action, direction, status, kind, written = expected
    assert (row["action"], row["direction"], row["status"], row["decision_kind"]) == (
        action,
        direction,
        status,
        kind,
    )
    assert row["fields"] == ["phone"]
    if action != RESOLVE_CONFLICT:
        assert row["to_values"] == _phone_json(written)
        assert row["from_values"] == _phone_json(entra if direction == HUMA_TO_ENTRA else huma)
    assert row["huma_values"] == _phone_json(huma)
    assert row["entra_values"] == _phone_json(entra)


def _phone_json(value: str | None) -> str:
    return '{"phone":null}' if value is None else f'{{"phone":"{value}"}}'


def test_a_conflict_is_listed_with_the_three_values() -> None:
    result = plan_pair({"phone": NEW}, {"phone": OTHER}, [{"field": "phone", "agreed": OLD}])

    conflict = result.conflicts.row(0, named=True)
    assert (conflict["huma_value"], conflict["entra_value"], conflict["agreed_value"]) == (
        NEW,
        OTHER,
        OLD,
    )
    assert conflict["change_id"] == only_row(result)["change_id"]


@pytest.mark.parametrize(
    ("huma", "entra"),
    [
        pytest.param({"unknown_fields": ["phone"]}, {"phone": None}, id="unknown-in-huma"),
        pytest.param({"phone": None}, {"unknown_fields": ["phone"]}, id="unknown-in-entra"),
        pytest.param(
            {"address_city": "Bergen"}, {"unknown_fields": ["address_city"]}, id="address-part"
        ),
    ],
)
def test_an_unknown_field_is_never_compared_written_or_cleared(
    huma: dict[str, Any], entra: dict[str, Any]
) -> None:
    baseline = [{"field": "phone", "agreed": "+4790000001"}]

    result = plan_pair(huma, entra, baseline)

    assert result.sync_plan.height == 0
    assert result.field_diffs.height == 0
