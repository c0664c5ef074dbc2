"""A duplicate key is never guessed, in a targeted run either (SPEC §4): a Huma user a webhook
named who shares an email, phone or employment ID with a Huma user the run did not read is held
out and listed, as a full run holds out both users of the duplicate, and nothing is created or
written for them. Else a webhook for a second HR record of one person (a re-hire entered twice)
creates an Entra account from whichever record was named."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from reconcile.engine import plan_run
from reconcile.policy import Policy
from reconcile.uniqueness import key_schemas
from reconcile.vocabulary import HUMA
from tests.reconcile.plan_helpers import CONTEXT
from tests.reference.builders import entra_frame, huma_frame, huma_user, state_with

POLICY = Policy(create_entra_users_automatically=True)
NAMED = {"email": "new.hire@example.com", "phone": "+4791111111", "employment_id": "E9"}
OTHER = {"email": "someone@example.com", "phone": "+4792222222", "employment_id": "E8"}


@pytest.mark.parametrize(
    ("shared", "field"),
    [
        pytest.param({"email": "New.Hire@example.com"}, "email_key", id="email"),
        pytest.param({"phone": NAMED["phone"]}, "phone", id="phone"),
        pytest.param(
            {"employment_id": NAMED["employment_id"]}, "employment_id", id="employment-id"
        ),
    ],
)
def test_a_named_user_sharing_a_key_with_an_unread_one_is_held_out(
    shared: dict, field: str
) -> None:
    named = huma_frame(huma_user("h-new", **NAMED))
    other = huma_frame(huma_user("h-old", **(OTHER | shared)))
    full = plan_run(pl.concat([named, other]), entra_frame(), state_with(), POLICY, CONTEXT)
    assert full.sync_plan.is_empty()  # the control: a full run holds both out

    targeted = replace(CONTEXT, targeted=True, previous_huma_count=2, previous_entra_count=0)
    huma_keys, entra_keys = key_schemas()
    unread = (other.select(huma_keys.names()), entra_frame().select(entra_keys.names()))
    result = plan_run(named, entra_frame(), state_with(), POLICY, targeted, unread=unread)

    assert result.sync_plan.is_empty(), result.sync_plan
    assert result.huma_users.is_empty()
    failures = result.validation_failures.select("side", "user_id", "field", "rule").rows()
    assert failures == [(HUMA, "h-new", field, "unique")]
