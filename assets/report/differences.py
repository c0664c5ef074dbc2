"""The report's "not synced" section: differences the run finds and never writes (SPEC §3, §4).

Two kinds, both rows of the engine's `field_diffs`: the email of a linked pair differing
(`email_mismatch`: the email is the match key and is never written), and a one-way field differing
the wrong way round (`drift`: employment ID comes only from Entra ID, hire date and job title only
from Huma). Each is counted per field and listed with both values and what a person can do; the
attachment keeps every row.
"""

from __future__ import annotations

from typing import Any, Final

import polars as pl

from assets.report import labels
from assets.report.model import Difference, DifferenceCount, Listing
from assets.report.values import value_text
from reconcile.fields import UNITS_BY_NAME
from reconcile.vocabulary import EMAIL_MISMATCH, ENTRA_TO_HUMA, OUT_DRIFT, OUT_REPORT_ONLY

#: The kinds, in the order the report shows them.
KINDS: Final = (EMAIL_MISMATCH, OUT_DRIFT)
_MISMATCH_REASON: Final = (
    "the linked accounts' emails differ; the email is never written: correct it in the system "
    "that is wrong (the accounts stay linked)"
)


def _kinds(field_diffs: pl.DataFrame) -> pl.DataFrame:
    """The rows never written, with `kind` and the kind's rank for sorting."""
    kind = pl.when(pl.col("outcome") == OUT_REPORT_ONLY).then(pl.lit(EMAIL_MISMATCH))
    return (
        field_diffs.filter(pl.col("outcome").is_in([OUT_REPORT_ONLY, OUT_DRIFT]))
        .with_columns(kind.otherwise(pl.lit(OUT_DRIFT)).alias("kind"))
        .with_columns(pl.col("kind").replace_strict(KINDS, range(len(KINDS))).alias("_rank"))
    )


def drift_reason(field: str) -> str:
    """Why a one-way field's difference is not written, and where a person changes it."""
    unit = UNITS_BY_NAME.get(field)
    if unit is None or len(unit.directions) != 1:
        return f"{field} is not written in this direction"
    [direction] = unit.directions
    source, target = ("Entra ID", "Huma") if direction == ENTRA_TO_HUMA else ("Huma", "Entra ID")
    return (
        f"{field} flows {labels.label(direction, 'directions')} only: nothing is written back to "
        f"{source}; if {target}'s value is right, change it in {source}"
    )


def differences(field_diffs: pl.DataFrame, limit: int) -> Listing[Difference]:
    """Every email mismatch and drift (`FIELD_DIFFS_SCHEMA` rows), by kind, field and user."""
    rows = _kinds(field_diffs).sort("_rank", "field", "email_key", "huma_id", nulls_last=True)

    def make(row: dict[str, Any]) -> Difference:
        kind = row["kind"]
        return Difference(
            kind=kind,
            user=row["email_key"] or row["huma_id"] or row["entra_id"] or "(unknown)",
            field=row["field"],
            huma_value=value_text(row["huma_value"]),
            entra_value=value_text(row["entra_value"]),
            reason=_MISMATCH_REASON if kind == EMAIL_MISMATCH else drift_reason(row["field"]),
        )

    # The attachment lists every row, like the other sections it holds.
    return Listing(tuple(make(row) for row in rows.iter_rows(named=True)), rows.height, limit)


def difference_counts(field_diffs: pl.DataFrame) -> tuple[DifferenceCount, ...]:
    """How many differences of each kind and field, in the listing's order."""
    counts = _kinds(field_diffs).group_by("_rank", "kind", "field").len().sort("_rank", "field")
    return tuple(
        DifferenceCount(kind=kind, field=field, count=count)
        for _, kind, field, count in counts.iter_rows()
    )
