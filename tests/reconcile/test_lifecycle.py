"""Lifecycle rules of SPEC §6 for linked users: locked, deleted and disabled users.

Pins: deactivated Huma users are locked (nothing planned, reported); a user deleted in Huma is
offered for re-creation only while the Entra side is enabled and unchanged since last seen, never
re-created silently; disabled or deleted Entra users change nothing in Huma (reported), a
disabled one still takes Huma's changes; no action deletes or deactivates anything.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from reconcile.fields import UNIT_NAMES
from reconcile.vocabulary import (
    ACTIONS,
    AUTO_APPROVED,
    CREATE_HUMA,
    KIND_RECREATE,
    NOTICE_DELETED_IN_ENTRA,
    NOTICE_DELETED_IN_HUMA,
    NOTICE_DISABLED_IN_ENTRA,
    NOTICE_LOCKED,
    NOTICE_OUT_OF_SCOPE,
    PENDING,
    RECREATE_HUMA,
)
from tests.reconcile.plan_helpers import only_row, plan_users
from tests.reference.builders import baseline_frame, entra_user, huma_user, links_frame

_GROUP = {"huma_default_group_id": "group-1"}


def test_a_deactivated_huma_user_is_locked() -> None:
    result = plan_users(
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
    result = plan_users(
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
    result = plan_users([huma_user("h1")], entra, {}, links=links_frame(("h1", "e1")))

    assert result.notices.select("kind", "huma_id").rows() == [(kind, "h1")]
    assert result.sync_plan.filter(pl.col("huma_id") == "h1").height == 0


def test_disabled_in_entra_still_takes_huma_changes() -> None:
    result = plan_users(
        [huma_user("h1", phone="+4799999999")],
        [entra_user("e1", account_enabled=False)],
        {},
        links=links_frame(("h1", "e1")),
        baseline=_seen(),
    )

    assert only_row(result)["status"] == AUTO_APPROVED


def test_no_action_deletes_or_deactivates_anything() -> None:
    assert not {action for action in ACTIONS if "delete" in action or "deactivate" in action}
