"""The decision table of SPEC §5, narrowed by §3: one place decides every field difference.

Each difference of a linked pair gets here, and nowhere else, its `case`, its `outcome` (what
`field_diffs` reports) and, when it writes or asks something, its plan row's `action`,
`direction`, `status`, `blocked_reason`, `decision_kind` and `reason`. The steps after it only
narrow a row: uniqueness and the guards block it, grouping merges one user's automatic updates,
a person's stored decision settles a pending row; none of them decides again.

The table, with H = Huma's value, E = Entra's, B = the last value both sides agreed on:

| Case                     | `case`          | The table writes               | Decided by        |
|--------------------------|-----------------|--------------------------------|-------------------|
| H = E                    | `in_sync`       | nothing; B := H                |                   |
| H ≠ E, E = B             | `huma_changed`  | Entra                          | automatic         |
| H ≠ E, H = B             | `entra_changed` | Huma                           | a person approves |
| H ≠ E, neither = B       | `both_changed`  | the side a person chooses      | a person          |
| H ≠ E, no B, both filled | `first_sync`    | the policy's initial direction | by the side       |
| one side empty, no B     | `missing_value` | the empty side                 | by the side       |

A write into Entra is automatic; a write into Huma waits for a person's approval unless the policy
auto-applies Entra → Huma; a side left to a person (`ask`) always waits. §3 then narrows the
table's write, in this order:

1. A position field of a pair without B follows the activation rule, unless the policy backfills:
   recorded at first sight when the pair was there at activation, pushed to Entra once Huma's
   value moves from the one last seen; a pair linked after activation is new and pushes it.
2. A one-way field never writes the other way: `drift`, reported, no plan row. A side left to a
   person on a one-way field becomes a yes/no question about its one direction.
3. A side that cannot take the write blocks the row, with the reason: an Entra user synchronised
   from on-premises AD; an address Huma refuses (`huma_address_refusal`); a name emptied in
   Entra, which Huma requires. A side left to a person with one such side becomes a yes/no
   question about the other side.

The address rule is SPEC §3's "Entra → Huma only when Entra `country` is ISO 3166-1 alpha-2", with
what Huma's `AddressUpdateInput` demands: every part filled, and no way to clear an address. It
is the one rule for an address into Huma, for updates here and creates (`reconcile.creates`).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from reconcile.fields import ADDRESS, UNITS_BY_NAME
from reconcile.frames import ADDRESS_COUNTRY, ADDRESS_FIELDS, FAMILY_NAME, GIVEN_NAME
from reconcile.mapping import ISO_3166_ALPHA2
from reconcile.policy import Policy
from reconcile.vocabulary import (
    ASK,
    AUTO_APPROVED,
    BLOCKED,
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
    PENDING,
    RESOLVE_CONFLICT,
    UPDATE_ENTRA,
    UPDATE_HUMA,
)

_NULL: Final = pl.lit(None, pl.String)
#: The policy's initial direction of a field, as the side the table writes.
_INITIAL_WRITE: Final = {
    HUMA_TO_ENTRA: OUT_WRITE_ENTRA,
    ENTRA_TO_HUMA: OUT_WRITE_HUMA,
    ASK: OUT_ASK,
}
#: The reason of a plan row per case (`{}`: the field), as the table says it.
_REASONS: Final = {
    HUMA_CHANGED: "Huma changed {} since both sides agreed; Huma's changes flow to Entra",
    ENTRA_CHANGED: "Entra changed {} since both sides agreed; it comes into Huma on approval",
    BOTH_CHANGED: "both sides changed {} since they agreed; a person chooses the side",
}
_FIRST_SYNC_REASON: Final = "first sync: Huma and Entra differ on {}; initial direction: {}"
_POSITION_REASON: Final = "{} changed in Huma after the connection was activated"
#: Outcomes that become plan rows (before a refused side settles a question).
_ROW_OUTCOMES: Final = (OUT_WRITE_ENTRA, OUT_WRITE_HUMA, OUT_ASK)


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


def huma_address_refusal(prefix: str = "") -> pl.Expr:
    """Why Huma cannot take the address held in the address columns; null when it can.

    Args:
        prefix: Prefix of the four address columns in the frame (`"e_"` for Entra's side of a
            pair; none for an Entra snapshot row).

    Returns:
        A String expression: the reason, or null for an address Huma takes.
    """
    parts = [pl.col(prefix + column) for column in ADDRESS_FIELDS]
    country = pl.col(prefix + ADDRESS_COUNTRY)
    return (
        pl.when(pl.all_horizontal(part.is_null() for part in parts))
        .then(pl.lit("the address is empty in Entra ID, and Huma cannot clear an address"))
        .when(country.is_not_null() & ~country.is_in(sorted(ISO_3166_ALPHA2)))
        .then(
            pl.format(
                "Entra's country {} is not an ISO 3166-1 alpha-2 code; Huma takes no such address",
                country,
            )
        )
        .when(pl.any_horizontal(part.is_null() for part in parts))
        .then(pl.lit("Huma needs line 1, postal code, city and country of an address"))
        .otherwise(_NULL)
    )


def _per_field(values: dict[str, object], dtype: pl.DataType) -> pl.Expr:
    return pl.col("field").replace_strict(values, return_dtype=dtype)


def _table_write(initial: pl.Expr) -> pl.Expr:
    """The side the table writes per case, before §3: `write_entra`, `write_huma`, or `ask` (a
    person chooses); null in sync."""
    case = pl.col("case")
    return (
        pl.when(case == HUMA_CHANGED)
        .then(pl.lit(OUT_WRITE_ENTRA))
        .when(case == ENTRA_CHANGED)
        .then(pl.lit(OUT_WRITE_HUMA))
        .when(case == BOTH_CHANGED)
        .then(pl.lit(OUT_ASK))
        .when(case == FIRST_SYNC)
        .then(initial)
        .when(case == MISSING_VALUE)
        .then(
            pl.when(pl.col("e").is_null())
            .then(pl.lit(OUT_WRITE_ENTRA))
            .otherwise(pl.lit(OUT_WRITE_HUMA))
        )
        .otherwise(_NULL)
    )


def _narrowed(write: pl.Expr, to_entra: pl.Expr, to_huma: pl.Expr, gated: pl.Expr) -> pl.Expr:
    """The outcome: the table's write narrowed by §3 (rules 1 and 2 of the module docstring)."""
    h = pl.col("h")
    return (
        pl.when(gated & ~pl.col("has_row") & ~pl.col("new_pair"))
        .then(pl.lit(OUT_POSITION_RECORDED))
        .when(gated & (h.eq_missing(pl.col("huma_seen")) | h.is_null()))
        .then(pl.lit(OUT_POSITION_NOT_PUSHED))
        .when(gated)
        .then(pl.lit(OUT_WRITE_ENTRA))
        .when(write == OUT_WRITE_ENTRA)
        .then(pl.when(to_entra).then(pl.lit(OUT_WRITE_ENTRA)).otherwise(pl.lit(OUT_DRIFT)))
        .when(write == OUT_WRITE_HUMA)
        .then(pl.when(to_huma).then(pl.lit(OUT_WRITE_HUMA)).otherwise(pl.lit(OUT_DRIFT)))
        .when(write == OUT_ASK)
        .then(
            pl.when(to_entra & to_huma)
            .then(pl.lit(OUT_ASK))
            .when(to_entra)
            .then(pl.lit(OUT_WRITE_ENTRA))
            .otherwise(pl.lit(OUT_WRITE_HUMA))
        )
        .otherwise(_NULL)
    )


