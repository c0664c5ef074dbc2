"""A duplicate key is never guessed on Entra's side either, in a targeted run too (SPEC §4): an
Entra account a targeted run read (by its link, or by a named user's email) that shares its
email, phone or employment ID with an in-scope Entra account the run did not read is held out
and listed, as a full run holds out both accounts of the duplicate, and nothing is written to
it. Else a webhook for one person writes to whichever of two Entra accounts its link names,
which the next full run would refuse to touch. A guest sharing a key holds nobody out, as in a
full run (validation looks at the users in scope)."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from reconcile.engine import plan_run
from reconcile.policy import Policy
from reconcile.uniqueness import key_schemas
from reconcile.vocabulary import ENTRA, UPDATE_ENTRA
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

OLD_PHONE, NEW_PHONE = "+4790000001", "+4799999991"
#: The linked account the webhook's person has.
LINKED = {"entra_id": "e1", "mail": "ann.lee@example.com", "phone": OLD_PHONE}
#: Another account of the tenant, sharing nothing unless a case says so.
OTHER = {
    "entra_id": "e2",
    "mail": "bob.berg@example.com",
    "phone": "+4790000002",
    "employment_id": "E2",
}


def _state():
    return state_with(
        links=links_frame(("h1", "e1")),
        baseline=baseline_frame([{"huma_id": "h1", "field": "phone", "agreed": OLD_PHONE}]),
    )


def _plans(other: dict) -> tuple[pl.DataFrame, object]:
    """The full run's plan over both accounts, and the targeted run's over the linked one."""
    huma = huma_frame(huma_user("h1", "ann.lee@example.com", phone=NEW_PHONE))
    linked, unread = entra_frame(entra_user(**LINKED)), entra_frame(entra_user(**other))
    full = plan_run(huma, pl.concat([linked, unread]), _state(), Policy(), CONTEXT)
    huma_keys, entra_keys = key_schemas()
    targeted = plan_run(
        huma,
        linked,
        _state(),
        Policy(),
        replace(CONTEXT, targeted=True, previous_huma_count=2, previous_entra_count=2),
        unread=(huma.clear().select(huma_keys.names()), unread.select(entra_keys.names())),
    )
    return full.sync_plan, targeted


@pytest.mark.parametrize(
    ("shared", "field"),
    [
        pytest.param(
            {"mail": None, "user_principal_name": "Ann.Lee@example.com"}, "email_key", id="email"
        ),
        pytest.param({"phone": OLD_PHONE}, "phone", id="phone"),
        pytest.param({"employment_id": "E1"}, "employment_id", id="employment-id"),
    ],
)
def test_a_read_entra_account_sharing_a_key_with_an_unread_one_is_held_out(
    shared: dict, field: str
) -> None:
    full, targeted = _plans(OTHER | shared)
    assert full.is_empty(), full  # the control: a full run holds both accounts out

    written = targeted.sync_plan.select("action", "entra_id", "status").rows()
    assert written == [], written
    assert targeted.entra_users.is_empty()
    failures = targeted.validation_failures.select("side", "user_id", "field", "rule").rows()
    assert failures == [(ENTRA, "e1", field, "unique")]


def test_a_guest_sharing_a_key_holds_nobody_out() -> None:
    guest = OTHER | {"employment_id": "E1", "user_type": "Guest"}
    full, targeted = _plans(guest)

    for plan in (full, targeted.sync_plan):
        assert plan.select("action", "entra_id").rows() == [(UPDATE_ENTRA, "e1")], plan
    assert targeted.validation_failures.is_empty()
