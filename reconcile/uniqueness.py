"""Uniqueness over the plan: no write may make two users of one side share a key.

Huma requires phone and employment ID to be unique (SPEC §3, §6); on the Entra side the phone is
checked too, because a pushed phone an Entra user already has would hold both out of the next
run (validation demands unique keys on each side). Email is covered where creates are planned.

The check is conservative so that *any* subset of the remaining rows can be applied safely: a
value written to a user must differ from every other user's current value on that side (valid or
not) and from every other value the plan writes to that side. A clash blocks every row involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from reconcile.fields import HUMA_UNIQUE_FIELDS
from reconcile.frames import PHONE, entra_users_schema, huma_users_schema
from reconcile.keys import contains
from reconcile.outputs import VALIDATION_FAILURES_SCHEMA
from reconcile.vocabulary import (
    BLOCKED,
    CREATE_ENTRA,
    CREATE_HUMA_ACTIONS,
    HUMA,
    PATCH_ENTRA_ACTIONS,
    PATCH_HUMA_ACTIONS,
    REJECTED,
)


@dataclass(frozen=True)
class _Side:
    name: str  # as written in reasons
    id_column: str
    writes: tuple[str, ...]  # actions that may write this side
    creates: tuple[str, ...]
    source: str  # the plan column holding the values a write to this side sends
    keys: tuple[str, ...]


_HUMA: Final = _Side(
    "Huma",
    "huma_id",
    (*PATCH_HUMA_ACTIONS, *CREATE_HUMA_ACTIONS),
    CREATE_HUMA_ACTIONS,
    "entra_values",
    HUMA_UNIQUE_FIELDS,
)
_ENTRA: Final = _Side(
    "Entra",
    "entra_id",
    (*PATCH_ENTRA_ACTIONS, CREATE_ENTRA),
    (CREATE_ENTRA,),
    "huma_values",
    (PHONE,),
)


def key_schemas() -> tuple[pl.Schema, pl.Schema]:
    """The columns the uniqueness rules read of each side's users, with their snapshot dtypes:
    the id, the email key and the keys unique on that side (`hold_out_shared_with_unread`,
    `block_duplicates`), and on Entra's side what says whether an account is in scope
    (`lifecycle.in_scope`: only those hold a read account out, as in validation). Of the users
    a targeted run did not read, nothing else is needed."""
    huma, entra = huma_users_schema(), entra_users_schema()
    entra_columns = (
        _ENTRA.id_column,
        "email_key",
        *HUMA_UNIQUE_FIELDS,
        "user_type",
        "user_principal_name",
    )
    return (
        pl.Schema({name: huma[name] for name in (_HUMA.id_column, "email_key", *_HUMA.keys)}),
        pl.Schema({name: entra[name] for name in entra_columns}),
    )


def _writes(rows: pl.DataFrame, side: _Side) -> pl.DataFrame:
    """`row`, `target` (the user written, null for a create), `field`, `value` per write."""
    live = rows.with_row_index("row").filter(
        pl.col("action").is_in(side.writes) & ~pl.col("status").is_in([BLOCKED, REJECTED])
    )
    parts = [
        live.filter(pl.col("fields").list.contains(name)).select(
            "row",
            pl.when(pl.col("action").is_in(side.creates))
            .then(pl.lit(None, pl.String))
            .otherwise(pl.col(side.id_column))
            .alias("target"),
            pl.lit(name).alias("field"),
            # For a conflict: the value this side gets if the other side wins.
            pl.col(side.source).str.json_path_match(f"$.{name}").alias("value"),
        )
        for name in side.keys
    ]
    return pl.concat(parts).drop_nulls("value")


def _clashes(writes: pl.DataFrame, snapshot: pl.DataFrame, side: _Side) -> pl.DataFrame:
    """`row`, `clash` (the reason) for every write that clashes."""
    # Per key, only the snapshot's users holding a written value (an exact hashed lookup,
    # `reconcile.keys`), rather than every user's every key joined on strings.
    existing = pl.concat(
        [
            snapshot.filter(
                contains(
                    snapshot.get_column(name),
                    writes.filter(pl.col("field") == name).get_column("value"),
                )
            ).select(
                pl.col(side.id_column).alias("holder"),
                pl.lit(name).alias("field"),
                pl.col(name).alias("value"),
            )
            for name in side.keys
        ]
    )
    held = (
        writes.join(existing, on=["field", "value"])
        .filter(pl.col("target").is_null() | (pl.col("holder") != pl.col("target")))
        .group_by("row", "field", "value")
        .agg(pl.col("holder").min())
        .select(
            "row",
            pl.format(
                "{} {} is already used by {} user {}", "field", "value", pl.lit(side.name), "holder"
            ).alias("clash"),
        )
    )
    twice = writes.filter(pl.len().over("field", "value") > 1).select(
        "row",
        pl.format("{} {} would go to two {} users", "field", "value", pl.lit(side.name)).alias(
            "clash"
        ),
    )
    return (
        pl.concat([held, twice])
        .sort("row", "clash")
        .group_by("row", maintain_order=True)
        .agg(pl.col("clash").str.join("; "))
    )


def _block(rows: pl.DataFrame, snapshot: pl.DataFrame, side: _Side) -> pl.DataFrame:
    writes = _writes(rows, side)
    if writes.height == 0:
        return rows
    clashes = _clashes(writes, snapshot, side)
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


def block_duplicates(
    rows: pl.DataFrame, huma_all: pl.DataFrame, entra_all: pl.DataFrame
) -> pl.DataFrame:
    """Block the plan rows whose writes would make two users of one side share a key.

    Args:
        rows: Candidate plan rows (`SYNC_PLAN_SCHEMA`).
        huma_all: The whole Huma snapshot, valid or not.
        entra_all: The whole Entra snapshot, guests and invalid users included.

    Returns:
        `rows`, in the same order, with clashing rows `blocked` and the reason given.
    """
    return _block(_block(rows, huma_all, _HUMA), entra_all, _ENTRA)


def hold_out_shared_with_unread(
    valid: pl.DataFrame, unread: pl.DataFrame, *, side: str = HUMA
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """For a targeted run: the users of one side it read whose email, phone or employment ID a
    user of that side it did not read holds are held out, as validation holds out both users of
    a duplicate in a full run (SPEC §4: never guessed); the unread one is listed by the next full
    run.

    Args:
        valid: The valid users of `side` the run read.
        unread: The users of `side` it did not read, as last seen (the id, `email_key` and the
            unique keys at least); on Entra's side only those in scope (as validation sees them).
        side: `huma` or `entra`.

    Returns:
        `(valid, failures)`: the users still valid, and one `VALIDATION_FAILURES_SCHEMA` row
        (rule `unique`, as validation words it) per user and shared key.
    """
    id_column = _HUMA.id_column if side == HUMA else _ENTRA.id_column
    failures = pl.concat(
        [
            valid.filter(contains(valid.get_column(column), unread.get_column(column))).select(
                pl.lit(side).alias("side"),
                pl.col(id_column).alias("user_id"),
                "email_key",
                pl.lit(column).alias("field"),
                pl.col(column).cast(pl.String).alias("value"),
                pl.lit("unique").alias("rule"),
                pl.lit(f"{column} is shared with another user").alias("message"),
            )
            for column in ("email_key", *HUMA_UNIQUE_FIELDS)
        ]
    ).cast(dict(VALIDATION_FAILURES_SCHEMA))
    held = failures.get_column("user_id").implode()
    return valid.filter(~pl.col(id_column).is_in(held)), failures
