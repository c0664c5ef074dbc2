"""Users on one side only, and the lifecycle rules of SPEC §6, one named case per rule.

Pins: a Huma-only active user is created in Entra (automatically or on approval), only on a
verified domain, never with `employeeId`; an Entra-only enabled member is offered to Huma on
approval, never when it would break Huma's uniqueness, and only with a default group; deactivated
Huma users are locked; a user deleted in Huma is offered for re-creation only while the Entra side
is unchanged; disabled or deleted Entra users change nothing in Huma; nothing is ever deleted.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest

from reconcile.builders import (
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)
from reconcile.engine import PlanResult, plan_run
from reconcile.fields import UNIT_NAMES
from reconcile.frames import EMPLOYMENT_ID
from reconcile.policy import Policy
from reconcile.vocabulary import (
    ACTIONS,
    AUTO_APPROVED,
    BLOCKED,
    CREATE_ENTRA,
    CREATE_HUMA,
    KIND_CREATE,
    KIND_RECREATE,
    NOTICE_DELETED_IN_ENTRA,
    NOTICE_DELETED_IN_HUMA,
    NOTICE_DISABLED_IN_ENTRA,
    NOTICE_LOCKED,
    NOTICE_OUT_OF_SCOPE,
    PENDING,
    RECREATE_HUMA,
)
from tests.reconcile.plan_helpers import CONTEXT, only_row

_GROUP = {"huma_default_group_id": "group-1"}


def _plan(huma: list[dict], entra: list[dict], policy: dict[str, Any], **state: Any) -> PlanResult:
    return plan_run(
        huma_frame(*huma), entra_frame(*entra), state_with(**state), Policy(**policy), CONTEXT
    )


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
    row = only_row(_plan([huma_user("h1", **huma)], entra, policy))

    assert (row["action"], row["status"], row["huma_id"]) == (CREATE_ENTRA, status, "h1")
    assert row["decision_kind"] == (None if status == AUTO_APPROVED else KIND_CREATE)
    assert (row["blocked_reason"] is None) == (reason is None)
    if reason:
        assert reason in row["blocked_reason"]


def test_an_entra_create_sends_the_supported_fields_but_never_employee_id() -> None:
    row = only_row(_plan([huma_user("h1")], [], {}))

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
    result = _plan([huma_user("h1", active=False)], [], {})

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
    result = _plan(huma, [entra_user("e1", **entra)], policy)

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
    assert _plan([], [entra_user("e1", **entra)], _GROUP).sync_plan.height == 0


def test_two_entra_creates_sharing_nothing_with_huma_pass() -> None:
    result = _plan(
        [],
        [
            entra_user("e1"),
            entra_user("e2", "bob@example.com", phone="+4790000002", employment_id="E2"),
        ],
        _GROUP,
    )

    assert result.sync_plan.get_column("status").to_list() == [PENDING, PENDING]


def test_a_deactivated_huma_user_is_locked() -> None:
    result = _plan(
        [huma_user("h1", active=False, phone="+4799999999")],
        [entra_user("e1")],
        {},
        links=links_frame(("h1", "e1")),
    )

    assert result.sync_plan.height == 0
    assert result.field_diffs.height == 0
    assert result.notices.select("kind", "huma_id").rows() == [(NOTICE_LOCKED, "h1")]


def _seen(**values: Any) -> pl.DataFrame:
    agreed = {
        "given_name": "Ann",
        "family_name": "Lee",
        "phone": "+4790000001",
        "address": '{"city":"Oslo","country":"NO","line1":"Storgata 1","postal_code":"0155"}',
        "employment_id": "E1",
        "hire_date": "2020-01-01",
        "job_title": "Engineer",
    } | values
    return baseline_frame({"huma_id": "h1", "field": f, "agreed": agreed[f]} for f in UNIT_NAMES)


@pytest.mark.parametrize(
    ("entra", "baseline", "offered", "message"),
    [
        pytest.param({}, _seen(), True, "offered as a decision", id="offered-when-unchanged"),
        pytest.param(
            {"phone": "+4799999999"}, _seen(), False, "changed since", id="not-when-entra-changed"
        ),
        pytest.param({}, _seen().head(0), False, "changed since", id="not-when-never-seen"),
        pytest.param({"account_enabled": False}, _seen(), False, "disabled", id="not-if-disabled"),
    ],
)
def test_a_user_deleted_in_huma_is_never_recreated_silently(
    entra: dict[str, Any], baseline: pl.DataFrame, offered: bool, message: str
) -> None:
    result = _plan(
        [],
        [entra_user("e1", **entra)],
        _GROUP,
        links=links_frame(("h1", "e1")),
        baseline=baseline,
    )

    notice = result.notices.row(0, named=True)
    assert (notice["kind"], notice["huma_id"], notice["entra_id"]) == (
        NOTICE_DELETED_IN_HUMA,
        "h1",
        "e1",
    )
    assert message in notice["message"]
    assert CREATE_HUMA not in set(result.sync_plan.get_column("action"))
    if offered:
        row = only_row(result)
        assert (row["action"], row["status"], row["decision_kind"]) == (
            RECREATE_HUMA,
            PENDING,
            KIND_RECREATE,
        )
        assert (row["huma_id"], row["entra_id"]) == ("h1", "e1")
    else:
        assert result.sync_plan.height == 0


@pytest.mark.parametrize(
    ("entra", "kind"),
    [
        pytest.param([entra_user("e1", account_enabled=False)], NOTICE_DISABLED_IN_ENTRA, id="off"),
        pytest.param([], NOTICE_DELETED_IN_ENTRA, id="deleted"),
        pytest.param([entra_user("e1", user_type="Guest")], NOTICE_OUT_OF_SCOPE, id="now-guest"),
    ],
)
def test_disabled_or_deleted_in_entra_changes_nothing_in_huma(entra: list[dict], kind: str) -> None:
    result = _plan([huma_user("h1")], entra, {}, links=links_frame(("h1", "e1")))

    assert result.notices.select("kind", "huma_id").rows() == [(kind, "h1")]
    assert result.sync_plan.filter(pl.col("huma_id") == "h1").height == 0


def test_disabled_in_entra_still_takes_huma_changes() -> None:
    result = _plan(
        [huma_user("h1", phone="+4799999999")],
        [entra_user("e1", account_enabled=False)],
        {},
        links=links_frame(("h1", "e1")),
        baseline=_seen(),
    )

    assert only_row(result)["status"] == AUTO_APPROVED


def test_no_action_deletes_or_deactivates_anything() -> None:
    assert not {action for action in ACTIONS if "delete" in action or "deactivate" in action}
