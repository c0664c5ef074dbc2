"""Shared helpers of the engine's tests: plan one linked pair, pick rows out of a plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from reconcile.context import RunContext
from reconcile.engine import PlanResult, plan_run
from reconcile.policy import Policy
from tests.reference.builders import (
    RUN_AT,
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)

CONTEXT = RunContext(run_at=RUN_AT, verified_domains=frozenset({"example.com"}))


def plan_pair(
    huma: Mapping[str, Any] | None = None,
    entra: Mapping[str, Any] | None = None,
    baseline: Iterable[Mapping[str, Any]] = (),
    policy: Policy | None = None,
    **state: pl.DataFrame,
) -> PlanResult:
    """Plan the default pair h1 ↔ e1, linked (at `RUN_AT` unless `links=` is given), with field
    overrides and baseline rows for h1."""
    rows = [{"huma_id": "h1", **row} for row in baseline]
    state.setdefault("links", links_frame(("h1", "e1")))
    return plan_run(
        huma_frame(huma_user("h1", **(huma or {}))),
        entra_frame(entra_user("e1", **(entra or {}))),
        state_with(baseline=baseline_frame(rows), **state),
        policy or Policy(),
        CONTEXT,
    )


def only_row(result: PlanResult) -> dict[str, Any]:
    """The plan's single row (fails when there are none or several)."""
    assert result.sync_plan.height == 1, result.sync_plan
    return result.sync_plan.row(0, named=True)


def diff_of(result: PlanResult, field: str) -> dict[str, Any]:
    """The field_diffs row of one field of the default pair."""
    rows = result.field_diffs.filter(pl.col("field") == field)
    assert rows.height == 1, result.field_diffs
    return rows.row(0, named=True)


def plan_users(
    huma: list[dict[str, Any]],
    entra: list[dict[str, Any]],
    policy: Mapping[str, Any],
    **state: pl.DataFrame,
) -> PlanResult:
    """Plan the given snapshot rows with a policy from settings and state frames by name."""
    return plan_run(
        huma_frame(*huma), entra_frame(*entra), state_with(**state), Policy(**policy), CONTEXT
    )
