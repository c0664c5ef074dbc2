"""Who the connection looks at (SPEC §4), and the lifecycle rules of §6 for linked users, with the
notices that report them.

* In scope: Entra members (never guests), on one of the policy's scope domains when it lists any.

* Deactivated in Huma: the pair is locked, nothing is written either way; reported.
* Deleted in Huma (linked, gone from a complete snapshot; on later runs, a known deletion whose
  Entra user is not linked again): nothing happens in Entra. Re-creating the user in Huma is
  offered as a decision (`recreate_huma`), and only while the Entra user is enabled, valid, in
  scope and unchanged since it was last seen (every field's `entra_seen`).
* Disabled in Entra: nothing is deleted or deactivated in Huma; reported (fields keep syncing).
* Deleted in Entra, or out of scope now: nothing happens anywhere; reported.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from reconcile.creates import email_domain, huma_creates
from reconcile.fields import unit_text, unit_unknown
from reconcile.mapping import carried_by
from reconcile.outputs import NOTICES_SCHEMA, SYNC_PLAN_SCHEMA
from reconcile.policy import Policy
from reconcile.state import baseline_rows
from reconcile.vocabulary import (
    KIND_RECREATE,
    NOTICE_DELETED_IN_ENTRA,
    NOTICE_DELETED_IN_HUMA,
    NOTICE_DISABLED_IN_ENTRA,
    NOTICE_LOCKED,
    NOTICE_OUT_OF_SCOPE,
    RECREATE_HUMA,
)

_OFFERED: Final = "deleted in Huma: re-creating the user from Entra is offered as a decision"


def is_guest() -> pl.Expr:
    """Entra guests: `userType` Guest, or an `#EXT#` user principal name (any case). A `userType`
    Graph does not document (neither Member nor Guest) is not guessed to be a member: it counts
    as a guest; none at all (older accounts) is a member, as Graph treats it."""
    guest_type = pl.col("user_type").str.to_lowercase().ne("member").fill_null(value=False)
    # A case-blind search, not an upper-cased copy of every name: a third of the CPU, and the
    # same answer (no other character folds to E, X or T).
    external = pl.col("user_principal_name").str.contains("(?i)#EXT#")
    return guest_type | external.fill_null(value=False)


def in_scope(policy: Policy) -> pl.Expr:
    """Entra users in scope: members, and on one of `policy.entra_scope_domains` when listed."""
    member = ~is_guest()
    if not policy.entra_scope_domains:
        return member
    return member & email_domain().is_in(sorted(policy.entra_scope_domains)).fill_null(value=False)


def _notices(frame: pl.DataFrame, kind: str, message: pl.Expr | str) -> pl.DataFrame:
    text = pl.lit(message) if isinstance(message, str) else message
    return frame.select(
        pl.lit(kind).alias("kind"), "huma_id", "entra_id", "email_key", text.alias("message")
    ).cast(dict(NOTICES_SCHEMA))


def pair_notices(statuses: pl.DataFrame) -> pl.DataFrame:
    """Locked (deactivated in Huma) and disabled-in-Entra pairs.

    Args:
        statuses: `huma_id`, `entra_id`, `email_key`, `active`, `account_enabled` per pair.
    """
    locked = statuses.filter(~pl.col("active"))
    disabled = statuses.filter(pl.col("active") & ~pl.col("account_enabled").fill_null(value=True))
    return pl.concat(
        [
            _notices(locked, NOTICE_LOCKED, "deactivated in Huma: locked, no update either way"),
            _notices(
                disabled, NOTICE_DISABLED_IN_ENTRA, "disabled in Entra: nothing changes in Huma"
            ),
        ]
    )


def entra_missing_notices(entra_missing: pl.DataFrame, huma_all: pl.DataFrame) -> pl.DataFrame:
    """Links whose Entra user is gone or out of scope while the Huma user is still there."""
    present = entra_missing.join(huma_all.select("huma_id", "email_key"), on="huma_id")
    return pl.concat(
        [
            _notices(
                present.filter(~pl.col("out_of_scope")),
                NOTICE_DELETED_IN_ENTRA,
                "deleted in Entra: nothing is deleted or deactivated in Huma",
            ),
            _notices(
                present.filter(pl.col("out_of_scope")),
                NOTICE_OUT_OF_SCOPE,
                "no longer in scope in Entra (a guest, or outside the scope domains): left alone",
            ),
        ]
    )


def _changed_since_seen(
    candidates: pl.DataFrame, baseline: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """`huma_id`, `changed` (true when any field moved, or nothing was ever seen)."""
    current = pl.concat(
        [
            candidates.select(
                "huma_id",
                pl.lit(unit.name).alias("field"),
                unit_text(unit).alias("value"),
                unit_unknown(unit).alias("unknown"),
            )
            for unit in carried_by(candidates.columns)
        ]
    )
    kept = baseline_rows(baseline, candidates.get_column("huma_id"))
    compared = current.join(kept, on=["huma_id", "field"]).filter(~pl.col("unknown"))
    moved = compared.group_by("huma_id").agg(
        (~pl.col("entra_seen").eq_missing(pl.col("value"))).any().alias("changed")
    )
    return (
        candidates.select("huma_id")
        .join(moved, on="huma_id", how="left")
        .with_columns(pl.col("changed").fill_null(value=True))
    )


def deleted_in_huma(
    *,
    huma_missing: pl.DataFrame,
    entra_all: pl.DataFrame,
    entra_valid: pl.DataFrame,
    baseline: pl.DataFrame | pl.LazyFrame,
    huma_all: pl.DataFrame,
    policy: Policy,
    entra_partial: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Re-creation decisions and notices for linked users deleted in Huma.

    Args:
        huma_missing: `huma_id`, `entra_id` of links whose Huma user is gone.
        entra_all: The whole Entra snapshot.
        entra_valid: Valid in-scope Entra users.
        baseline: The kept baseline (for `entra_seen`).
        huma_all: The whole Huma snapshot (uniqueness of the address).
        policy: The default group.
        entra_partial: Entra's snapshot is partial: an Entra user absent from it was not read,
            and is never reported gone (SPEC §7).

    Returns:
        `(rows, notices)`: `recreate_huma` plan rows (null `change_id`) and one notice per user.
    """
    if huma_missing.height == 0:
        return pl.DataFrame(schema=SYNC_PLAN_SCHEMA), pl.DataFrame(schema=NOTICES_SCHEMA)
    known = huma_missing.join(
        entra_all.select(
            "entra_id", "email_key", "account_enabled", pl.lit(value=True).alias("read")
        ),
        on="entra_id",
        how="left",
    ).with_columns(
        valid=pl.col("entra_id").is_in(entra_valid.get_column("entra_id").implode()),
        # In the snapshot, whatever it holds (its key may be unknown): gone only when absent.
        read=pl.col("read").fill_null(value=False),
    )
    enabled = known.filter(pl.col("valid") & pl.col("account_enabled").fill_null(value=False))
    candidates = huma_missing.join(entra_valid, on="entra_id").join(
        enabled.select("huma_id"), on="huma_id", how="semi"
    )
    changed = _changed_since_seen(candidates, baseline)
    offered = candidates.join(changed.filter(~pl.col("changed")), on="huma_id", how="semi")
    message = (
        pl.when(~pl.col("read") & pl.lit(entra_partial))
        .then(pl.lit("deleted in Huma; the Entra user was not read (Entra's snapshot is partial)"))
        .when(~pl.col("read"))
        .then(pl.lit("deleted in Huma and gone from Entra: nothing to do"))
        .when(~pl.col("valid"))
        .then(pl.lit("deleted in Huma; the Entra user is out of scope or held out: not offered"))
        .when(~pl.col("account_enabled").fill_null(value=False))
        .then(pl.lit("deleted in Huma; the Entra user is disabled: not offered"))
        .when(pl.col("huma_id").is_in(offered.get_column("huma_id").implode()))
        .then(pl.lit(_OFFERED))
        .otherwise(pl.lit("deleted in Huma; the Entra user changed since: not offered"))
    )
    notices = _notices(known.sort("huma_id"), NOTICE_DELETED_IN_HUMA, message)
    rows = huma_creates(
        offered,
        action=RECREATE_HUMA,
        huma_all=huma_all,
        policy=policy,
        reason="deleted in Huma, unchanged in Entra: re-create the user in Huma?",
        kind=KIND_RECREATE,
    )
    return rows, notices
