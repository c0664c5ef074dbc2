"""Users on one side only (SPEC §6): creates in Entra and in Huma, and their preconditions.

Pins: a Huma-only active user is created in Entra (automatically or on approval), only on a
verified domain and with a local part Entra accepts, never over an address an Entra user holds,
never with `employeeId`; an Entra-only enabled member is offered to Huma on approval, never when
it would break Huma's uniqueness of email, phone or employment ID, and only with a default group.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest

from reconcile.engine import plan_run
from reconcile.frames import EMPLOYMENT_ID
from reconcile.policy import Policy
from reconcile.state import RunContext
from reconcile.vocabulary import (
    AUTO_APPROVED,
    BLOCKED,
    CREATE_ENTRA,
    CREATE_HUMA,
    KIND_CREATE,
    PENDING,
)
from tests.reconcile.plan_helpers import only_row, plan_users
from tests.reference.builders import (
    RUN_AT,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    state_with,
)

_GROUP = {"huma_default_group_id": "group-1"}


@pytest.mark.parametrize(
    ("huma", "entra", "policy", "status", "reason"),
    [
        pytest.param({}, [], {}, PENDING, None, id="created-on-approval-by-default"),
        pytest.param(
            {}, [], {"create_entra_users_automatically": True}, AUTO_APPROVED, None, id="automatic"
        ),
        pytest.param(
            {"email": "ann@gmail.com"}, [], {}, BLOCKED, "private address", id="private-address"
        ),
        pytest.param(
            {"email": "ann+hr@example.com"}, [], {}, BLOCKED, "local part", id="upn-characters"
        ),
        pytest.param(
            {},
            [entra_user("g1", user_type="Guest")],
            {},
            BLOCKED,
            "already has this address",
            id="address-held-by-a-guest",
        ),
        pytest.param(
            {},
            [
                entra_user(
                    "e1",
                    mail="other@example.com",
                    user_principal_name="ann.lee@example.com",
                    user_type="Guest",
                )
            ],
            {},
            BLOCKED,
            "already has this address",
            id="address-held-as-upn",
        ),
    ],
)
def test_a_huma_only_user_is_created_in_entra(
    huma: dict[str, Any], entra: list[dict], policy: dict[str, Any], status: str, reason: str | None
) -> None:
    row = only_row(plan_users([huma_user("h1", **huma)], entra, policy))

    assert (row["action"], row["status"], row["huma_id"]) == (CREATE_ENTRA, status, "h1")
    assert row["decision_kind"] == (None if status == AUTO_APPROVED else KIND_CREATE)
    assert (row["blocked_reason"] is None) == (reason is None)
    if reason:
        assert reason in row["blocked_reason"]


def test_a_create_whose_domain_nobody_could_check_says_the_domains_are_unknown() -> None:
    """Every tenant has a verified domain (its `onmicrosoft.com` one at least): no domain known
    means the run could not learn them (no `Domain.Read.All`, and no member's user principal
    name read, as in a targeted run before any complete snapshot). The create is held, and the
    reason says what is unknown instead of calling the company's own address private."""
    result = plan_run(
        huma_frame(huma_user("h1")),
        entra_frame(),
        state_with(),
        Policy(create_entra_users_automatically=True),
        RunContext(run_at=RUN_AT, verified_domains=frozenset()),
    )

    row = only_row(result)
    assert (row["action"], row["status"]) == (CREATE_ENTRA, BLOCKED)
    assert "private" not in row["blocked_reason"]
    assert "verified domains are unknown" in row["blocked_reason"]
    assert "Domain.Read.All" in row["blocked_reason"]


def test_an_entra_create_sends_the_supported_fields_but_never_employee_id() -> None:
    row = only_row(plan_users([huma_user("h1")], [], {}))

    values = json.loads(row["to_values"])
    assert EMPLOYMENT_ID not in values
    assert EMPLOYMENT_ID not in row["fields"]
    assert values["email"] == "ann.lee@example.com"
    assert values["display_name"] == "Ann Lee"
    assert values["mail_nickname"] == "ann.lee"
    assert {"given_name", "family_name", "phone", "address", "hire_date", "job_title"} <= set(
        values
    )


def test_a_deactivated_huma_only_user_is_not_created() -> None:
    result = plan_users([huma_user("h1", active=False)], [], {})

    assert result.sync_plan.height == 0


@pytest.mark.parametrize(
    ("entra", "huma", "policy", "status", "reason"),
    [
        pytest.param({}, [], _GROUP, PENDING, None, id="offered-on-approval"),
        pytest.param({}, [], {}, BLOCKED, "no default Huma group", id="needs-default-group"),
        pytest.param({"given_name": None}, [], _GROUP, BLOCKED, "given and a family", id="names"),
        pytest.param(
            {},
            [
                huma_user(
                    "h9", "ANN.LEE@example.com", family_name=None, phone="+47 9", employment_id="E9"
                )
            ],
            _GROUP,
            BLOCKED,
            "Huma user h9 already has this address",
            id="email-taken-in-huma",
        ),
        pytest.param(
            {},
            [huma_user("h9", "bob@example.com", employment_id="E9")],
            _GROUP,
            BLOCKED,
            "phone +4790000001 is already used by Huma user h9",
            id="phone-taken-in-huma",
        ),
        pytest.param(
            {},
            [huma_user("h9", "bob@example.com", phone="+47 9")],
            _GROUP,
            BLOCKED,
            "employment_id E1 is already used by Huma user h9",
            id="employment-id-taken-in-huma",
        ),
        pytest.param(
            {},
            [
                huma_user(
                    "h9",
                    "bob@example.com",
                    phone="+4790000001",
                    employment_id="E1",
                    given_name=None,
                )
            ],
            _GROUP,
            BLOCKED,
            "already used by Huma user h9",
            id="taken-by-a-held-out-huma-user",
        ),
    ],
)
def test_an_entra_only_user_is_offered_to_huma(
    entra: dict[str, Any], huma: list[dict], policy: dict[str, Any], status: str, reason: str | None
) -> None:
    result = plan_users(huma, [entra_user("e1", **entra)], policy)

    row = result.sync_plan.filter(pl.col("action") == CREATE_HUMA).row(0, named=True)
    assert (row["status"], row["decision_kind"], row["entra_id"]) == (status, KIND_CREATE, "e1")
    if reason:
        assert reason in row["blocked_reason"]
    else:
        assert row["blocked_reason"] is None


@pytest.mark.parametrize(
    "entra",
    [
        pytest.param({"account_enabled": False}, id="disabled"),
        pytest.param({"user_type": "Guest"}, id="guest"),
    ],
)
def test_disabled_or_guest_entra_users_are_not_offered_to_huma(entra: dict[str, Any]) -> None:
    assert plan_users([], [entra_user("e1", **entra)], _GROUP).sync_plan.height == 0


def test_two_entra_creates_sharing_nothing_with_huma_pass() -> None:
    result = plan_users(
        [],
        [
            entra_user("e1"),
            entra_user("e2", "bob@example.com", phone="+4790000002", employment_id="E2"),
        ],
        _GROUP,
    )

    assert result.sync_plan.get_column("status").to_list() == [PENDING, PENDING]
