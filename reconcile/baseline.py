"""The baseline after a run: which rows change, and the next baseline (SPEC §5, "B := H").

For every present, unlocked pair and field both payloads returned, the values after the run are
the snapshot's, except where a write was reported `applied` (the target then holds what was
written). B becomes that value where both sides hold it, and stays otherwise; seen values follow,
except that Huma's last-seen value of a field with an unapplied plan row stays put (a position
change not yet pushed is pushed next run). Only rows that differ from the kept ones are produced,
so a steady nightly run touches a few thousand rows, not seven per user.
"""

from __future__ import annotations

import polars as pl

from reconcile.creates import created_pair
from reconcile.engine import PlanResult
from reconcile.fields import Unit, unit_text, unit_unknown
from reconcile.mapping import carried_by
from reconcile.state import BASELINE_SCHEMA
from reconcile.vocabulary import (
    CREATE_ACTIONS,
    ENTRA_TO_HUMA,
    HUMA_TO_ENTRA,
    PAIR_ACTIONS,
)

_KEY = ["huma_id", "field"]


def _field_values(rows: pl.DataFrame, units: tuple[Unit, ...]) -> pl.DataFrame:
    """`huma_id`, `direction`, `field`, `value` (canonical text) per field of the rows' writes."""
    parts = [
        rows.filter(pl.col("fields").list.contains(unit.name)).select(
            "huma_id",
            "direction",
            pl.lit(unit.name).alias("field"),
            pl.col("to_values").str.json_path_match(f"$.{unit.name}").alias("value"),
        )
        for unit in units
    ]
    return pl.concat(parts)


def _pair_rows(result: PlanResult) -> pl.DataFrame:
    """`huma_id`, `hi`, `ei`: row positions of every present, unlocked pair in the snapshots."""
    huma = result.huma_users.select("huma_id", "active").with_row_index("hi")
    entra = result.entra_users.select("entra_id").with_row_index("ei")
    return (
        result.user_links.select("huma_id", "entra_id")
        .join(huma, on="huma_id")
        .filter(pl.col("active"))
        .join(entra, on="entra_id")
        .select("huma_id", "hi", "ei")
    )


def _unit_now(result: PlanResult, pairs: pl.DataFrame, unit: Unit) -> pl.DataFrame:
    """`huma_id`, `h`, `e` of one unit for every pair where both payloads returned it."""
    columns = [*unit.columns, "unknown_fields"]
    huma = result.huma_users.select(columns)[pairs.get_column("hi")]
    entra = result.entra_users.select(columns)[pairs.get_column("ei")]
    known = ~unit_unknown(unit)
    side_by_side = pl.concat(
        [
            pairs.select("huma_id"),
            huma.select(unit_text(unit).alias("h"), known.alias("h_known")),
            entra.select(unit_text(unit).alias("e"), known.alias("e_known")),
        ],
        how="horizontal",
    )
    both_known = pl.col("h_known") & pl.col("e_known")
    return side_by_side.filter(both_known).drop("h_known", "e_known")


