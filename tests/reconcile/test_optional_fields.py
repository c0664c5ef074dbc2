"""Optional fields (`Policy.fields`): off by default, Huma → Entra only, like any other when on.

Pins: an unknown name is refused; a field that is off adds no column, no `$select` and no plan row;
a field that is on is pushed to Entra when Huma's value differs (automatically once agreed, first
sync by the policy's initial direction or a person), an Entra edit is drift (never written to
Huma), the baseline keeps it, validation checks Graph's length limit, and a create in Entra sends
the display name from the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl
import pytest

from reconcile.baseline import baseline_changes
from reconcile.bodies import graph_create_body, graph_patch_body
from reconcile.engine import PlanResult, plan_run
from reconcile.frames import (
    ENTRA_USERS_SCHEMA,
    HUMA_USERS_SCHEMA,
    entra_users_schema,
    huma_users_schema,
)
from reconcile.policy import Policy
from reconcile.vocabulary import (
    AUTO_APPROVED,
    CREATE_ENTRA,
    HUMA_TO_ENTRA,
    OUT_DRIFT,
    UPDATE_ENTRA,
)
from resources.graph_client import USER_SELECT, user_select
from tests.reconcile.plan_helpers import CONTEXT
from tests.reference.builders import (
    baseline_frame,
    entra_user,
    huma_user,
    links_frame,
    state_with,
)

_FIELDS = ("display_name", "office", "department")
_GRAPH = {"display_name": "displayName", "office": "officeLocation", "department": "department"}


def _frame(rows: Iterable[Mapping[str, Any]], schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame([dict(row) for row in rows], schema=schema)


def _plan(
    field: str,
    huma: str | None,
    entra: str | None,
    baseline: Iterable[Mapping[str, Any]] = (),
    *,
    linked: bool = True,
    policy: Policy | None = None,
) -> PlanResult:
    policy = policy or Policy(fields=frozenset({field}))
    humas = [huma_user("h1", **{field: huma})]
    entras = [entra_user("e1", **{field: entra})] if linked else []
    return plan_run(
        _frame(humas, huma_users_schema(policy.fields)),
        _frame(entras, entra_users_schema(policy.fields)),
        state_with(
            baseline=baseline_frame([{"huma_id": "h1", **row} for row in baseline]),
            links=links_frame(("h1", "e1")) if linked else links_frame(),
        ),
        policy,
        CONTEXT,
    )


def test_unknown_field_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown optional fields \\['nickname'\\]"):
        Policy.from_dict({"fields": ["display_name", "nickname"]})
    with pytest.raises(ValueError, match="list of field names"):
        Policy.from_dict({"fields": "display_name"})
    assert Policy.from_dict({"fields": ["office"]}).fields == frozenset({"office"})
    assert Policy().fields == frozenset()


def test_fields_that_are_off_are_neither_selected_nor_carried() -> None:
    assert user_select() == USER_SELECT
    assert not {"displayName", "officeLocation", "department"} & set(USER_SELECT)
    assert huma_users_schema() == HUMA_USERS_SCHEMA
    assert entra_users_schema() == ENTRA_USERS_SCHEMA
    assert set(user_select(_FIELDS)) - set(USER_SELECT) == set(_GRAPH.values())
    assert set(huma_users_schema(["office"])) - set(HUMA_USERS_SCHEMA) == {"office"}


@pytest.mark.parametrize("field", _FIELDS)
def test_a_huma_change_is_pushed_to_entra_automatically(field: str) -> None:
    result = _plan(field, "New", "Old", [{"field": field, "agreed": "Old"}])

    [row] = result.sync_plan.iter_rows(named=True)
    assert (row["action"], row["direction"], row["status"]) == (
        UPDATE_ENTRA,
        HUMA_TO_ENTRA,
        AUTO_APPROVED,
    )
    assert row["fields"] == [field]
    assert graph_patch_body(row) == {_GRAPH[field]: "New"}


@pytest.mark.parametrize("field", _FIELDS)
def test_an_entra_edit_is_drift_never_written_to_huma(field: str) -> None:
    result = _plan(field, "Same", "Edited", [{"field": field, "agreed": "Same"}])

    assert result.sync_plan.height == 0
    [diff] = result.field_diffs.iter_rows(named=True)
    assert (diff["field"], diff["outcome"]) == (field, OUT_DRIFT)


@pytest.mark.parametrize("field", _FIELDS)
def test_a_field_that_is_off_plans_nothing(field: str) -> None:
    off = Policy()
    result = plan_run(
        _frame([huma_user("h1")], HUMA_USERS_SCHEMA),
        _frame([entra_user("e1")], ENTRA_USERS_SCHEMA),
        state_with(links=links_frame(("h1", "e1"))),
        off,
        CONTEXT,
    )
    on = _plan(field, "New", "Old", [{"field": field, "agreed": "Old"}])

    assert result.sync_plan.height == 0
    assert field not in result.huma_users.columns
    assert on.sync_plan.height == 1


def test_a_first_sync_difference_follows_the_initial_direction() -> None:
    policy = Policy(
        fields=frozenset({"department"}), initial_direction={"department": HUMA_TO_ENTRA}
    )
    result = _plan("department", "Sales", "Marketing", policy=policy)

    [row] = result.sync_plan.iter_rows(named=True)
    assert (row["action"], row["status"]) == (UPDATE_ENTRA, AUTO_APPROVED)


def test_a_field_may_not_flow_to_huma_even_as_initial_direction() -> None:
    with pytest.raises(ValueError, match="initial_direction\\['office'\\]"):
        Policy(fields=frozenset({"office"}), initial_direction={"office": "entra_to_huma"})


def test_the_baseline_keeps_the_agreed_value() -> None:
    result = _plan("office", "Oslo", "Oslo")
    applied = pl.DataFrame(schema={"change_id": pl.String, "created_id": pl.String})

    changes = baseline_changes(baseline_frame([]), result, applied)

    office = changes.filter(pl.col("field") == "office").row(0, named=True)
    assert (office["has_agreed"], office["agreed"]) == (True, "Oslo")


def test_graph_length_limit_holds_the_user_out() -> None:
    result = _plan("department", "D" * 65, "D" * 65)

    [failure] = result.validation_failures.iter_rows(named=True)
    assert (failure["field"], failure["rule"]) == ("department", "max_length")
    assert result.huma_users.height == 0


def test_a_create_in_entra_takes_its_display_name_from_the_field() -> None:
    policy = Policy(fields=frozenset({"display_name", "office"}))
    result = _plan("display_name", "Annie Lee", None, linked=False, policy=policy)

    [row] = result.sync_plan.filter(pl.col("action") == CREATE_ENTRA).iter_rows(named=True)
    body = graph_create_body(row, password="x")
    assert body["displayName"] == "Annie Lee"
    assert "display_name" in json.loads(row["to_values"])
