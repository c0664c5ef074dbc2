"""The field-level frames of a plan: `field_diffs` and `conflicts`, tied to their plan rows."""

from __future__ import annotations

import polars as pl

from reconcile.outputs import CONFLICTS_SCHEMA, FIELD_DIFFS_SCHEMA
from reconcile.vocabulary import (
    BOTH_CHANGED,
    EMAIL_MISMATCH,
    OUT_REPORT_ONLY,
    PAIR_ACTIONS,
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
        mismatches: Email mismatches (`compare.email_mismatches`).
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
        .sort("email_key", "field", "huma_id", nulls_last=True)
        .cast(dict(FIELD_DIFFS_SCHEMA))
    )


def conflicts_frame(field_diffs: pl.DataFrame) -> pl.DataFrame:
    """One `CONFLICTS_SCHEMA` row per field both sides changed, and per email mismatch: the
    `field_diffs_frame` rows of those cases, in the same order."""
    return field_diffs.filter(pl.col("case").is_in([BOTH_CHANGED, EMAIL_MISMATCH])).select(
        CONFLICTS_SCHEMA.names()
    )
