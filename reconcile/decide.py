"""The three-way decision of SPEC §5, then the direction rules of §3, as Polars expressions.

`three_way_case` is the table itself:

| Case                          | Result                                                   |
|-------------------------------|----------------------------------------------------------|
| H = E                         | `in_sync`: nothing; B := H                               |
| H ≠ E, E = B                  | `huma_changed`: update Entra, automatic                  |
| H ≠ E, H = B                  | `entra_changed`: update Huma, needs approval             |
| H ≠ E, neither = B            | `both_changed`: conflict, a person chooses the side      |
| H ≠ E, no B, both filled      | `first_sync`: inconsistency, policy's initial direction  |
| one side empty, no B          | `missing_value`: fill the empty side, allowed direction  |

`outcome` then applies what §3 allows per field: one-way fields never write the other way (drift),
position fields of a pair seen at activation are pushed only once changed afterwards (unless
backfilled; a pair first linked after activation is new and pushes them), and a two-way field a
person must settle is `ask`.
"""

from __future__ import annotations

import polars as pl

from reconcile.fields import UNITS_BY_NAME
from reconcile.policy import Policy
from reconcile.vocabulary import (
    ASK,
    BOTH_CHANGED,
    ENTRA_CHANGED,
    ENTRA_TO_HUMA,
    FIRST_SYNC,
    HUMA_CHANGED,
    HUMA_TO_ENTRA,
    IN_SYNC,
    KIND_CONFLICT,
    KIND_ENTRA_TO_HUMA,
    KIND_INCONSISTENCY,
    KIND_MISSING_VALUE,
    MISSING_VALUE,
    OUT_ASK,
    OUT_DRIFT,
    OUT_POSITION_NOT_PUSHED,
    OUT_POSITION_RECORDED,
    OUT_WRITE_ENTRA,
    OUT_WRITE_HUMA,
)


def three_way_case(h: pl.Expr, e: pl.Expr, b: pl.Expr, has_b: pl.Expr) -> pl.Expr:
    """The SPEC §5 case of one field (null-aware: two empty values are equal).

    Args:
        h: Huma's canonical value.
        e: Entra's canonical value.
        b: The agreed value B.
        has_b: Whether B exists (B may itself be empty).

    Returns:
        One of `in_sync`, `huma_changed`, `entra_changed`, `both_changed`, `first_sync`,
        `missing_value`.
    """
    return (
        pl.when(h.eq_missing(e))
        .then(pl.lit(IN_SYNC))
        .when(~has_b & (h.is_null() | e.is_null()))
        .then(pl.lit(MISSING_VALUE))
        .when(~has_b)
        .then(pl.lit(FIRST_SYNC))
        .when(e.eq_missing(b))
        .then(pl.lit(HUMA_CHANGED))
        .when(h.eq_missing(b))
        .then(pl.lit(ENTRA_CHANGED))
        .otherwise(pl.lit(BOTH_CHANGED))
    )


def _unit_attribute(attribute: dict[str, object], dtype: pl.DataType) -> pl.Expr:
    return pl.col("field").replace_strict(attribute, return_dtype=dtype)


def decide(diffs: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Add `case`, `outcome`, `decision_kind`, `asks_person` and `gated` to each difference.

    Args:
        diffs: Differences with their baseline (`compare.with_baseline`) and link age
            (`compare.with_link_age`).
        policy: The connection's policy (initial directions, backfill).

    Returns:
        `diffs` with five columns; `asks_person` marks rows no policy may auto-approve, `gated`
        position fields that follow the activation rule instead of the table.
    """
    to_entra = _unit_attribute(
        {u.name: HUMA_TO_ENTRA in u.directions for u in UNITS_BY_NAME.values()}, pl.Boolean()
    )
    to_huma = _unit_attribute(
        {u.name: ENTRA_TO_HUMA in u.directions for u in UNITS_BY_NAME.values()}, pl.Boolean()
    )
    two_way = to_entra & to_huma
    initial = _unit_attribute(dict(policy.initial_direction), pl.String())
    gated = _unit_attribute(
        {u.name: u.position and not policy.backfill_positions for u in UNITS_BY_NAME.values()},
        pl.Boolean(),
    ) & ~pl.col("has_agreed")
    h, e, case = pl.col("h"), pl.col("e"), pl.col("case")
    one_way_target = (
        pl.when(to_entra).then(pl.lit(OUT_WRITE_ENTRA)).otherwise(pl.lit(OUT_WRITE_HUMA))
    )
    outcome = (
        # Position fields before any agreement: recorded at first sight when the pair was there at
        # activation, pushed once changed; a pair linked later is new, so its values are pushed.
        pl.when(gated & ~pl.col("has_row") & ~pl.col("new_pair"))
        .then(pl.lit(OUT_POSITION_RECORDED))
        .when(gated & (h.eq_missing(pl.col("huma_seen")) | h.is_null()))
        .then(pl.lit(OUT_POSITION_NOT_PUSHED))
        .when(gated)
        .then(pl.lit(OUT_WRITE_ENTRA))
        .when(case == HUMA_CHANGED)
        .then(pl.when(to_entra).then(pl.lit(OUT_WRITE_ENTRA)).otherwise(pl.lit(OUT_DRIFT)))
        .when(case == ENTRA_CHANGED)
        .then(pl.when(to_huma).then(pl.lit(OUT_WRITE_HUMA)).otherwise(pl.lit(OUT_DRIFT)))
        .when((case == BOTH_CHANGED) | ((case == FIRST_SYNC) & (initial == ASK)))
        .then(pl.when(two_way).then(pl.lit(OUT_ASK)).otherwise(one_way_target))
        .when(case == FIRST_SYNC)
        .then(
            pl.when(initial == HUMA_TO_ENTRA)
            .then(pl.lit(OUT_WRITE_ENTRA))
            .otherwise(pl.lit(OUT_WRITE_HUMA))
        )
        .when(case == MISSING_VALUE)
        .then(
            pl.when(e.is_null() & to_entra)
            .then(pl.lit(OUT_WRITE_ENTRA))
            .when(h.is_null() & to_huma)
            .then(pl.lit(OUT_WRITE_HUMA))
            .otherwise(pl.lit(OUT_DRIFT))
        )
        .otherwise(pl.lit(None, pl.String))
    )
    asks_person = ~gated & ((case == BOTH_CHANGED) | ((case == FIRST_SYNC) & (initial == ASK)))
    writes_huma = pl.col("outcome").is_in([OUT_WRITE_HUMA, OUT_ASK])
    kind = (
        pl.when(gated)
        .then(pl.lit(None, pl.String))
        .when(case == BOTH_CHANGED)
        .then(pl.lit(KIND_CONFLICT))
        .when((case == FIRST_SYNC) & ((initial == ASK) | writes_huma))
        .then(pl.lit(KIND_INCONSISTENCY))
        .when(writes_huma & (case == MISSING_VALUE))
        .then(pl.lit(KIND_MISSING_VALUE))
        .when(writes_huma)
        .then(pl.lit(KIND_ENTRA_TO_HUMA))
        .otherwise(pl.lit(None, pl.String))
    )
    return (
        diffs.with_columns(
            three_way_case(h, e, pl.col("agreed"), pl.col("has_agreed")).alias("case")
        )
        .with_columns(
            outcome.alias("outcome"), asks_person.alias("asks_person"), gated.alias("gated")
        )
        .with_columns(kind.alias("decision_kind"))
    )
