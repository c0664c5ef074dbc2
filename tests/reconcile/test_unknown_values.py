"""Values a reader could not read are unknown in planning, exactly like fields not returned.

Pins (SPEC §5): an unknown value fails no `required` check, is never written and never clears
the other side, while the user's other fields keep flowing; a user whose identity or state is
unknown is held out whole; the readers' listing of unreadable values joins the validation
failures; a Huma user whose name is unknown is not created in Entra with half a name.
"""

from __future__ import annotations

import polars as pl

from reconcile.outputs import UNREADABLE, VALIDATION_FAILURES_SCHEMA
from reconcile.validation import validate_snapshots
from reconcile.vocabulary import BLOCKED, CREATE_ENTRA, HUMA
from tests.reconcile.plan_helpers import only_row, plan_pair, plan_users
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user


def _listed(user_id: str, field: str) -> pl.DataFrame:
    row = {
        "side": HUMA,
        "user_id": user_id,
        "email_key": None,
        "field": field,
        "value": "{}",
        "rule": UNREADABLE,
        "message": f"{field} could not be read: an object where text belongs",
    }
    return pl.DataFrame([row], schema=VALIDATION_FAILURES_SCHEMA)


def test_an_unknown_hire_date_never_clears_entras() -> None:
    result = plan_pair(
        {"hire_date": None, "unknown_fields": ["hire_date"], "given_name": "Anne"},
        {},
        [{"field": "given_name", "agreed": "Ann"}, {"field": "hire_date", "agreed": "2020-01-01"}],
    )

    row = only_row(result)
    assert row["fields"] == ["given_name"]  # the other field flows
    assert "hire_date" not in result.field_diffs.get_column("field").to_list()


def test_an_unknown_required_name_keeps_the_user_and_its_listing() -> None:
    huma = huma_frame(huma_user("h1", given_name=None, unknown_fields=["given_name"]))

    valid, _, failures = validate_snapshots(
        huma, entra_frame(entra_user("e1")), _listed("h1", "given_name")
    )

    assert valid.get_column("huma_id").to_list() == ["h1"]
    assert failures.select("user_id", "field", "rule").rows() == [("h1", "given_name", UNREADABLE)]


def test_a_user_whose_identity_is_unknown_is_held_out_whole() -> None:
    huma = huma_frame(
        huma_user("h1", active=None, unknown_fields=["active"]),
        huma_user("h2", "bo@example.com", phone="+4790000002", employment_id="E2"),
    )

    valid, _, failures = validate_snapshots(
        huma, entra_frame(entra_user("e1")), _listed("h1", "active")
    )

    assert valid.get_column("huma_id").to_list() == ["h2"]
    assert failures.select("user_id", "field", "rule").rows() == [("h1", "active", UNREADABLE)]


def test_a_huma_user_with_an_unknown_name_is_not_created_in_entra() -> None:
    huma = huma_user("h1", given_name=None, unknown_fields=["given_name"])

    result = plan_users([huma], [], {"create_entra_users_automatically": True})

    row = only_row(result)
    assert (row["action"], row["status"]) == (CREATE_ENTRA, BLOCKED)
    assert "could not be read" in row["blocked_reason"]
