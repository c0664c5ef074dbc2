"""The state to keep after a run, from its plan and what the apply step actually did.

B (the agreed value) advances for a field only when both sides hold the same value after the
run: already equal in the snapshots, or made equal by a write reported `applied`. A failed or
unattempted write leaves B where it was, so the next run decides the field again. Seen values
follow the snapshots (and applied writes), except that Huma's last-seen value of a field with an
unapplied plan row stays put: a position change not yet pushed is still pushed next run.

Links gain the users the run created; a re-created Huma user takes over the deleted one's link
(and its baseline rows go). Deletions in Huma are remembered. A run whose snapshot guard tripped
learned nothing trustworthy: the state is returned unchanged. A dry run should not persist the
result at all (it wrote nothing).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from reconcile.compare import pair_frame
from reconcile.context import RunContext
from reconcile.engine import PlanResult
from reconcile.fields import UNITS, unit_text, unit_unknown
from reconcile.frames import require_schema
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.state import (
    ACTIVATION_SCHEMA,
    BASELINE_SCHEMA,
    DELETED_HUMA_USERS_SCHEMA,
    LINKS_SCHEMA,
    SyncState,
    baseline_rows,
)
from reconcile.vocabulary import (
    APPLIED,
    CREATE_ENTRA,
    CREATE_HUMA,
    ENTRA_TO_HUMA,
    GUARD_MASS_CHANGE,
    HUMA_TO_ENTRA,
    NOTICE_DELETED_IN_HUMA,
    RECREATE_HUMA,
    RESOLVE_CONFLICT,
    UPDATE_ENTRA,
    UPDATE_HUMA,
)

_KEY = ["huma_id", "field"]


def _observed(result: PlanResult) -> pl.DataFrame:
    """`huma_id`, `field`, `h`, `e` of every present, unlocked pair and field both sides know."""
    pairs = result.user_links.select("huma_id", "entra_id")
    frame = pair_frame(pairs, result.huma_users, result.entra_users).filter(pl.col("active"))
    parts = [
        frame.filter(~unit_unknown(unit, "h_unknown") & ~unit_unknown(unit, "e_unknown")).select(
            "huma_id",
            pl.lit(unit.name).alias("field"),
            unit_text(unit, "h_").alias("h"),
            unit_text(unit, "e_").alias("e"),
        )
        for unit in UNITS
    ]
    return pl.concat(parts).collect()


def _field_values(rows: pl.DataFrame) -> pl.DataFrame:
    """`huma_id`, `direction`, `field`, `value` (canonical text) per field of the rows' writes."""
    parts = [
        rows.filter(pl.col("fields").list.contains(unit.name)).select(
            "huma_id",
            "direction",
            pl.lit(unit.name).alias("field"),
            pl.col("to_values").str.json_path_match(f"$.{unit.name}").alias("value"),
        )
        for unit in UNITS
    ]
    return pl.concat(parts)


def _next_baseline(state: SyncState, result: PlanResult, applied_ids: pl.DataFrame) -> pl.DataFrame:
    pair_rows = result.sync_plan.filter(
        pl.col("action").is_in([UPDATE_ENTRA, UPDATE_HUMA, RESOLVE_CONFLICT])
    )
    written = (
        _field_values(pair_rows.join(applied_ids, on="change_id", how="semi"))
        .group_by(_KEY)
        .agg(
            pl.col("value").filter(pl.col("direction") == ENTRA_TO_HUMA).first().alias("h_new"),
            (pl.col("direction") == ENTRA_TO_HUMA).any().alias("to_huma"),
            pl.col("value").filter(pl.col("direction") == HUMA_TO_ENTRA).first().alias("e_new"),
            (pl.col("direction") == HUMA_TO_ENTRA).any().alias("to_entra"),
        )
    )
    held = (
        pair_rows.join(applied_ids, on="change_id", how="anti")
        .select("huma_id", pl.col("fields").alias("field"))
        .explode("field")
        .unique()
        .with_columns(hold=pl.lit(value=True))
    )
    now = (
        _observed(result)
        .join(written, on=_KEY, how="left")
        .join(held, on=_KEY, how="left")
        .with_columns(
            h=pl.when(pl.col("to_huma").fill_null(value=False)).then("h_new").otherwise("h"),
            e=pl.when(pl.col("to_entra").fill_null(value=False)).then("e_new").otherwise("e"),
        )
        .join(
            baseline_rows(state.baseline, result.user_links.get_column("huma_id")),
            on=_KEY,
            how="left",
        )
    )
    agree = pl.col("h").eq_missing(pl.col("e"))
    had_row = pl.col("has_agreed").is_not_null()
    updated = now.select(
        *_KEY,
        (pl.col("has_agreed").fill_null(value=False) | agree).alias("has_agreed"),
        pl.when(agree).then("h").otherwise("agreed").alias("agreed"),
        pl.when(pl.col("hold").fill_null(value=False) & had_row)
        .then("huma_seen")
        .otherwise("h")
        .alias("huma_seen"),
        pl.col("e").alias("entra_seen"),
    )
    created = _created_baseline(result, applied_ids)
    replaced = result.sync_plan.filter(pl.col("action") == RECREATE_HUMA).join(
        applied_ids, on="change_id", how="semi"
    )
    kept = (
        state.baseline.lazy()
        .join(updated.lazy().select(_KEY), on=_KEY, how="anti")
        .join(created.lazy().select(_KEY), on=_KEY, how="anti")
        .join(replaced.lazy().select("huma_id"), on="huma_id", how="anti")
    )
    rows = pl.concat([kept, updated.lazy(), created.lazy()])
    return rows.select(BASELINE_SCHEMA.names()).sort(_KEY).collect()


