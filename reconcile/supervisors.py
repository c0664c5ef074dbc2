"""Huma's supervisor as Entra's manager: a Huma user id resolved through the links (SPEC §4).

The Huma snapshot holds each person's supervisor as a Huma user id; Entra holds the manager as
an object id. The two are compared, decided and written as the Entra object id of the account
linked to the supervisor, and only when that link is certain this run: the supervisor is a valid
Huma user paired with a valid, in-scope Entra account (`Matching.pairs`). Any other supervisor
(no link, a link that ended, someone not in Huma's snapshot or held out by validation, linked to
a guest or an account out of scope, or not read by a partial or targeted run) is never guessed:
the person's manager is unknown this run (never written, never cleared, SPEC §5), and a linked,
active person's is listed among the validation failures with the reason.

A person without a supervisor (Huma sent the wrapper without a value) has an empty manager,
which clears Entra's once an agreed value exists; a supervisor Huma did not return or that could
not be read was already unknown (`resources.huma_snapshot`).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from reconcile.mapping import BY_NAME
from reconcile.outputs import VALIDATION_FAILURES_SCHEMA
from reconcile.vocabulary import HUMA

#: The field resolved here, and its one snapshot column.
MANAGER: Final = "manager"
_COLUMN: Final = BY_NAME[MANAGER].columns[0]
#: The validation rule of a supervisor who could not be resolved.
UNLINKED_SUPERVISOR: Final = "unlinked_supervisor"
_KEPT: Final = "the manager in Entra ID is left as it is"


def resolve_supervisors(
    huma_valid: pl.DataFrame,
    huma_all: pl.DataFrame,
    pairs: pl.DataFrame,
    links: pl.DataFrame,
    *,
    huma_partial: bool,
    entra_partial: bool,
    targeted: bool = False,
    unread_huma: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Replace each valid Huma user's supervisor by the linked Entra object id.

    Args:
        huma_valid: The valid Huma users; a frame without the manager column is returned as is.
        huma_all: The whole Huma snapshot (`huma_id`, `email_key`), to name supervisors.
        pairs: `huma_id`, `entra_id` of this run's present, valid, in-scope pairs.
        links: Every link after matching (`huma_id`, `entra_id`).
        huma_partial: Huma's snapshot is partial or targeted: a supervisor missing from it was
            not read (not gone).
        entra_partial: Entra's snapshot is partial or targeted.
        targeted: The run is a targeted one: a supervisor it did not read is left to the next
            full run (said so), not missing.
        unread_huma: `huma_id`, `email_key` of the Huma users a targeted run did not read, to
            name their supervisors by email.

    Returns:
        `(huma_valid, unlinked)`: the users in the same order with `manager` holding the linked
        Entra object id, or null and listed in `unknown_fields` when it could not be resolved;
        and one `VALIDATION_FAILURES_SCHEMA` row (rule `unlinked_supervisor`) per active,
        paired user whose supervisor could not be resolved.
    """
    none = pl.DataFrame(schema=VALIDATION_FAILURES_SCHEMA)
    if _COLUMN not in huma_valid.columns:
        return huma_valid, none
    supervisor = pl.col(_COLUMN)
    linked = supervisor.replace_strict(
        pairs.get_column("huma_id"), pairs.get_column("entra_id"), default=None
    )
    unresolved = supervisor.is_not_null() & linked.is_null()
    resolved = huma_valid.with_columns(
        pl.when(unresolved)
        .then(pl.col("unknown_fields").list.concat(pl.lit([_COLUMN], pl.List(pl.String()))))
        .otherwise(pl.col("unknown_fields"))
        .alias("unknown_fields"),
        linked.alias(_COLUMN),
    )
    paired = pl.col("huma_id").is_in(pairs.get_column("huma_id").implode())
    unlinked = huma_valid.filter(unresolved & paired & pl.col("active"))
    if unlinked.height == 0:
        return resolved, none
    return resolved, _failures(
        unlinked,
        huma_all,
        huma_valid,
        links,
        huma_partial=huma_partial,
        entra_partial=entra_partial,
        targeted=targeted,
        unread_huma=unread_huma,
    )


def _failures(
    unlinked: pl.DataFrame,
    huma_all: pl.DataFrame,
    huma_valid: pl.DataFrame,
    links: pl.DataFrame,
    *,
    huma_partial: bool,
    entra_partial: bool,
    targeted: bool,
    unread_huma: pl.DataFrame | None,
) -> pl.DataFrame:
    """Why each of `unlinked`'s supervisors has no certain Entra account."""
    ids = unlinked.get_column(_COLUMN).unique().implode()
    people = huma_all.select("huma_id", "email_key")
    if unread_huma is not None:
        people = pl.concat([people, unread_huma.select("huma_id", "email_key")])
    emails = people.filter(pl.col("huma_id").is_in(ids)).unique("huma_id", keep="first")
    linked_to = links.filter(pl.col("huma_id").is_in(ids)).unique("huma_id", keep="last")
    supervisor = pl.col(_COLUMN)
    named = pl.coalesce(
        supervisor.replace_strict(emails["huma_id"], emails["email_key"], default=None), supervisor
    )
    account = supervisor.replace_strict(linked_to["huma_id"], linked_to["entra_id"], default=None)
    in_huma = supervisor.is_in(huma_all.get_column("huma_id").implode())
    valid = supervisor.is_in(huma_valid.get_column("huma_id").implode())
    not_read = (
        "was not read by this targeted run (it reads only the people its webhooks name; the "
        "next full run sets the manager)"
        if targeted
        else "was not read by this run (a partial or targeted snapshot)"
    )
    reason = (
        pl.when(~in_huma)
        .then(pl.lit(not_read if huma_partial else "is not in Huma's snapshot"))
        .when(~valid)
        .then(pl.lit("is held out by validation"))
        .when(account.is_null())
        .then(pl.lit("is not linked to an Entra ID account"))
        .otherwise(
            pl.format(
                "is linked to Entra ID account {}, which {}",
                account,
                pl.lit(
                    "this run did not read (a partial or targeted snapshot)"
                    if entra_partial
                    else "is not a valid member in scope (a guest, out of scope, held out or gone)"
                ),
            )
        )
    )
    return unlinked.select(
        pl.lit(HUMA).alias("side"),
        pl.col("huma_id").alias("user_id"),
        "email_key",
        pl.lit(MANAGER).alias("field"),
        supervisor.alias("value"),
        pl.lit(UNLINKED_SUPERVISOR).alias("rule"),
        pl.format("the supervisor {} {}: {}", named, reason, pl.lit(_KEPT)).alias("message"),
    ).cast(dict(VALIDATION_FAILURES_SCHEMA))
