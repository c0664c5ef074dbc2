"""Matching and links (SPEC §4): normalised email, guests out of scope, kept links first.

Pins: users with the same case-folded email are linked (Entra's key is `mail`, else the user
principal name); guests and users outside the policy's scope domains are never matched; a kept
link outlives an email change on either side, which then shows as a conflict of the pair (never a
create plus an orphan); held-out users are neither matched nor treated as deleted.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from reconcile.engine import plan_run
from reconcile.policy import Policy
from reconcile.vocabulary import CREATE_ENTRA, CREATE_HUMA, EMAIL_MISMATCH
from tests.reconcile.plan_helpers import CONTEXT
from tests.reference.builders import (
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)


def _links(result: Any) -> list[tuple[str, str]]:
    return sorted(result.user_links.select("huma_id", "entra_id").rows())


@pytest.mark.parametrize(
    ("huma", "entra", "policy", "linked"),
    [
        pytest.param({}, {}, {}, [("h1", "e1")], id="same-email"),
        pytest.param(
            {"email": "Ann.Lee@Example.com"},
            {"mail": "ANN.LEE@example.COM"},
            {},
            [("h1", "e1")],
            id="case-folded",
        ),
        pytest.param(
            {},
            {"mail": None, "user_principal_name": "ann.lee@example.com"},
            {},
            [("h1", "e1")],
            id="upn-when-mail-empty",
        ),
        pytest.param(
            {},
            {"mail": "ann.lee@example.com", "user_principal_name": "ann@example.onmicrosoft.com"},
            {},
            [("h1", "e1")],
            id="mail-before-upn",
        ),
        pytest.param({}, {"user_type": "Guest"}, {}, [], id="guest-out-of-scope"),
        pytest.param(
            {},
            {"mail": None, "user_principal_name": "ann.lee_example.com#EXT#@t.onmicrosoft.com"},
            {},
            [],
            id="ext-upn-out-of-scope",
        ),
        pytest.param(
            {}, {}, {"entra_scope_domains": ["other.example"]}, [], id="outside-scope-domains"
        ),
        pytest.param(
            {}, {}, {"entra_scope_domains": ["EXAMPLE.com"]}, [("h1", "e1")], id="in-scope-domain"
        ),
        pytest.param({"given_name": None}, {}, {}, [], id="held-out-huma-user-not-matched"),
    ],
)
def test_matching_by_normalised_email(
    huma: dict[str, Any], entra: dict[str, Any], policy: dict[str, Any], linked: list
) -> None:
    result = plan_run(
        huma_frame(huma_user("h1", **huma)),
        entra_frame(entra_user("e1", **entra)),
        state_with(),
        Policy.from_dict(policy),
        CONTEXT,
    )

    assert _links(result) == linked


@pytest.mark.parametrize(
    ("huma", "entra"),
    [
        pytest.param({"email": "ann.new@example.com"}, {}, id="changed-in-huma"),
        pytest.param({}, {"mail": "ann.new@example.com"}, id="changed-in-entra"),
    ],
)
def test_a_link_outlives_an_email_change_which_is_a_conflict(
    huma: dict[str, Any], entra: dict[str, Any]
) -> None:
    result = plan_run(
        huma_frame(
            huma_user("h1", **huma),
            huma_user("h2", "bob@example.com", phone="+47 2", employment_id="E2"),
        ),
        entra_frame(entra_user("e1", **entra)),
        state_with(links=links_frame(("h1", "e1"))),
        Policy(),
        CONTEXT,
    )

    assert ("h1", "e1") in _links(result)
    conflict = result.conflicts.row(0, named=True)
    assert (conflict["field"], conflict["case"], conflict["change_id"]) == (
        "email",
        EMAIL_MISMATCH,
        None,
    )
    touching_h1 = result.sync_plan.filter(
        (pl.col("huma_id") == "h1") | (pl.col("entra_id") == "e1")
    )
    assert touching_h1.height == 0
    assert set(result.sync_plan.get_column("action")) <= {CREATE_ENTRA}


def test_kept_links_take_precedence_over_email() -> None:
    # h1 is linked to e2 although e1 carries h1's email: the link decides, e1 is on its own.
    result = plan_run(
        huma_frame(huma_user("h1")),
        entra_frame(
            entra_user("e1", phone=None, employment_id=None),
            entra_user("e2", "ann.lee@old.example.com"),
        ),
        state_with(links=links_frame(("h1", "e2"))),
        Policy(huma_default_group_id="group-1"),
        CONTEXT,
    )

    assert _links(result) == [("h1", "e2")]
    create = result.sync_plan.filter(pl.col("action") == CREATE_HUMA).row(0, named=True)
    assert create["entra_id"] == "e1"
    assert "already has this address" in create["blocked_reason"]


def test_a_held_out_user_keeps_its_link_and_is_not_deleted() -> None:
    result = plan_run(
        huma_frame(huma_user("h1", given_name=None)),
        entra_frame(entra_user("e1")),
        state_with(links=links_frame(("h1", "e1"))),
        Policy(),
        CONTEXT,
    )

    assert _links(result) == [("h1", "e1")]
    assert result.sync_plan.height == 0
    assert result.notices.height == 0
