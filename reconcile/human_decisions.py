"""People's decisions on pending rows (SPEC §7): approved, rejected, or stale and asked again.

A decision belongs to a row by `change_id`, or, when the values to write moved (and with them the
id), by the row's subject: the same action on the same users and fields. It holds the values it
was made on; unless both sides still show exactly those values, it is stale and the row is asked
again (`stale`, which waits for a decision exactly like `pending`). The latest decision counts.
A rejection also holds over a row the policy has since made automatic (creates in Entra, Entra →
Huma updates): the person said no to exactly that change, and a policy switched on for everyone
does not overrule them; once its values move, the change goes ahead as the policy says.
An approved conflict takes the winner's side: its direction and from/to values are filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import polars as pl

from reconcile.state import DECISIONS_SCHEMA
from reconcile.vocabulary import (
    APPROVE,
    APPROVED,
    AUTO_APPROVED,
    AWAITING_DECISION,
    CREATE_ENTRA,
    ENTRA,
    ENTRA_TO_HUMA,
    HUMA,
    HUMA_TO_ENTRA,
    PENDING,
    REJECT,
    REJECTED,
    RESOLVE_CONFLICT,
    STALE,
    UPDATE_HUMA,
)

_SUBJECT: Final = ("action", "huma_id", "entra_id", "_fields")
_DECIDED: Final = ("verdict", "winner", "d_huma", "d_entra", "d_at", "d_by")
#: The actions a policy switch makes automatic (`create_entra_users_automatically`,
#: `auto_apply_entra_to_huma`) after a person may have rejected them.
_SWITCHED_BY_POLICY: Final = (CREATE_ENTRA, UPDATE_HUMA)


def _latest(decisions: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
    return (
        decisions.with_columns(pl.col("fields").list.join(",").alias("_fields"))
        .sort("decided_at", "change_id", nulls_last=True)
        .unique(list(key), keep="last", maintain_order=True)
        .select(
            *key,
            "verdict",
            "winner",
            pl.col("huma_values").alias("d_huma"),
            pl.col("entra_values").alias("d_entra"),
            pl.col("decided_at").alias("d_at"),
            pl.col("decided_by").alias("d_by"),
        )
    )


def apply_decisions(
    rows: pl.DataFrame, decisions: pl.DataFrame, *, automatic: bool = False
) -> pl.DataFrame:
    """Turn pending rows with a decision into approved, rejected or stale rows; or, with
    `automatic`, the automatic rows a person rejected into rejected rows.

    Args:
        rows: Plan rows, with their change ids (without: matched by subject only).
        decisions: Every decision kept (`DECISIONS_SCHEMA`).
        automatic: Settle the `auto_approved` rows a policy switch made automatic instead of
            the pending ones: before automatic updates are grouped per user, one field each, so
            a rejected field never rides along in a grouped row.

    Returns:
        `rows` in the same order; only `pending` rows change (with `automatic`, only
        `auto_approved` ones a rejection of the same values names).
    """
    if decisions.height == 0:
        return rows
    # Of the automatic rows, only those a policy switch made automatic can have been asked.
    switched = pl.col("action").is_in(_SWITCHED_BY_POLICY)
    pending = pl.lit(value=False) if automatic else pl.col("status") == PENDING
    asked = (pl.col("status") == AUTO_APPROVED) & switched if automatic else pending
    indexed = rows.with_row_index("_row").with_columns(
        pl.col("fields").list.join(",").alias("_fields")
    )
    by_id = indexed.filter(asked).join(_latest(decisions, ("change_id",)), on="change_id")
    by_subject = (
        indexed.filter(asked)
        .join(by_id.select("_row"), on="_row", how="anti")
        .join(_latest(decisions, _SUBJECT), on=list(_SUBJECT), nulls_equal=True)
    )
    found = pl.concat([by_id, by_subject]).select("_row", *_DECIDED)
    merged = indexed.join(found, on="_row", how="left", maintain_order="left")
    same = pl.col("d_huma").eq_missing(pl.col("huma_values")) & pl.col("d_entra").eq_missing(
        pl.col("entra_values")
    )
    conflict = pl.col("action") == RESOLVE_CONFLICT
    winner_ok = ~conflict | pl.col("winner").is_in([HUMA, ENTRA]).fill_null(value=False)
    decided = pl.col("verdict").is_not_null()
    approve = pending & decided & same & (pl.col("verdict") == APPROVE) & winner_ok
    reject = decided & same & (pl.col("verdict") == REJECT)
    stale = pending & decided & ~same
    huma_wins = approve & conflict & (pl.col("winner") == HUMA)
    entra_wins = approve & conflict & (pl.col("winner") == ENTRA)
    return merged.with_columns(
        status=pl.when(approve)
        .then(pl.lit(APPROVED))
        .when(reject)
        .then(pl.lit(REJECTED))
        .when(stale)
        .then(pl.lit(STALE))
        .otherwise(pl.col("status")),
        direction=pl.when(huma_wins)
        .then(pl.lit(HUMA_TO_ENTRA))
        .when(entra_wins)
        .then(pl.lit(ENTRA_TO_HUMA))
        .otherwise(pl.col("direction")),
        from_values=pl.when(huma_wins)
        .then(pl.col("entra_values"))
        .when(entra_wins)
        .then(pl.col("huma_values"))
        .otherwise(pl.col("from_values")),
        to_values=pl.when(huma_wins)
        .then(pl.col("huma_values"))
        .when(entra_wins)
        .then(pl.col("entra_values"))
        .otherwise(pl.col("to_values")),
        reason=pl.when(stale)
        .then(
            pl.format(
                "{}; asked again: the values moved since the decision of {}",
                "reason",
                pl.col("d_at").dt.to_string("%Y-%m-%d %H:%M UTC"),
            )
        )
        .when(pending & decided & same & ~winner_ok & (pl.col("verdict") == APPROVE))
        .then(pl.format("{}; the approval names no winning side: asked again", "reason"))
        .otherwise(pl.col("reason")),
        decided_at=pl.when(approve | reject).then(pl.col("d_at")).otherwise(pl.col("decided_at")),
        decided_by=pl.when(approve | reject).then(pl.col("d_by")).otherwise(pl.col("decided_by")),
    ).drop("_row", "_fields", *_DECIDED)


def decision_row(
    row: Mapping[str, Any],
    *,
    verdict: str,
    decided_at: datetime,
    decided_by: str,
    winner: str | None = None,
    comment: str | None = None,
) -> pl.DataFrame:
    """Record a person's decision on a plan row that awaits one (what the CLI stores).

    Args:
        row: A `sync_plan` row (as a mapping) whose status is `pending` or `stale`.
        verdict: `approve` or `reject`.
        decided_at: When (timezone-aware).
        decided_by: Who.
        winner: `huma` or `entra`; required to approve a `resolve_conflict` row.
        comment: Why, in the decider's words (kept with the decision; empty text is none).

    Returns:
        One `DECISIONS_SCHEMA` row holding the values the decision was made on.

    Raises:
        ValueError: When the row awaits no decision, or the verdict or winner does not fit it.
    """
    if row["status"] not in AWAITING_DECISION:
        raise ValueError(f"plan row {row['change_id']} is {row['status']}, not awaiting a decision")
    if verdict not in (APPROVE, REJECT):
        raise ValueError(f"verdict must be {APPROVE!r} or {REJECT!r}, not {verdict!r}")
    if winner not in (None, HUMA, ENTRA):
        raise ValueError(f"winner must be {HUMA!r} or {ENTRA!r}, not {winner!r}")
    if verdict == APPROVE and row["action"] == RESOLVE_CONFLICT and winner is None:
        raise ValueError("approving a conflict needs the winning side (huma or entra)")
    decision = {
        "change_id": row["change_id"],
        "action": row["action"],
        "huma_id": row["huma_id"],
        "entra_id": row["entra_id"],
        "fields": list(row["fields"]),
        "verdict": verdict,
        "winner": winner,
        "huma_values": row["huma_values"],
        "entra_values": row["entra_values"],
        "decided_at": decided_at,
        "decided_by": decided_by,
        "comment": (comment or "").strip() or None,
    }
    return pl.DataFrame([decision], schema=DECISIONS_SCHEMA)
