"""Schemas of the frames a planning run returns and of the apply step's outcomes, and the
field-level frames of a plan (`field_diffs`, `conflicts`) tied to their plan rows.

Every frame is built against its schema, so an empty frame still has the right dtypes and the
history database can store each one 1:1. Values in `*_values` columns are JSON objects mapping a
field to its canonical value (strings; dates `YYYY-MM-DD`; the address as an object with `city`,
`country`, `line1`, `postal_code`), keys sorted.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from reconcile.vocabulary import BOTH_CHANGED, EMAIL_MISMATCH, OUT_REPORT_ONLY, PAIR_ACTIONS

_TIMESTAMP: Final = pl.Datetime("us", "UTC")

#: The rule of a value that could not be read (SPEC §5): the field is unknown, and the user is
#: held out only when the value is its identity or state (`validation.IDENTITY_COLUMNS`).
UNREADABLE: Final = "unreadable"

#: One row per failed check: the user is held out of planning and listed (SPEC §4), or per value
#: that could not be read. `side`: `huma` / `entra`; `user_id`: the side's id; `rule`:
#: `required`, `unique`, `max_length`, `iso_country`, `unreadable`.
VALIDATION_FAILURES_SCHEMA: Final = pl.Schema(
    {
        "side": pl.String(),
        "user_id": pl.String(),
        "email_key": pl.String(),
        "field": pl.String(),
        "value": pl.String(),
        "rule": pl.String(),
        "message": pl.String(),
    }
)

#: One row per linked pair and differing field (both sides known), with the three values, the
#: SPEC §5 `case`, the engine's `outcome` (see `vocabulary.OUT_*`) and the plan row it fed (if any).
FIELD_DIFFS_SCHEMA: Final = pl.Schema(
    {
        "huma_id": pl.String(),
        "entra_id": pl.String(),
        "email_key": pl.String(),
        "field": pl.String(),
        "huma_value": pl.String(),
        "entra_value": pl.String(),
        "has_agreed": pl.Boolean(),
        "agreed_value": pl.String(),
        "case": pl.String(),
        "outcome": pl.String(),
        "change_id": pl.String(),
    }
)

#: One row per conflict: a field both sides changed since they agreed (`both_changed`), or the
#: email of a linked pair differing (`email_mismatch`, never written: fix it in one system).
CONFLICTS_SCHEMA: Final = pl.Schema(
    {
        "huma_id": pl.String(),
        "entra_id": pl.String(),
        "email_key": pl.String(),
        "field": pl.String(),
        "huma_value": pl.String(),
        "entra_value": pl.String(),
        "agreed_value": pl.String(),
        "case": pl.String(),
        "change_id": pl.String(),
    }
)

#: One row per intended change (SPEC §7). `direction` is null only on an undecided
#: `resolve_conflict` row. `huma_values`/`entra_values`: both sides' current values of `fields`
#: (for creates, the source side's values); `from_values`: the target's current values;
#: `to_values`: what is written. `decision_kind` is set on every row that needs a person.
SYNC_PLAN_SCHEMA: Final = pl.Schema(
    {
        "change_id": pl.String(),
        "action": pl.String(),
        "direction": pl.String(),
        "huma_id": pl.String(),
        "entra_id": pl.String(),
        "email_key": pl.String(),
        "fields": pl.List(pl.String()),
        "huma_values": pl.String(),
        "entra_values": pl.String(),
        "from_values": pl.String(),
        "to_values": pl.String(),
        "reason": pl.String(),
        "status": pl.String(),
        "blocked_reason": pl.String(),
        "decision_kind": pl.String(),
        "decided_at": _TIMESTAMP,
        "decided_by": pl.String(),
    }
)

#: One row per guard that tripped this run or is still tripped from an earlier one (SPEC §7:
#: a guard keeps stopping the writes until a person overrides it). `tripped_at`: when the run
#: that first tripped it ran. `overridden` rows were let through by a person for this run:
#: `overridden_by` names who, `override_reason` says why.
GUARD_TRIPS_SCHEMA: Final = pl.Schema(
    {
        "guard": pl.String(),
        "side": pl.String(),
        "observed": pl.Float64(),
        "threshold": pl.Float64(),
        "message": pl.String(),
        "overridden": pl.Boolean(),
        "tripped_at": _TIMESTAMP,
        "overridden_by": pl.String(),
        "override_reason": pl.String(),
    }
)

#: One row per user the plan leaves alone on purpose (locked, deleted, disabled, out of scope).
NOTICES_SCHEMA: Final = pl.Schema(
    {
        "kind": pl.String(),
        "huma_id": pl.String(),
        "entra_id": pl.String(),
        "email_key": pl.String(),
        "message": pl.String(),
    }
)

#: What the apply step reports per plan row it attempted: `status` `applied` or `failed`,
#: `created_id` the new user's id for a create (set even when a create's follow-up PATCH failed),
#: `error` the remote error of a failure.
APPLY_OUTCOMES_SCHEMA: Final = pl.Schema(
    {
        "change_id": pl.String(),
        "status": pl.String(),
        "created_id": pl.String(),
        "error": pl.String(),
    }
)


def _row_of_each_field(planned: pl.DataFrame) -> pl.DataFrame:
    """`huma_id`, `field`, `change_id` for every field a pair's plan row carries."""
    return (
        planned.filter(pl.col("action").is_in(PAIR_ACTIONS))
        .select("huma_id", "change_id", pl.col("fields").alias("field"))
        .explode("field")
    )


def _long(decided: pl.DataFrame, mismatches: pl.DataFrame) -> pl.DataFrame:
    email_rows = mismatches.select(
        "huma_id",
        "entra_id",
        "email_key",
        pl.lit("email").alias("field"),
        "h",
        "e",
        pl.lit(value=False).alias("has_agreed"),
        pl.lit(None, pl.String).alias("agreed"),
        pl.lit(EMAIL_MISMATCH).alias("case"),
        pl.lit(OUT_REPORT_ONLY).alias("outcome"),
    )
    columns = email_rows.columns
    return pl.concat([decided.select(columns), email_rows])


def field_diffs_frame(
    decided: pl.DataFrame, mismatches: pl.DataFrame, planned: pl.DataFrame
) -> pl.DataFrame:
    """One `FIELD_DIFFS_SCHEMA` row per differing field of a linked pair.

    Args:
        decided: Decided differences (`decide.decide`).
        mismatches: Email mismatches (`differences.email_mismatches`).
        planned: The plan rows with their ids.

    Returns:
        The frame, sorted by email key and field.
    """
    return (
        _long(decided, mismatches)
        .join(_row_of_each_field(planned), on=["huma_id", "field"], how="left")
        .select(
            "huma_id",
            "entra_id",
            "email_key",
            "field",
            pl.col("h").alias("huma_value"),
            pl.col("e").alias("entra_value"),
            "has_agreed",
            pl.col("agreed").alias("agreed_value"),
            "case",
            "outcome",
            "change_id",
        )
        # One thread: a sort of this size spends more CPU splitting and merging than comparing.
        .sort("email_key", "field", "huma_id", nulls_last=True, multithreaded=False)
        .cast(dict(FIELD_DIFFS_SCHEMA))
    )


def conflicts_frame(field_diffs: pl.DataFrame) -> pl.DataFrame:
    """One `CONFLICTS_SCHEMA` row per field both sides changed, and per email mismatch: the
    `field_diffs_frame` rows of those cases, in the same order."""
    return field_diffs.filter(pl.col("case").is_in([BOTH_CHANGED, EMAIL_MISMATCH])).select(
        CONFLICTS_SCHEMA.names()
    )
