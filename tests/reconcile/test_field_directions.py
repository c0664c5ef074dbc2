"""The direction rules of SPEC §3 and §5 for one-way and position fields, on a linked pair.

Pins: employment ID only ever flows Entra → Huma and hire date / job title only Huma → Entra (the
wrong way round is reported as drift, never written); position fields are recorded at first
sight, pushed only once changed in Huma afterwards, unless the policy backfills them; a pair first
linked after the connection's activation is new to it and pushes its position values at once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest

from reconcile.policy import Policy
from reconcile.state import ACTIVATION_SCHEMA
from reconcile.vocabulary import (
    AUTO_APPROVED,
    ENTRA_TO_HUMA,
    HUMA_TO_ENTRA,
    KIND_CONFLICT,
    KIND_ENTRA_TO_HUMA,
    KIND_INCONSISTENCY,
    OUT_DRIFT,
    OUT_POSITION_NOT_PUSHED,
    OUT_POSITION_RECORDED,
    PENDING,
    UPDATE_ENTRA,
    UPDATE_HUMA,
)
from tests.reconcile.plan_helpers import diff_of, only_row, plan_pair
from tests.reference.builders import RUN_AT, links_frame

_ADDRESS_NO = '{"city":"Oslo","country":"NO","line1":"Storgata 1","postal_code":"0155"}'


@pytest.mark.parametrize(
    ("field", "huma", "entra", "baseline", "outcome"),
    [
        pytest.param(
            "employment_id", "E2", "E1", {"agreed": "E1"}, OUT_DRIFT, id="employment-id-huma-edit"
        ),
        pytest.param(
            "employment_id", "E2", None, {}, OUT_DRIFT, id="employment-id-missing-in-entra"
        ),
        pytest.param(
            "job_title", "Engineer", "Boss", {"agreed": "Engineer"}, OUT_DRIFT, id="title-in-entra"
        ),
        pytest.param(
            "job_title", "Engineer", "Boss", {}, OUT_POSITION_RECORDED, id="title-first-sight"
        ),
        pytest.param(
            "job_title",
            "Engineer",
            "Boss",
            {"has_agreed": False, "huma_seen": "Engineer"},
            OUT_POSITION_NOT_PUSHED,
            id="title-unchanged-since-activation",
        ),
        pytest.param(
            "hire_date",
            date(2020, 1, 1),
            None,
            {},
            OUT_POSITION_RECORDED,
            id="hire-date-first-sight-not-pushed",
        ),
        pytest.param(
            "job_title",
            None,
            "Boss",
            {"has_agreed": False, "huma_seen": "Engineer"},
            OUT_POSITION_NOT_PUSHED,
            id="ended-position-does-not-clear-without-agreement",
        ),
    ],
)
def test_one_way_and_position_fields_never_write_the_wrong_way(
    field: str, huma: Any, entra: Any, baseline: dict[str, Any], outcome: str
) -> None:
    rows = [{"field": field, **baseline}] if baseline else []

    result = plan_pair({field: huma}, {field: entra}, rows)

    assert diff_of(result, field)["outcome"] == outcome
    assert result.sync_plan.height == 0


@pytest.mark.parametrize(
    ("field", "huma", "entra", "baseline", "policy", "expected"),
    [
        pytest.param(
            "employment_id",
            "E1",
            "E9",
            {"agreed": "E1"},
            {},
            (UPDATE_HUMA, PENDING, KIND_ENTRA_TO_HUMA),
            id="employment-id-entra-edit-comes-in-on-approval",
        ),
        pytest.param(
            "employment_id",
            "E2",
            "E9",
            {},
            {},
            (UPDATE_HUMA, PENDING, KIND_INCONSISTENCY),
            id="employment-id-inconsistency-offered-toward-huma-only",
        ),
        pytest.param(
            "employment_id",
            "E2",
            "E9",
            {"agreed": "E1"},
            {},
            (UPDATE_HUMA, PENDING, KIND_CONFLICT),
            id="employment-id-conflict-asks-about-the-allowed-direction",
        ),
        pytest.param(
            "job_title",
            "Lead",
            "Boss",
            {"has_agreed": False, "huma_seen": "Engineer"},
            {},
            (UPDATE_ENTRA, AUTO_APPROVED, None),
            id="title-changed-after-activation-is-pushed",
        ),
        pytest.param(
            "job_title",
            "Lead",
            "Engineer",
            {"agreed": "Engineer"},
            {},
            (UPDATE_ENTRA, AUTO_APPROVED, None),
            id="title-changed-after-agreement-is-pushed",
        ),
        pytest.param(
            "job_title",
            "Lead",
            "Boss",
            {"agreed": "Engineer"},
            {},
            (UPDATE_ENTRA, PENDING, KIND_CONFLICT),
            id="title-changed-on-both-sides-asks",
        ),
        pytest.param(
            "job_title",
            "Engineer",
            None,
            {},
            {"backfill_positions": True},
            (UPDATE_ENTRA, AUTO_APPROVED, None),
            id="backfill-fills-missing-title",
        ),
        pytest.param(
            "job_title",
            "Engineer",
            "Boss",
            {},
            {"backfill_positions": True},
            (UPDATE_ENTRA, PENDING, KIND_INCONSISTENCY),
            id="backfill-inconsistency-asks-by-default",
        ),
        pytest.param(
            "hire_date",
            date(2021, 5, 1),
            date(2020, 1, 1),
            {"agreed": "2020-01-01"},
            {},
            (UPDATE_ENTRA, AUTO_APPROVED, None),
            id="hire-date-changed-in-huma-is-pushed",
        ),
    ],
)
def test_one_way_and_position_fields_write_their_own_way(
    field: str,
    huma: Any,
    entra: Any,
    baseline: dict[str, Any],
    policy: dict[str, Any],
    expected: tuple[str, str, str | None],
) -> None:
    rows = [{"field": field, **baseline}] if baseline else []

    row = only_row(plan_pair({field: huma}, {field: entra}, rows, Policy(**policy)))

    assert (row["action"], row["status"], row["decision_kind"]) == expected
    assert row["direction"] == (ENTRA_TO_HUMA if field == "employment_id" else HUMA_TO_ENTRA)


_ACTIVATED = datetime(2026, 2, 1, 2, 0, tzinfo=UTC)


def _activated_state(linked_at: datetime) -> dict[str, pl.DataFrame]:
    return {
        "activation": pl.DataFrame({"activated_at": [_ACTIVATED]}, schema=ACTIVATION_SCHEMA),
        "links": links_frame(("h1", "e1"), at=linked_at),
    }


@pytest.mark.parametrize(
    ("field", "huma", "entra"),
    [
        pytest.param("job_title", "Engineer", None, id="title-fills-the-empty-entra-side"),
        pytest.param("job_title", "Engineer", "Boss", id="title-replaces-entras"),
        pytest.param("hire_date", date(2026, 2, 15), None, id="hire-date-fills"),
    ],
)
def test_a_pair_first_linked_after_activation_pushes_its_position_values(
    field: str, huma: Any, entra: Any
) -> None:
    state = _activated_state(linked_at=RUN_AT)

    row = only_row(plan_pair({field: huma}, {field: entra}, **state))

    assert (row["action"], row["status"], row["direction"]) == (
        UPDATE_ENTRA,
        AUTO_APPROVED,
        HUMA_TO_ENTRA,
    )
    assert row["fields"] == [field]


def test_a_pair_linked_at_activation_records_its_position_values_at_first_sight() -> None:
    state = _activated_state(linked_at=_ACTIVATED)

    result = plan_pair({"job_title": "Engineer"}, {"job_title": "Boss"}, **state)

    assert diff_of(result, "job_title")["outcome"] == OUT_POSITION_RECORDED
    assert result.sync_plan.height == 0


def test_a_new_pair_never_clears_a_position_value_huma_does_not_have() -> None:
    state = _activated_state(linked_at=RUN_AT)

    result = plan_pair({"job_title": None}, {"job_title": "Boss"}, **state)

    assert result.sync_plan.height == 0
