"""Matching (SPEC §4): persisted links first, then normalised email for users not yet linked.

A link outlives email changes: once linked, a pair stays a pair, so an email changed on one side
shows as a mismatch on the pair (reported as a conflict), never as a create plus an orphan. Links
are never dropped here; a link whose user is gone tells the lifecycle rules that user was deleted
(the next state then ends it, SPEC §4).

Gone means absent from a complete snapshot: a user missing from a partial one was not read, and
has not left (SPEC §7). A Huma user deleted earlier whose Entra account is still unlinked stays
"deleted in Huma" (re-creation is offered, SPEC §6), never a plain Entra-only user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from reconcile.state import LINKS_SCHEMA

LINKED_BY_EMAIL = "email"


@dataclass(frozen=True)
class Matching:
    """Who is who this run.

    Attributes:
        links: Every link after matching (`LINKS_SCHEMA`): the kept ones plus new email matches.
        pairs: `huma_id`, `entra_id` of links whose two users are present and valid.
        huma_only: Valid Huma users (full rows) with no link.
        entra_only: Valid in-scope Entra users (full rows) with no link.
        huma_missing: `huma_id`, `entra_id` of links whose Huma user is not in a complete
            snapshot, and of earlier deletions whose Entra user is still there, unlinked.
        entra_missing: `huma_id`, `entra_id`, `out_of_scope` of links whose Entra user is not in
            a complete snapshot (`out_of_scope` false) or is no longer in scope (true).
    """

    links: pl.DataFrame
    pairs: pl.DataFrame
    huma_only: pl.DataFrame
    entra_only: pl.DataFrame
    huma_missing: pl.DataFrame
    entra_missing: pl.DataFrame


def match_users(
    *,
    links: pl.DataFrame,
    huma_valid: pl.DataFrame,
    entra_valid: pl.DataFrame,
    huma_all_ids: pl.Series,
    entra_all_ids: pl.Series,
    entra_in_scope_ids: pl.Series,
    run_at: datetime,
    deleted_huma_users: pl.DataFrame | None = None,
    huma_partial: bool = False,
    entra_partial: bool = False,
) -> Matching:
    """Link users by kept links, then by email; sort out who is on one side only.

    Args:
        links: The kept links (`LINKS_SCHEMA`).
        huma_valid: Valid Huma users (email keys unique).
        entra_valid: Valid in-scope Entra users (email keys unique).
        huma_all_ids: Every Huma id in the snapshot, valid or not.
        entra_all_ids: Every Entra id in the snapshot, guests and invalid users included.
        entra_in_scope_ids: The Entra ids in scope (valid or not).
        run_at: Stamp of new links.
        deleted_huma_users: Known deletions in Huma (`DELETED_HUMA_USERS_SCHEMA`), if any.
        huma_partial: The Huma snapshot is partial: nobody is missing from it.
        entra_partial: The Entra snapshot is partial: nobody is missing from it.

    Returns:
        The `Matching`.
    """
    unlinked_huma = huma_valid.join(links, on="huma_id", how="anti")
    unlinked_entra = entra_valid.join(links, on="entra_id", how="anti")
    matched = unlinked_huma.select("huma_id", "email_key").join(
        unlinked_entra.select("entra_id", "email_key"), on="email_key", how="inner"
    )
    new_links = matched.select(
        "huma_id",
        "entra_id",
        pl.lit(run_at).cast(LINKS_SCHEMA["linked_at"]).alias("linked_at"),
        pl.lit(LINKED_BY_EMAIL).alias("linked_by"),
    ).sort("huma_id")
    all_links = pl.concat([links, new_links])
    link_ids = all_links.select("huma_id", "entra_id")
    known = _still_deleted(deleted_huma_users, link_ids, entra_all_ids)
    pairs = link_ids.join(huma_valid.select("huma_id"), on="huma_id", how="semi").join(
        entra_valid.select("entra_id"), on="entra_id", how="semi"
    )
    # Joins, not `is_in`: hashing the smaller side is several times faster at a million ids.
    huma_missing = pl.concat(
        [link_ids.join(huma_all_ids.to_frame("huma_id"), on="huma_id", how="anti"), known]
    )
    if huma_partial:
        huma_missing = huma_missing.clear()
    entra_missing = link_ids.join(
        entra_in_scope_ids.to_frame("entra_id"), on="entra_id", how="anti"
    )
    entra_missing = entra_missing.with_columns(
        out_of_scope=pl.col("entra_id").is_in(entra_all_ids.implode())
        if entra_missing.height
        else pl.lit(value=False)
    )
    if entra_partial:
        entra_missing = entra_missing.filter(pl.col("out_of_scope"))
    return Matching(
        links=all_links,
        pairs=pairs,
        huma_only=unlinked_huma.join(matched, on="huma_id", how="anti"),
        entra_only=unlinked_entra.join(matched, on="entra_id", how="anti").join(
            known, on="entra_id", how="anti"
        ),
        huma_missing=huma_missing,
        entra_missing=entra_missing,
    )


def _still_deleted(
    deleted_huma_users: pl.DataFrame | None, links: pl.DataFrame, entra_all_ids: pl.Series
) -> pl.DataFrame:
    """`huma_id`, `entra_id` of known Huma deletions whose Entra user is in the snapshot and not
    linked again (a re-hire matched it, or a re-creation took it over)."""
    if deleted_huma_users is None:
        return pl.DataFrame(schema={"huma_id": pl.String(), "entra_id": pl.String()})
    return (
        deleted_huma_users.select("huma_id", "entra_id")
        .join(links, on="entra_id", how="anti")
        .join(entra_all_ids.to_frame("entra_id"), on="entra_id", how="semi")
        .unique(maintain_order=True)
    )
