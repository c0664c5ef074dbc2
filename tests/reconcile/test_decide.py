"""`decide` alone gives a field difference its whole decision: one row per row of SPEC §5's table.

Pins, on one decided difference: the case, the outcome `field_diffs` reports, and the plan row's
action, direction, status and decision kind, with no later step involved; a difference that makes
no plan row (drift, a position value recorded) has no action, direction or status.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from reconcile.decide import decide
from reconcile.differences import DIFF_COLUMNS
from reconcile.policy import Policy
from reconcile.vocabulary import (
    AUTO_APPROVED,
    BLOCKED,
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
    OUT_ASK,
    OUT_DRIFT,
    OUT_POSITION_RECORDED,
    OUT_WRITE_ENTRA,
    OUT_WRITE_HUMA,
    PENDING,
    RESOLVE_CONFLICT,
    UPDATE_ENTRA,
    UPDATE_HUMA,
)

OLD, NEW, OTHER = "+4711111111", "+4722222222", "+4733333333"
_NO_ROW = (None, None, None, None)


def _decided(
    h: str | None,
    e: str | None,
    *,
    field: str = "phone",
    agreed: tuple[str | None] | None = None,
    policy: Policy | None = None,
    **columns: Any,
) -> dict[str, Any]:
    """The one decided row of a difference on `field`; `agreed` is `(B,)`, or None for no B."""
    row = {name: None for name in DIFF_COLUMNS} | {
        "huma_id": "h1",
        "entra_id": "e1",
        "email_key": "ann.lee@example.com",
        "field": field,
        "h": h,
        "e": e,
        "entra_on_premises": False,
        "has_row": agreed is not None,
        "has_agreed": agreed is not None,
        "agreed": agreed[0] if agreed else None,
        "huma_seen": None,
        "new_pair": False,
    }
    texts = [name for name in (*DIFF_COLUMNS, "agreed", "huma_seen") if name != "entra_on_premises"]
    diffs = pl.DataFrame([row | columns], schema_overrides=dict.fromkeys(texts, pl.String))
    return decide(diffs, policy or Policy()).row(0, named=True)


@pytest.mark.parametrize(
    ("decided", "case", "outcome", "expected"),
    [
        pytest.param(
            _decided(NEW, OLD, agreed=(OLD,)),
            HUMA_CHANGED,
            OUT_WRITE_ENTRA,
            (UPDATE_ENTRA, HUMA_TO_ENTRA, AUTO_APPROVED, None),
            id="huma-changed",
        ),
        pytest.param(
            _decided(OLD, NEW, agreed=(OLD,)),
            ENTRA_CHANGED,
            OUT_WRITE_HUMA,
            (UPDATE_HUMA, ENTRA_TO_HUMA, PENDING, KIND_ENTRA_TO_HUMA),
            id="entra-changed",
        ),
        pytest.param(
            _decided(OLD, NEW, agreed=(OLD,), policy=Policy(auto_apply_entra_to_huma=True)),
            ENTRA_CHANGED,
            OUT_WRITE_HUMA,
            (UPDATE_HUMA, ENTRA_TO_HUMA, AUTO_APPROVED, KIND_ENTRA_TO_HUMA),
            id="entra-changed-auto-applied",
        ),
        pytest.param(
            _decided(NEW, OTHER, agreed=(OLD,)),
            BOTH_CHANGED,
            OUT_ASK,
            (RESOLVE_CONFLICT, None, PENDING, KIND_CONFLICT),
            id="both-changed",
        ),
        pytest.param(
            _decided(NEW, OTHER),
            FIRST_SYNC,
            OUT_ASK,
            (RESOLVE_CONFLICT, None, PENDING, KIND_INCONSISTENCY),
            id="first-sync-asks",
        ),
        pytest.param(
            _decided(NEW, OTHER, policy=Policy(initial_direction={"phone": HUMA_TO_ENTRA})),
            FIRST_SYNC,
            OUT_WRITE_ENTRA,
            (UPDATE_ENTRA, HUMA_TO_ENTRA, AUTO_APPROVED, None),
            id="first-sync-initial-direction",
        ),
        pytest.param(
            _decided(None, NEW),
            MISSING_VALUE,
            OUT_WRITE_HUMA,
            (UPDATE_HUMA, ENTRA_TO_HUMA, PENDING, KIND_MISSING_VALUE),
            id="missing-in-huma",
        ),
        pytest.param(
            _decided(NEW, None),
            MISSING_VALUE,
            OUT_WRITE_ENTRA,
            (UPDATE_ENTRA, HUMA_TO_ENTRA, AUTO_APPROVED, None),
            id="missing-in-entra",
        ),
        pytest.param(
            _decided("E1", "E2", field="employment_id", agreed=("E2",)),
            HUMA_CHANGED,
            OUT_DRIFT,
            _NO_ROW,
            id="one-way-field-drifts",
        ),
        pytest.param(
            _decided("Lead", "Engineer", field="job_title"),
            FIRST_SYNC,
            OUT_POSITION_RECORDED,
            _NO_ROW,
            id="position-recorded-at-first-sight",
        ),
        pytest.param(
            _decided(NEW, OTHER, agreed=(OLD,), entra_on_premises=True),
            BOTH_CHANGED,
            OUT_ASK,
            (UPDATE_HUMA, ENTRA_TO_HUMA, PENDING, KIND_CONFLICT),
            id="question-with-a-refused-side-settles-the-other-way",
        ),
        pytest.param(
            _decided(NEW, OLD, agreed=(OLD,), entra_on_premises=True),
            HUMA_CHANGED,
            OUT_WRITE_ENTRA,
            (UPDATE_ENTRA, HUMA_TO_ENTRA, BLOCKED, None),
            id="refused-side-blocks",
        ),
    ],
)
def test_decide_gives_the_whole_decision_of_one_difference(
    decided: dict[str, Any], case: str, outcome: str, expected: tuple[Any, ...]
) -> None:
    assert (decided["case"], decided["outcome"]) == (case, outcome)
    assert (
        decided["action"],
        decided["direction"],
        decided["status"],
        decided["decision_kind"],
    ) == expected
    assert (decided["reason"] is None) == (expected[0] is None)
