"""Plan rows for linked pairs: one candidate per decided difference that writes something.

A candidate is a plan row (`SYNC_PLAN_SCHEMA`) without its `change_id`, one field per row. Before
it becomes a row, a write the target cannot take is settled here:

* Entra users synchronised from on-premises AD take no writes (Graph refuses them);
* Huma takes an address only from an ISO 3166-1 alpha-2 country with line 1, postal code and city,
  and cannot clear one (SPEC §3, `countries.huma_address_refusal`); it never takes an empty given
  or family name.

A write the target cannot take is `blocked` with the reason. A field a person would settle whose
one side cannot be written is offered the other way only (or blocked when neither can be).
"""

from __future__ import annotations

import polars as pl

from reconcile.countries import huma_address_refusal
from reconcile.fields import ADDRESS, one_entry_object
from reconcile.frames import FAMILY_NAME, GIVEN_NAME
from reconcile.outputs import SYNC_PLAN_SCHEMA
from reconcile.policy import Policy
from reconcile.vocabulary import (
    AUTO_APPROVED,
    BLOCKED,
    BOTH_CHANGED,
    ENTRA_CHANGED,
    ENTRA_TO_HUMA,
    FIRST_SYNC,
    HUMA_CHANGED,
    HUMA_TO_ENTRA,
    MISSING_VALUE,
    OUT_ASK,
    OUT_WRITE_ENTRA,
    OUT_WRITE_HUMA,
    PENDING,
    RESOLVE_CONFLICT,
    UPDATE_ENTRA,
    UPDATE_HUMA,
)

_NULL = pl.lit(None, pl.String)


def _by_outcome(to_entra: pl.Expr, to_huma: pl.Expr, *, otherwise: pl.Expr = _NULL) -> pl.Expr:
    """`to_entra` on rows writing Entra, `to_huma` on rows writing Huma, else `otherwise`."""
    outcome = pl.col("outcome")
    return (
        pl.when(outcome == OUT_WRITE_ENTRA)
        .then(to_entra)
        .when(outcome == OUT_WRITE_HUMA)
        .then(to_huma)
        .otherwise(otherwise)
    )


def _entra_block() -> pl.Expr:
    return (
        pl.when(pl.col("entra_on_premises"))
        .then(pl.lit("the Entra user is synchronised from on-premises AD; change it there"))
        .otherwise(_NULL)
    )


def _huma_block() -> pl.Expr:
    field, e = pl.col("field"), pl.col("e")
    # The address unit's canonical text is null exactly when all four parts are empty.
    address = huma_address_refusal(
        country=pl.col("e_country"), complete=pl.col("e_address_complete"), empty=e.is_null()
    )
    return (
        pl.when(field == ADDRESS)
        .then(address)
        .when(field.is_in([GIVEN_NAME, FAMILY_NAME]) & e.is_null())
        .then(pl.format("{} is required in Huma and cannot be emptied", field))
        .otherwise(_NULL)
    )


def _reason(policy: Policy) -> pl.Expr:
    field, case = pl.col("field"), pl.col("case")
    initial = pl.col("field").replace_strict(dict(policy.initial_direction), return_dtype=pl.String)
    return (
        pl.when(pl.col("gated"))
        .then(pl.format("{} changed in Huma after the connection was activated", field))
        .when(case == HUMA_CHANGED)
        .then(
            pl.format(
                "Huma changed {} since both sides agreed; Huma's changes flow to Entra", field
            )
        )
        .when(case == ENTRA_CHANGED)
        .then(
            pl.format(
                "Entra changed {} since both sides agreed; it comes into Huma on approval", field
            )
        )
        .when(case == BOTH_CHANGED)
        .then(
            pl.format("both sides changed {} since they agreed; a person chooses the side", field)
        )
        .when(case == FIRST_SYNC)
        .then(
            pl.format(
                "first sync: Huma and Entra differ on {}; initial direction: {}", field, initial
            )
        )
        .when((case == MISSING_VALUE) & pl.col("e").is_null())
        .then(pl.format("first sync: {} is empty in Entra; filled from Huma", field))
        .otherwise(pl.format("first sync: {} is empty in Huma; filled from Entra", field))
    )


def pair_candidates(decided: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Candidate plan rows for the decided differences that write (or ask to write) something.

    Args:
        decided: Output of `decide.decide`.
        policy: The connection's policy (auto-apply of Entra → Huma writes).

    Returns:
        `SYNC_PLAN_SCHEMA` rows (null `change_id`), one field each.
    """
    rows = decided.filter(pl.col("outcome").is_in([OUT_WRITE_ENTRA, OUT_WRITE_HUMA, OUT_ASK]))
    entra_block, huma_block = pl.col("entra_block"), pl.col("huma_block")
    outcome = pl.col("outcome")
    # A two-way question with one unwritable side becomes a yes/no question about the other side.
    settled = (
        pl.when((outcome == OUT_ASK) & entra_block.is_not_null() & huma_block.is_null())
        .then(pl.lit(OUT_WRITE_HUMA))
        .when((outcome == OUT_ASK) & huma_block.is_not_null() & entra_block.is_null())
        .then(pl.lit(OUT_WRITE_ENTRA))
        .otherwise(outcome)
    )
    blocked_reason = _by_outcome(
        entra_block,
        huma_block,
        otherwise=pl.when(entra_block.is_not_null() & huma_block.is_not_null())
        .then(pl.format("{}; {}", huma_block, entra_block))
        .otherwise(_NULL),
    )
    auto_huma = policy.auto_apply_entra_to_huma
    status = (
        pl.when(pl.col("blocked_reason").is_not_null())
        .then(pl.lit(BLOCKED))
        .when(pl.col("asks_person") | (outcome == OUT_ASK))
        .then(pl.lit(PENDING))
        .when(outcome == OUT_WRITE_HUMA)
        .then(pl.lit(AUTO_APPROVED if auto_huma else PENDING))
        .otherwise(pl.lit(AUTO_APPROVED))
    )
    one = one_entry_object(pl.col("field"), pl.col("h_json"))
    other = one_entry_object(pl.col("field"), pl.col("e_json"))
    return (
        rows.with_columns(entra_block=_entra_block(), huma_block=_huma_block())
        .with_columns(outcome=settled)
        .with_columns(blocked_reason=blocked_reason, huma_values=one, entra_values=other)
        .with_columns(status=status)
        .select(
            pl.lit(None, pl.String).alias("change_id"),
            _by_outcome(
                pl.lit(UPDATE_ENTRA), pl.lit(UPDATE_HUMA), otherwise=pl.lit(RESOLVE_CONFLICT)
            ).alias("action"),
            _by_outcome(pl.lit(HUMA_TO_ENTRA), pl.lit(ENTRA_TO_HUMA)).alias("direction"),
            "huma_id",
            "entra_id",
            "email_key",
            pl.concat_list(pl.col("field")).alias("fields"),
            "huma_values",
            "entra_values",
            _by_outcome(pl.col("entra_values"), pl.col("huma_values")).alias("from_values"),
            _by_outcome(pl.col("huma_values"), pl.col("entra_values")).alias("to_values"),
            _reason(policy).alias("reason"),
            "status",
            "blocked_reason",
            "decision_kind",
            pl.lit(None, SYNC_PLAN_SCHEMA["decided_at"]).alias("decided_at"),
            pl.lit(None, pl.String).alias("decided_by"),
        )
    )