def _decision_kind(gated: pl.Expr, asks_person: pl.Expr) -> pl.Expr:
    """Why a person is asked: what the table says (conflict, inconsistency), or a write into Huma
    (a missing value filled, an Entra change); null for an automatic write into Entra."""
    case = pl.col("case")
    into_huma = pl.col("outcome").is_in([OUT_WRITE_HUMA, OUT_ASK])
    return (
        pl.when(gated | ~(asks_person | into_huma))
        .then(_NULL)
        .when(case == BOTH_CHANGED)
        .then(pl.lit(KIND_CONFLICT))
        .when(case == FIRST_SYNC)
        .then(pl.lit(KIND_INCONSISTENCY))
        .when(case == MISSING_VALUE)
        .then(pl.lit(KIND_MISSING_VALUE))
        .otherwise(pl.lit(KIND_ENTRA_TO_HUMA))
    )


def _refusals() -> tuple[pl.Expr, pl.Expr]:
    """Why Entra, and why Huma, cannot take this difference's write (null when they can)."""
    field = pl.col("field")
    entra = (
        pl.when(pl.col("entra_on_premises"))
        .then(pl.lit("the Entra user is synchronised from on-premises AD; change it there"))
        .otherwise(_NULL)
    )
    huma = (
        pl.when(field == ADDRESS)
        .then(huma_address_refusal("e_"))
        .when(field.is_in([GIVEN_NAME, FAMILY_NAME]) & pl.col("e").is_null())
        .then(pl.format("{} is required in Huma and cannot be emptied", field))
        .otherwise(_NULL)
    )
    return entra, huma


def _plan_write(entra_refusal: pl.Expr, huma_refusal: pl.Expr) -> pl.Expr:
    """The side the plan row writes: the outcome, a question with one refused side settled the
    other way (rule 3); null for an outcome that is no plan row."""
    outcome = pl.col("outcome")
    asked = outcome == OUT_ASK
    return (
        pl.when(~outcome.is_in(_ROW_OUTCOMES))
        .then(_NULL)
        .when(asked & entra_refusal.is_not_null() & huma_refusal.is_null())
        .then(pl.lit(OUT_WRITE_HUMA))
        .when(asked & huma_refusal.is_not_null() & entra_refusal.is_null())
        .then(pl.lit(OUT_WRITE_ENTRA))
        .otherwise(outcome)
    )