def _created_baseline(result: PlanResult, applied_ids: pl.DataFrame) -> pl.DataFrame:
    """Baseline rows of users created this run: what was sent is what both sides now hold."""
    rows = (
        result.sync_plan.filter(pl.col("action").is_in([CREATE_ENTRA, CREATE_HUMA, RECREATE_HUMA]))
        .join(applied_ids, on="change_id")
        .with_columns(
            huma_id=pl.when(pl.col("action") == CREATE_ENTRA)
            .then("huma_id")
            .otherwise("created_id")
        )
    )
    return _field_values(rows).select(
        *_KEY,
        pl.lit(value=True).alias("has_agreed"),
        pl.col("value").alias("agreed"),
        pl.col("value").alias("huma_seen"),
        pl.col("value").alias("entra_seen"),
    )


def _next_links(result: PlanResult, outcomes: pl.DataFrame, run_at: datetime) -> pl.DataFrame:
    """Links after the run: a create links its new user even when its follow-up write failed."""
    created = result.sync_plan.join(
        outcomes.filter(pl.col("created_id").is_not_null()).select("change_id", "created_id"),
        on="change_id",
    ).filter(pl.col("action").is_in([CREATE_ENTRA, CREATE_HUMA, RECREATE_HUMA]))
    new = created.select(
        pl.when(pl.col("action") == CREATE_ENTRA).then("huma_id").otherwise("created_id"),
        pl.when(pl.col("action") == CREATE_ENTRA)
        .then("created_id")
        .otherwise("entra_id")
        .alias("entra_id"),
        pl.lit(run_at).cast(LINKS_SCHEMA["linked_at"]).alias("linked_at"),
        pl.col("action").alias("linked_by"),
    )
    moved = created.filter(pl.col("action") == RECREATE_HUMA).select("huma_id")
    kept = result.user_links.join(moved, on="huma_id", how="anti")
    return pl.concat([kept, new]).select(LINKS_SCHEMA.names())


def next_state(
    state: SyncState, result: PlanResult, outcomes: pl.DataFrame, context: RunContext
) -> SyncState:
    """The state to keep for the next run.

    Args:
        state: The state the run was planned with.
        result: The run's plan (`plan_run`).
        outcomes: What the apply step did, one row per attempted plan row
            (`APPLY_OUTCOMES_SCHEMA`); rows not listed were not applied.
        context: The run (its time stamps new links, deletions and the activation).

    Returns:
        The next `SyncState` (decisions are kept as they are: people add them between runs).
    """
    require_schema(outcomes, APPLY_OUTCOMES_SCHEMA, "apply outcomes")
    snapshot_trips = result.guard_trips.filter(
        ~pl.col("overridden") & (pl.col("guard") != GUARD_MASS_CHANGE)
    )
    if snapshot_trips.height:
        return state
    applied_ids = outcomes.filter(pl.col("status") == APPLIED).select("change_id", "created_id")
    deleted = (
        result.notices.filter(pl.col("kind") == NOTICE_DELETED_IN_HUMA)
        .join(state.deleted_huma_users, on="huma_id", how="anti")
        .select(
            "huma_id",
            "entra_id",
            "email_key",
            pl.lit(context.run_at)
            .cast(DELETED_HUMA_USERS_SCHEMA["detected_at"])
            .alias("detected_at"),
        )
    )
    activation = state.activation
    if activation.height == 0:
        activation = pl.DataFrame({"activated_at": [context.run_at]}, schema=ACTIVATION_SCHEMA)
    return SyncState(
        links=_next_links(result, outcomes, context.run_at),
        baseline=_next_baseline(state, result, applied_ids),
        activation=activation,
        deleted_huma_users=pl.concat([state.deleted_huma_users, deleted]),
        decisions=state.decisions,
    )
