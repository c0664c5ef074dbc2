"""Huma's uniqueness rules over the plan: no write may make two Huma users share a phone or an
employment ID (SPEC §3, §6). Email is covered where creates are planned (`reconcile.creates`).

The check is conservative so that *any* subset of the remaining rows can be applied safely: a
value written to a Huma user must differ from every other Huma user's current value (valid or not)
and from every other value the plan writes to Huma. A clash blocks every row involved.
"""

from __future__ import annotations

import polars as pl

from reconcile.fields import HUMA_UNIQUE_FIELDS
from reconcile.vocabulary import (
    BLOCKED,
    CREATE_HUMA,
    RECREATE_HUMA,
    REJECTED,
    RESOLVE_CONFLICT,
    UPDATE_HUMA,
)

_TO_HUMA = (UPDATE_HUMA, RESOLVE_CONFLICT, CREATE_HUMA, RECREATE_HUMA)
_CREATES = (CREATE_HUMA, RECREATE_HUMA)


def _writes(rows: pl.DataFrame) -> pl.DataFrame:
    """`row`, `target` (the Huma id written, null for a create), `field`, `value` per Huma write."""
    live = rows.with_row_index("row").filter(
        pl.col("action").is_in(_TO_HUMA) & ~pl.col("status").is_in([BLOCKED, REJECTED])
    )
    parts = [
        live.filter(pl.col("fields").list.contains(name)).select(
            "row",
            pl.when(pl.col("action").is_in(_CREATES))
            .then(pl.lit(None, pl.String))
            .otherwise(pl.col("huma_id"))
            .alias("target"),
            pl.lit(name).alias("field"),
            # Entra's side holds the value a Huma write sends (for a conflict: if Entra wins).
            pl.col("entra_values").str.json_path_match(f"$.{name}").alias("value"),
        )
        for name in HUMA_UNIQUE_FIELDS
    ]
    return pl.concat(parts).drop_nulls("value")


def block_huma_duplicates(rows: pl.DataFrame, huma_all: pl.DataFrame) -> pl.DataFrame:
    """Block the plan rows whose Huma writes would break Huma's uniqueness rules.

    Args:
        rows: Candidate plan rows (`SYNC_PLAN_SCHEMA`).
        huma_all: The whole Huma snapshot, valid or not.

    Returns:
        `rows`, in the same order, with clashing rows `blocked` and the reason given.
    """
    writes = _writes(rows)
    if writes.height == 0:
        return rows
    values = writes.select("field", "value").unique()
    existing = pl.concat(
        [
            huma_all.select("huma_id", pl.lit(name).alias("field"), pl.col(name).alias("value"))
            for name in HUMA_UNIQUE_FIELDS
        ]
    ).join(values, on=["field", "value"], how="semi")
    held = (
        writes.join(existing, on=["field", "value"])
        .filter(pl.col("target").is_null() | (pl.col("huma_id") != pl.col("target")))
        .group_by("row", "field", "value")
        .agg(pl.col("huma_id").min())
        .select(
            "row",
            pl.format("{} {} is already used by Huma user {}", "field", "value", "huma_id").alias(
                "clash"
            ),
        )
    )
    twice = writes.filter(pl.len().over("field", "value") > 1).select(
        "row", pl.format("{} {} would go to two Huma users", "field", "value").alias("clash")
    )
    clashes = (
        pl.concat([held, twice])
        .sort("row", "clash")
        .group_by("row", maintain_order=True)
        .agg(pl.col("clash").str.join("; "))
    )
    return (
        rows.with_row_index("row")
        .join(clashes, on="row", how="left", maintain_order="left")
        .with_columns(
            status=pl.when(pl.col("clash").is_not_null())
            .then(pl.lit(BLOCKED))
            .otherwise(pl.col("status")),
            blocked_reason=pl.coalesce("blocked_reason", "clash"),
        )
        .drop("row", "clash")
    )
