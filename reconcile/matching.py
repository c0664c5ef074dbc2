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

from reconcile.keys import contains, matches
from reconcile.state import LINKS_SCHEMA

LINKED_BY_EMAIL = "email"


@dataclass(frozen=True)
class Matching:
    """Who is who this run.

    Attributes:
        links: Every link after matching (`LINKS_SCHEMA`): the kept ones plus new email matches.
        pairs: `huma_id`, `entra_id` of links whose two users are present and valid, and `hi`,
            `ei`: the two users' row positions in the valid Huma and Entra frames.
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
    # Exact hashed lookups (`reconcile.keys`), not joins on the long id strings, each made once:
    # which kept link has its Huma and Entra user valid, and where (the same rows in the same
    # order as the joins, several times faster at a million ids).
    on_huma = matches(links.get_column("huma_id"), huma_valid.get_column("huma_id"))
    on_entra = matches(links.get_column("entra_id"), entra_valid.get_column("entra_id"))
    unlinked_huma = huma_valid.filter(~_marked(huma_valid.height, on_huma.get_column("j")))
    unlinked_entra = entra_valid.filter(~_marked(entra_valid.height, on_entra.get_column("j")))
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
    # New links join two valid users: they are pairs, never missing.
    fresh = new_links.select("huma_id", "entra_id")
    pairs = pl.concat(
        [
            _positioned(links.select("huma_id", "entra_id"), on_huma, on_entra),
            _positioned(
                fresh,
                matches(fresh.get_column("huma_id"), huma_valid.get_column("huma_id")),
                matches(fresh.get_column("entra_id"), entra_valid.get_column("entra_id")),
            ),
        ]
    )
    # A kept link whose user is valid is present; only the others are looked up among all.
    kept = links.select("huma_id", "entra_id")
    huma_unsure = kept.filter(~_marked(kept.height, on_huma.get_column("i")))
    huma_missing = pl.concat(
        [huma_unsure.filter(~contains(huma_unsure.get_column("huma_id"), huma_all_ids)), known]
    )
    if huma_partial:
        huma_missing = huma_missing.clear()
    entra_unsure = kept.filter(~_marked(kept.height, on_entra.get_column("i")))
    entra_missing = entra_unsure.filter(
        ~contains(entra_unsure.get_column("entra_id"), entra_in_scope_ids)
    )
    entra_missing = entra_missing.with_columns(
        out_of_scope=pl.col("entra_id").is_in(entra_all_ids.implode())
        if entra_missing.height
        else pl.lit(value=False)
    )
    if entra_partial:
        entra_missing = entra_missing.filter(pl.col("out_of_scope"))
    huma_only = unlinked_huma.filter(
        ~contains(unlinked_huma.get_column("huma_id"), matched.get_column("huma_id"))
    )
    taken = pl.concat([matched.get_column("entra_id"), known.get_column("entra_id")])
    entra_only = unlinked_entra.filter(~contains(unlinked_entra.get_column("entra_id"), taken))
    return Matching(
        links=all_links,
        pairs=pairs,
        huma_only=huma_only,
        entra_only=entra_only,
        huma_missing=huma_missing,
        entra_missing=entra_missing,
    )


def _marked(height: int, positions: pl.Series) -> pl.Series:
    """A mask of `height` rows, true at `positions`."""
    mask = pl.repeat(value=False, n=height, dtype=pl.Boolean, eager=True)
    return mask.scatter(positions, True)


def _positioned(ids: pl.DataFrame, on_huma: pl.DataFrame, on_entra: pl.DataFrame) -> pl.DataFrame:
    """The rows of `ids` found on both sides (`i`, `j` from `keys.matches`), in their order, with
    the positions found: `huma_id`, `entra_id`, `hi`, `ei`."""
    hi, ei = _placed(ids.height, on_huma), _placed(ids.height, on_entra)
    # Valid ids are unique, so each row is found at most once per side (no position placed over
    # another): the positions then go by row instead of joining the two lookups.
    if hi.count() == on_huma.height and ei.count() == on_entra.height:
        both = hi.is_not_null() & ei.is_not_null()
        return ids.with_columns(hi=hi, ei=ei).filter(both)
    found = (
        on_huma.rename({"j": "hi"}).join(on_entra.rename({"j": "ei"}), on="i").sort("i", "hi", "ei")
    )
    return pl.concat([ids[found.get_column("i")], found.select("hi", "ei")], how="horizontal")


def _placed(height: int, found: pl.DataFrame) -> pl.Series:
    """`found`'s `j` at its rows `i` of `height` rows, null elsewhere."""
    empty = pl.repeat(None, n=height, dtype=pl.UInt32, eager=True)
    return empty.scatter(found.get_column("i"), found.get_column("j"))


def _still_deleted(
    deleted_huma_users: pl.DataFrame | None, links: pl.DataFrame, entra_all_ids: pl.Series
) -> pl.DataFrame:
    """`huma_id`, `entra_id` of known Huma deletions whose Entra user is in the snapshot and not
    linked again (a re-hire matched it, or a re-creation took it over)."""
    if deleted_huma_users is None:
        return pl.DataFrame(schema={"huma_id": pl.String(), "entra_id": pl.String()})
    deleted = deleted_huma_users.select("huma_id", "entra_id")
    entra_ids = deleted.get_column("entra_id")
    still = ~contains(entra_ids, links.get_column("entra_id")) & contains(entra_ids, entra_all_ids)
    return deleted.filter(still).unique(maintain_order=True)
