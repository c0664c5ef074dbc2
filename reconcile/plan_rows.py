"""The plan's rows in their final shape: linked pairs' rows laid out, automatic updates grouped per
user, stable change ids, and the plan's fixed order.

`pair_rows` only lays out what `reconcile.decide` decided (action, direction, status, kind,
reason), one field per row, with both sides' values and what is written. Automatic updates of one
user in one direction then become one row (one PATCH, which also spares Graph's write quota); rows
a person decides stay one per field, so each can be decided alone.

`change_id` is the first 32 hex digits of a SHA-256 over the row's connection-independent content:
action, direction, both user ids, the email key, the fields and the values to write (for an
undecided conflict, both sides' values). The same change planned twice has the same id; a change
whose values to write moved gets a new one.
"""

from __future__ import annotations

import hashlib
from typing import Final

import polars as pl

from reconcile.fields import one_entry_object
from reconcile.outputs import SYNC_PLAN_SCHEMA
from reconcile.vocabulary import (
    AUTO_APPROVED,
    ENTRA_TO_HUMA,
    HUMA_TO_ENTRA,
    RESOLVE_CONFLICT,
    UPDATE_ENTRA,
    UPDATE_HUMA,
)

_SEPARATOR: Final = "\x1f"  # the ASCII unit separator cannot occur in JSON text
_KEY: Final = ("action", "direction", "huma_id", "entra_id", "email_key")


def pair_rows(decided: pl.DataFrame) -> pl.DataFrame:
    """The plan rows of the decided differences that write or ask something, one field each.

    Args:
        decided: Output of `decide.decide`.

    Returns:
        `SYNC_PLAN_SCHEMA` rows (null `change_id`), in the order of `decided`; `from_values` and
        `to_values` are the target's and the source's values (null on an undecided conflict).
    """
    direction = pl.col("direction")

    def by_direction(to_entra: str, to_huma: str) -> pl.Expr:
        return (
            pl.when(direction == HUMA_TO_ENTRA)
            .then(pl.col(to_entra))
            .when(direction == ENTRA_TO_HUMA)
            .then(pl.col(to_huma))
            .otherwise(pl.lit(None, pl.String))
        )

    return (
        decided.filter(pl.col("action").is_not_null())
        .with_columns(
            huma_values=one_entry_object(pl.col("field"), pl.col("h_json")),
            entra_values=one_entry_object(pl.col("field"), pl.col("e_json")),
        )
        .select(
            pl.lit(None, pl.String).alias("change_id"),
            "action",
            "direction",
            "huma_id",
            "entra_id",
            "email_key",
            pl.concat_list(pl.col("field")).alias("fields"),
            "huma_values",
            "entra_values",
            by_direction("entra_values", "huma_values").alias("from_values"),
            by_direction("huma_values", "entra_values").alias("to_values"),
            "reason",
            "status",
            "blocked_reason",
            "decision_kind",
            pl.lit(None, SYNC_PLAN_SCHEMA["decided_at"]).alias("decided_at"),
            pl.lit(None, pl.String).alias("decided_by"),
        )
    )


_VALUES: Final = ("huma_values", "entra_values", "from_values", "to_values")


def _members(column: str) -> pl.Expr:
    """A one-field JSON object's member, without the braces."""
    return pl.col(column).str.slice(1, pl.col(column).str.len_chars() - 2).alias(column)


def _merged(column: str) -> pl.Expr:
    """A group's list of members as one object (members already in key order)."""
    return pl.concat_str(pl.lit("{"), pl.col(column).list.join(","), pl.lit("}")).alias(column)


def group_automatic_updates(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per user and direction for the automatic updates; other rows unchanged.

    Args:
        rows: Candidate plan rows, one field each for updates.

    Returns:
        The rows, automatic updates merged (fields and values in field-name order).
    """
    automatic = (pl.col("status") == AUTO_APPROVED) & pl.col("action").is_in(
        [UPDATE_ENTRA, UPDATE_HUMA]
    )
    single = rows.filter(automatic).with_columns(
        *(_members(column) for column in _VALUES), pl.col("fields").list.first().alias("_field")
    )
    # The texts are gathered into lists and joined after grouping: string functions run per
    # group inside the aggregation cost three times as much.
    grouped = (
        single.sort([*_KEY, "_field"], nulls_last=True)
        .group_by(_KEY, maintain_order=True)
        .agg(
            pl.col("_field").alias("fields"),
            *_VALUES,
            "reason",
            pl.col("decision_kind").first(),
        )
        .with_columns(
            *(_merged(column) for column in _VALUES),
            pl.col("reason").list.join("; "),
            change_id=pl.lit(None, pl.String),
            status=pl.lit(AUTO_APPROVED),
            blocked_reason=pl.lit(None, pl.String),
            decided_at=pl.lit(None, SYNC_PLAN_SCHEMA["decided_at"]),
            decided_by=pl.lit(None, pl.String),
        )
        .select(SYNC_PLAN_SCHEMA.names())
    )
    return pl.concat([rows.filter(~automatic), grouped])


def _sha(contents: pl.Series) -> pl.Series:
    # One list of UTF-8 bytes up front: iterating a Series value by value costs more than hashing.
    sha256 = hashlib.sha256
    texts = contents.cast(pl.Binary).to_list()
    return pl.Series([sha256(text).hexdigest()[:32] for text in texts], dtype=pl.String)


def with_change_ids(rows: pl.DataFrame) -> pl.DataFrame:
    """Fill `change_id` from each row's content (see the module docstring).

    Args:
        rows: Plan rows.

    Returns:
        The same rows with `change_id` set.
    """
    conflict = pl.col("action") == RESOLVE_CONFLICT
    written = (
        pl.when(conflict)
        .then(pl.concat_str("huma_values", "entra_values", separator=_SEPARATOR))
        .otherwise(pl.col("to_values"))
    )
    content = pl.concat_str(
        *(pl.col(name).fill_null("") for name in _KEY),
        pl.col("fields").list.join(","),
        written.fill_null(""),
        separator=_SEPARATOR,
    )
    return rows.with_columns(change_id=content.map_batches(_sha, return_dtype=pl.String))


def sort_plan(rows: pl.DataFrame) -> pl.DataFrame:
    """The plan's fixed order: email key, action, fields, id (equal input, equal frame)."""
    return rows.sort(
        pl.col("email_key"),
        pl.col("action"),
        pl.col("fields").list.join(","),
        pl.col("change_id"),
        nulls_last=True,
        # One thread: a plan's rows are few enough that splitting and merging cost more CPU
        # than they save (twice the CPU at a million users, for no less time).
        multithreaded=False,
    )
