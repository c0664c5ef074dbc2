"""The state to keep after a run, from its plan and what the apply step actually did.

B (the agreed value) advances for a field only when both sides hold the same value after the
run: already equal in the snapshots, or made equal by a write reported `applied`. A failed or
unattempted write leaves B where it was, so the next run decides the field again. Seen values
follow the snapshots (and applied writes), except that Huma's last-seen value of a field with an
unapplied plan row stays put: a position change not yet pushed is still pushed next run.

Links gain the users the run created; a re-created Huma user takes over the deleted one's link
(and its baseline rows go). A link whose account the run reported deleted ends (SPEC §4), so a
later account with that email is matched as a new pair: for an Entra deletion the pair's baseline
rows go with it; deletions in Huma are remembered, with the baseline rows the re-creation offer
of later runs compares against (`reconcile.lifecycle`). A run whose snapshot guard tripped
learned nothing trustworthy: the state is returned unchanged. A dry run should not persist the
result at all (it wrote nothing).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from reconcile.baseline import baseline_changes, next_baseline
from reconcile.creates import created_pair
from reconcile.engine import PlanResult
from reconcile.frames import require_schema
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.state import (
    ACTIVATION_SCHEMA,
    DELETED_HUMA_USERS_SCHEMA,
    LINKS_SCHEMA,
    RunContext,
    SyncState,
)
from reconcile.vocabulary import (
    APPLIED,
    CREATE_ACTIONS,
    GUARD_MASS_CHANGE,
    NOTICE_DELETED_IN_ENTRA,
    NOTICE_DELETED_IN_HUMA,
    RECREATE_HUMA,
)


def _ended_links(result: PlanResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`huma_id`, `entra_id` of links whose account the run reported deleted: in Huma, and in
    Entra."""
    ended = result.notices.join(
        result.user_links.select("huma_id", "entra_id"), on=["huma_id", "entra_id"], how="semi"
    )
    pairs = ended.select("kind", "huma_id", "entra_id")
    in_huma = pairs.filter(pl.col("kind") == NOTICE_DELETED_IN_HUMA).drop("kind")
    in_entra = pairs.filter(pl.col("kind") == NOTICE_DELETED_IN_ENTRA).drop("kind")
    return in_huma, in_entra


def _next_links(result: PlanResult, outcomes: pl.DataFrame, run_at: datetime) -> pl.DataFrame:
    """Links after the run: a create links its new user even when its follow-up write failed;
    links whose account was reported deleted end."""
    created = result.sync_plan.join(
        outcomes.filter(pl.col("created_id").is_not_null()).select("change_id", "created_id"),
        on="change_id",
    ).filter(pl.col("action").is_in(CREATE_ACTIONS))
    new = created.select(
        *created_pair(),
        pl.lit(run_at).cast(LINKS_SCHEMA["linked_at"]).alias("linked_at"),
        pl.col("action").alias("linked_by"),
    )
    moved = created.filter(pl.col("action") == RECREATE_HUMA).select("huma_id")
    kept = result.user_links.join(moved, on="huma_id", how="anti")
    for ended in _ended_links(result):
        kept = kept.join(ended, on=["huma_id", "entra_id"], how="anti")
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
    # A targeted run saw a few users: the first full run's look at everybody is the activation,
    # or every pair it links would count as new and push its position values (a backfill).
    if not state.activated and not context.targeted:
        activation = pl.DataFrame({"activated_at": [context.run_at]}, schema=ACTIVATION_SCHEMA)
    recreated = (
        result.sync_plan.filter(pl.col("action") == RECREATE_HUMA)
        .join(applied_ids, on="change_id", how="semi")
        .get_column("huma_id")
    )
    _, gone_from_entra = _ended_links(result)
    return SyncState(
        links=_next_links(result, outcomes, context.run_at),
        baseline=next_baseline(
            state.baseline,
            baseline_changes(state.baseline, result, applied_ids),
            pl.concat([recreated, gone_from_entra.get_column("huma_id")]),
        ),
        activation=activation,
        deleted_huma_users=pl.concat([state.deleted_huma_users, deleted]),
        decisions=state.decisions,
    )