def _reason(initial_direction: pl.Expr) -> pl.Expr:
    """Why the plan row exists, in the words of the table's case."""
    field, case = pl.col("field"), pl.col("case")
    reason = pl.when(pl.col("_gated")).then(pl.format(_POSITION_REASON, field))
    for each, template in _REASONS.items():
        reason = reason.when(case == each).then(pl.format(template, field))
    return (
        reason.when(case == FIRST_SYNC)
        .then(pl.format(_FIRST_SYNC_REASON, field, initial_direction))
        .when((case == MISSING_VALUE) & pl.col("e").is_null())
        .then(pl.format("first sync: {} is empty in Entra; filled from Huma", field))
        .otherwise(pl.format("first sync: {} is empty in Huma; filled from Entra", field))
    )


def _by_write(to_entra: pl.Expr, to_huma: pl.Expr, asked: pl.Expr = _NULL) -> pl.Expr:
    """One value per side the plan row writes (`asked` for a question); null for no row."""
    write = pl.col("_write")
    return (
        pl.when(write == OUT_WRITE_ENTRA)
        .then(to_entra)
        .when(write == OUT_WRITE_HUMA)
        .then(to_huma)
        .when(write == OUT_ASK)
        .then(asked)
        .otherwise(_NULL)
    )


def decide(diffs: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Decide every difference: the table, §3's narrowing, and the plan row's columns.

    Args:
        diffs: Differences with their baseline (`differences.with_baseline`) and link age
            (`differences.with_link_age`).
        policy: The connection's policy (initial directions, backfill, auto-apply into Huma).

    Returns:
        `diffs` plus `case`, `outcome` (`vocabulary.OUT_*`), and `action`, `direction`, `status`,
        `blocked_reason`, `decision_kind`, `reason`; `action` is null on a difference that makes
        no plan row (drift, a position value recorded or not pushed).
    """
    to_entra = _per_field(
        {u.name: HUMA_TO_ENTRA in u.directions for u in UNITS_BY_NAME.values()}, pl.Boolean()
    )
    to_huma = _per_field(
        {u.name: ENTRA_TO_HUMA in u.directions for u in UNITS_BY_NAME.values()}, pl.Boolean()
    )
    initial = _per_field(dict(policy.initial_direction), pl.String())
    position = _per_field(
        {u.name: u.position and not policy.backfill_positions for u in UNITS_BY_NAME.values()},
        pl.Boolean(),
    )
    gated, write = pl.col("_gated"), pl.col("_write")
    asks_person = ~gated & (pl.col("_table") == OUT_ASK)
    entra_refusal, huma_refusal = pl.col("_entra_refusal"), pl.col("_huma_refusal")
    both_refused = (
        pl.when(entra_refusal.is_not_null() & huma_refusal.is_not_null())
        .then(pl.format("{}; {}", huma_refusal, entra_refusal))
        .otherwise(_NULL)
    )
    into_huma = AUTO_APPROVED if policy.auto_apply_entra_to_huma else PENDING
    status = (
        pl.when(write.is_null())
        .then(_NULL)
        .when(pl.col("blocked_reason").is_not_null())
        .then(pl.lit(BLOCKED))
        .when(asks_person | (write == OUT_ASK))
        .then(pl.lit(PENDING))
        .when(write == OUT_WRITE_HUMA)
        .then(pl.lit(into_huma))
        .otherwise(pl.lit(AUTO_APPROVED))
    )
    refuses_entra, refuses_huma = _refusals()
    return (
        # The table: the case, and the side it writes.
        diffs.with_columns(
            case=three_way_case(pl.col("h"), pl.col("e"), pl.col("agreed"), pl.col("has_agreed")),
            _gated=position & ~pl.col("has_agreed"),
        )
        .with_columns(
            _table=_table_write(initial.replace_strict(_INITIAL_WRITE, return_dtype=pl.String()))
        )
        # §3 narrows it (rules 1 and 2): the outcome `field_diffs` reports, and who is asked.
        .with_columns(outcome=_narrowed(pl.col("_table"), to_entra, to_huma, gated))
        .with_columns(
            decision_kind=_decision_kind(gated, asks_person),
            _entra_refusal=refuses_entra,
            _huma_refusal=refuses_huma,
        )
        # Rule 3: a side that cannot take the write settles a question or blocks the row.
        .with_columns(_write=_plan_write(entra_refusal, huma_refusal))
        .with_columns(
            action=_by_write(
                pl.lit(UPDATE_ENTRA), pl.lit(UPDATE_HUMA), asked=pl.lit(RESOLVE_CONFLICT)
            ),
            direction=_by_write(pl.lit(HUMA_TO_ENTRA), pl.lit(ENTRA_TO_HUMA)),
            blocked_reason=_by_write(entra_refusal, huma_refusal, asked=both_refused),
            reason=pl.when(write.is_null()).then(_NULL).otherwise(_reason(initial)),
        )
        .with_columns(status=status)
        .drop("_gated", "_table", "_entra_refusal", "_huma_refusal", "_write")
    )
