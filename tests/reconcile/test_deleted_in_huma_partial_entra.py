"""A partial Entra snapshot never reports an Entra account as gone (SPEC §7: users missing from a
partial snapshot are not reported as deleted). A Huma user deleted while Entra's snapshot came
back partial, its Entra account among the users not read, was reported "deleted in Huma and gone
from Entra"; the notice now says the Entra user was not read, and nothing is offered for it."""

from __future__ import annotations

import polars as pl
import pytest

from reconcile.engine import plan_run
from reconcile.policy import Policy
from reconcile.state import RunContext
from reconcile.vocabulary import NOTICE_DELETED_IN_HUMA
from tests.reference.builders import (
    RUN_AT,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)


@pytest.mark.parametrize("entra_partial", [True, False])
def test_a_huma_deletion_names_an_unread_entra_user_as_unread(entra_partial: bool) -> None:
    state = state_with(links=links_frame(("h1", "e1"), ("h2", "e2")))
    huma = huma_frame(huma_user("h2", "b@example.com"))
    entra = entra_frame(entra_user("e2", "b@example.com"))
    context = RunContext(
        run_at=RUN_AT, verified_domains=frozenset({"example.com"}), entra_partial=entra_partial
    )

    result = plan_run(huma, entra, state, Policy(), context)

    [notice] = result.notices.filter(pl.col("kind") == NOTICE_DELETED_IN_HUMA).to_dicts()
    assert notice["huma_id"] == "h1"
    if entra_partial:
        assert "gone" not in notice["message"], notice
        assert "not read" in notice["message"], notice
    else:
        assert notice["message"] == "deleted in Huma and gone from Entra: nothing to do"
    assert result.sync_plan.is_empty()


def test_a_huma_deletion_whose_entra_user_is_there_unreadable_is_not_reported_gone() -> None:
    """The Entra user was read, but its address could not be (its key is unknown): it is held
    out, not gone."""
    state = state_with(links=links_frame(("h1", "e1")))
    unreadable = entra_user("e1", None, user_principal_name=None, email_key=None)
    unreadable["unknown_fields"] = ["mail", "user_principal_name", "email_key"]
    context = RunContext(run_at=RUN_AT, verified_domains=frozenset({"example.com"}))

    result = plan_run(huma_frame(), entra_frame(unreadable), state, Policy(), context)

    [notice] = result.notices.filter(pl.col("kind") == NOTICE_DELETED_IN_HUMA).to_dicts()
    assert "gone" not in notice["message"], notice
    assert "held out" in notice["message"], notice