def baseline_changes(
    baseline: pl.DataFrame | pl.LazyFrame, result: PlanResult, applied_ids: pl.DataFrame
) -> pl.DataFrame:
    """The baseline rows that are new or different after the run (`BASELINE_SCHEMA`).

    Args:
        baseline: The kept baseline, eager or lazy.
        result: The run's plan.
        applied_ids: `change_id`, `created_id` of the plan rows reported `applied`.

    Returns:
        One row per linked user and field whose kept row changes or is new, and the rows of
        users created this run (what was sent is what both sides hold).
    """
    pair_rows = result.sync_plan.filter(pl.col("action").is_in(PAIR_ACTIONS))
    written = (
        _field_values(
            pair_rows.join(applied_ids, on="change_id", how="semi"),
            carried_by(result.huma_users.columns),
        )
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
    pairs = _pair_rows(result)
    parts = [
        _unit_changes(baseline, _unit_now(result, pairs, unit), written, held, unit.name).collect()
        for unit in carried_by(result.huma_users.columns)
    ]
    return pl.concat([*parts, _created(result, applied_ids)])


def _unit_changes(
    baseline: pl.DataFrame | pl.LazyFrame,
    now: pl.DataFrame,
    written: pl.DataFrame,
    held: pl.DataFrame,
    field: str,
) -> pl.LazyFrame:
    of_field = pl.col("field") == field
    kept = (
        baseline.lazy()
        .filter(of_field)
        .select(
            "huma_id",
            pl.col("has_agreed").alias("o_has"),
            pl.col("agreed").alias("o_agreed"),
            pl.col("huma_seen").alias("o_huma"),
            pl.col("entra_seen").alias("o_entra"),
        )
    )
    after = (
        now.lazy()
        .join(written.lazy().filter(of_field).drop("field"), on="huma_id", how="left")
        .join(held.lazy().filter(of_field).drop("field"), on="huma_id", how="left")
        .with_columns(
            h=pl.when(pl.col("to_huma").fill_null(value=False)).then("h_new").otherwise("h"),
            e=pl.when(pl.col("to_entra").fill_null(value=False)).then("e_new").otherwise("e"),
        )
        .join(kept, on="huma_id", how="left")
    )
    agree = pl.col("h").eq_missing(pl.col("e"))
    had_row = pl.col("o_has").is_not_null()
    new = after.select(
        "huma_id",
        pl.lit(field).alias("field"),
        (pl.col("o_has").fill_null(value=False) | agree).alias("has_agreed"),
        pl.when(agree).then("h").otherwise("o_agreed").alias("agreed"),
        pl.when(pl.col("hold").fill_null(value=False) & had_row)
        .then("o_huma")
        .otherwise("h")
        .alias("huma_seen"),
        pl.col("e").alias("entra_seen"),
        "o_has",
        "o_agreed",
        "o_huma",
        "o_entra",
    )
    same = (
        pl.col("has_agreed").eq_missing(pl.col("o_has"))
        & pl.col("agreed").eq_missing(pl.col("o_agreed"))
        & pl.col("huma_seen").eq_missing(pl.col("o_huma"))
        & pl.col("entra_seen").eq_missing(pl.col("o_entra"))
    )
    return new.filter(~same).select(BASELINE_SCHEMA.names())


def _created(result: PlanResult, applied_ids: pl.DataFrame) -> pl.DataFrame:
    """Baseline rows of users created this run: what was sent is what both sides now hold."""
    rows = (
        result.sync_plan.filter(pl.col("action").is_in(CREATE_ACTIONS))
        .join(applied_ids, on="change_id")
        .with_columns(created_pair())
    )
    return _field_values(rows, carried_by(result.huma_users.columns)).select(
        *_KEY,
        pl.lit(value=True).alias("has_agreed"),
        pl.col("value").alias("agreed"),
        pl.col("value").alias("huma_seen"),
        pl.col("value").alias("entra_seen"),
    )


def next_baseline(
    baseline: pl.DataFrame | pl.LazyFrame,
    changes: pl.DataFrame,
    replaced_huma_ids: pl.Series,
) -> pl.DataFrame | pl.LazyFrame:
    """The kept baseline with the changed rows replaced and re-created users' old rows gone.

    Args:
        baseline: The kept baseline, eager or lazy (the result is of the same kind).
        changes: Output of `baseline_changes`.
        replaced_huma_ids: Huma ids whose link moved to a re-created user.

    Returns:
        The next baseline: kept rows in their order, then the changed ones.
    """
    rows = (
        baseline.lazy()
        .join(changes.lazy().select(_KEY), on=_KEY, how="anti")
        .filter(~pl.col("huma_id").is_in(replaced_huma_ids.implode()))
    )
    combined = pl.concat([rows, changes.lazy()]).select(BASELINE_SCHEMA.names())
    return combined.collect() if isinstance(baseline, pl.DataFrame) else combined
