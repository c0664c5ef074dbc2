"""A person's rejection holds for the exact change they saw (SPEC §7: a decision holds the values
it was made on), also when the policy later makes that kind of change automatic: HR said no to
an Entra account for this person, and switching on "create users automatically" for everyone
else does not overrule them. The change comes back (as automatic) only once its values move, as
a stale decision is asked again; a rejected Entra → Huma update stays rejected likewise when
`auto_apply_entra_to_huma` is switched on."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from reconcile.engine import plan_run
from reconcile.human_decisions import decision_row
from reconcile.policy import Policy
from reconcile.vocabulary import AUTO_APPROVED, CREATE_ENTRA, PENDING, REJECT, REJECTED, UPDATE_HUMA
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

LATER = CONTEXT.run_at + timedelta(days=1)


def _create(**fields: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    return huma_frame(huma_user("h9", "new.hire@example.com", **fields)), entra_frame()


def _entra_changed_phone(phone: str = "+4799999999") -> tuple[pl.DataFrame, pl.DataFrame]:
    return huma_frame(huma_user("h1")), entra_frame(entra_user("e1", phone=phone))


_PAIR = {
    "links": links_frame(("h1", "e1")),
    "baseline": baseline_frame(
        [{"huma_id": "h1", "field": "phone", "agreed": huma_user()["phone"]}]
    ),
}


@pytest.mark.parametrize(
    ("snapshots", "action", "before", "after", "state"),
    [
        pytest.param(
            _create,
            CREATE_ENTRA,
            Policy(),
            Policy(create_entra_users_automatically=True),
            {},
            id="create-then-automatic",
        ),
        pytest.param(
            _entra_changed_phone,
            UPDATE_HUMA,
            Policy(),
            Policy(auto_apply_entra_to_huma=True),
            _PAIR,
            id="entra-to-huma-then-automatic",
        ),
    ],
)
def test_a_rejection_outlives_a_policy_that_makes_the_change_automatic(
    snapshots, action: str, before: Policy, after: Policy, state: dict
) -> None:
    asked = plan_run(*snapshots(), state_with(**state), before, CONTEXT).sync_plan
    [row] = asked.filter(pl.col("action") == action).to_dicts()
    assert row["status"] == PENDING
    no = decision_row(row, verdict=REJECT, decided_at=CONTEXT.run_at, decided_by="hr")

    later = CONTEXT.__class__(**{**CONTEXT.__dict__, "run_at": LATER})
    again = plan_run(*snapshots(), state_with(decisions=no, **state), after, later).sync_plan
    rows = again.filter(pl.col("action") == action).select("status", "decided_by").rows()
    assert rows == [(REJECTED, "hr")], rows


def test_a_rejected_create_comes_back_automatic_once_its_values_move() -> None:
    asked = plan_run(*_create(), state_with(), Policy(), CONTEXT).sync_plan
    no = decision_row(
        asked.row(0, named=True), verdict=REJECT, decided_at=CONTEXT.run_at, decided_by="hr"
    )

    moved = plan_run(
        *_create(job_title="Chief Engineer"),
        state_with(decisions=no),
        Policy(create_entra_users_automatically=True),
        CONTEXT,
    ).sync_plan
    assert moved.select("action", "status").rows() == [(CREATE_ENTRA, AUTO_APPROVED)]


def test_a_rejected_entra_change_stays_rejected_beside_a_later_automatic_one() -> None:
    asked = plan_run(*_entra_changed_phone(), state_with(**_PAIR), Policy(), CONTEXT).sync_plan
    no = decision_row(asked.row(0, named=True), verdict=REJECT, decided_at=LATER, decided_by="hr")
    huma, entra = _entra_changed_phone()
    # Entra's given name changes too; Entra's changes are now let in without approval.
    entra = entra.with_columns(given_name=pl.lit("Annie"))
    state = _PAIR | {
        "baseline": pl.concat(
            [
                _PAIR["baseline"],
                baseline_frame([{"huma_id": "h1", "field": "given_name", "agreed": "Ann"}]),
            ]
        )
    }
    plan = plan_run(
        huma.with_columns(given_name=pl.lit("Ann")),
        entra,
        state_with(decisions=no, **state),
        Policy(auto_apply_entra_to_huma=True),
        CONTEXT,
    ).sync_plan
    rows = plan.select("fields", "status").rows()
    assert sorted(rows) == [(["given_name"], AUTO_APPROVED), (["phone"], REJECTED)], rows
