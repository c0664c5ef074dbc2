"""Plan rows for users on one side only (SPEC §6): creates in Entra, creates in Huma.

* Huma only, active: `create_entra`, automatic when the policy says so, else after approval.
  Only on a verified domain (a private address is blocked, never sent), only with a local part
  Entra accepts in a user principal name, and never over an address some Entra user already has
  (a guest, or a user out of scope or held out by validation). The new user gets the supported
  fields, position fields included (Huma sends them on create), never `employeeId`, and no
  manager (set by the next run, once the new user is linked).
* Entra only (member, enabled, in scope): `create_huma`, always after approval. Huma requires
  given and family name and a group (the policy's default group); the address goes along only
  when Huma takes it (`decide.huma_address_refusal`). Huma's uniqueness is checked in
  `reconcile.uniqueness`.

`to_values` keys: the mapped fields plus, for Entra, the derived `display_name` and
`mail_nickname` (so the person approving sees exactly what is created).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from reconcile.decide import huma_address_refusal
from reconcile.fields import ADDRESS, UNITS_BY_NAME, json_object, unit_json, unit_text, unit_unknown
from reconcile.mapping import carried_by
from reconcile.outputs import SYNC_PLAN_SCHEMA
from reconcile.policy import Policy
from reconcile.state import RunContext
from reconcile.vocabulary import (
    AUTO_APPROVED,
    BLOCKED,
    CREATE_ENTRA,
    ENTRA_TO_HUMA,
    HUMA_TO_ENTRA,
    KIND_CREATE,
    PENDING,
)

_NULL: Final = pl.lit(None, pl.String)
#: Characters Graph accepts before the `@` of a user principal name (at most 64 of them).
_UPN_LOCAL_PART: Final = r"^[A-Za-z0-9'.\-_!#^~]{1,64}@"
#: A host name: dot-separated labels of ASCII letters, digits and inner hyphens (no empty
#: label, so no leading, trailing or doubled dot; no space).
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME: Final = rf"^(?:{_LABEL}\.)+{_LABEL}$"

#: Why a create waits when the run knows none of the tenant's verified domains.
_DOMAINS_UNKNOWN: Final = (
    "the tenant's verified domains are unknown to this run: the app may not read them "
    "(Domain.Read.All) and it read no member's user principal name; not sent until a run knows "
    "them (grant Domain.Read.All, or let a complete run read the members)"
)


def email_domain(column: str = "email_key") -> pl.Expr:
    """The lower-case domain of an email column (null when there is no `@`)."""
    return pl.col(column).str.extract(r"@([^@]+)$", 1).str.to_lowercase()


def _invalid_address(email: pl.Expr) -> pl.Expr:
    """Why an address is not one at all (null when it is): exactly one `@`, then a host name.
    Said as such, never as a private address (SPEC §6 blocks those for another reason)."""
    domain = email.str.extract(r"@([^@]*)$", 1)
    return (
        pl.when(email.str.count_matches("@") != 1)
        .then(pl.lit("Huma's email is not a valid address: it needs exactly one @"))
        .when(~domain.str.contains(_HOST_NAME))
        .then(
            pl.format(
                "Huma's email is not a valid address: its domain '{}' is not a host name "
                "(dot-separated labels of ASCII letters, digits and hyphens)",
                domain,
            )
        )
        .otherwise(_NULL)
    )


def _address_keys(addresses: pl.Series) -> pl.Series:
    """Addresses (trimmed, as the readers keep them) as match keys: case-folded with
    `str.casefold`, as the readers build `email_key` (SPEC §3), so an address that lower-casing
    reads otherwise (ß, the long s, ligatures) is the same key. ASCII text folds to its ASCII
    lower case, which Polars computes without a Python call per value; only the other values
    are folded one by one."""
    keys = addresses.str.to_lowercase()
    beyond_ascii = (addresses.str.len_bytes() != addresses.str.len_chars()).fill_null(value=False)
    if beyond_ascii.any():
        folded = [address.casefold() for address in addresses.filter(beyond_ascii)]
        keys = keys.scatter(beyond_ascii.arg_true(), pl.Series(folded, dtype=pl.String))
    return keys


def created_pair() -> list[pl.Expr]:
    """`huma_id`, `entra_id` of the pair an applied create row makes, the new user's id taken from
    `created_id` (a `create_entra` row names its Huma user, a create in Huma its Entra user)."""
    in_entra = pl.col("action") == CREATE_ENTRA
    return [
        pl.when(in_entra).then("huma_id").otherwise("created_id").alias("huma_id"),
        pl.when(in_entra).then("created_id").otherwise("entra_id").alias("entra_id"),
    ]


def _present(literal: pl.Expr, text: pl.Expr) -> pl.Expr:
    """The JSON literal, or null (key left out) when the value is empty."""
    return pl.when(text.is_null()).then(_NULL).otherwise(literal)


def _values(
    unit_names: tuple[str, ...], extra: dict[str, pl.Expr], omit: dict[str, pl.Expr] | None = None
) -> tuple[pl.Expr, pl.Expr]:
    """`to_values` and `fields` of a create: the known, non-empty values of the given units.

    Args:
        unit_names: Units to send.
        extra: Further keys (JSON literals; null leaves the key out).
        omit: Per unit, a condition under which it is left out.
    """
    entries = dict(extra)
    for name in unit_names:
        unit = UNITS_BY_NAME[name]
        left_out = unit_unknown(unit)
        if omit and name in omit:
            left_out = left_out | omit[name]
        text = pl.when(left_out).then(_NULL).otherwise(unit_text(unit))
        entries[name] = _present(unit_json(name, text), text)
    names = sorted(entries)
    fields = pl.concat_list(
        pl.when(entries[name].is_null()).then(_NULL).otherwise(pl.lit(name)) for name in names
    ).list.drop_nulls()
    return json_object(entries), fields


def _create_rows(
    frame: pl.DataFrame,
    *,
    action: str,
    values: tuple[pl.Expr, pl.Expr],
    blocked: pl.Expr,
    status: str,
    reason: str,
    kind: str | None,
) -> pl.DataFrame:
    """Plan rows for creates: the source side's values are both `*_values` and `to_values`."""
    to_values, fields = values
    from_huma = action == CREATE_ENTRA
    optional_id = {
        name: pl.col(name) if name in frame.columns else _NULL for name in ("huma_id", "entra_id")
    }
    return (
        frame.lazy()
        .select(
            pl.lit(None, pl.String).alias("change_id"),
            pl.lit(action).alias("action"),
            pl.lit(HUMA_TO_ENTRA if from_huma else ENTRA_TO_HUMA).alias("direction"),
            optional_id["huma_id"].alias("huma_id"),
            optional_id["entra_id"].alias("entra_id"),
            "email_key",
            fields.alias("fields"),
            (to_values if from_huma else _NULL).alias("huma_values"),
            (_NULL if from_huma else to_values).alias("entra_values"),
            _NULL.alias("from_values"),
            to_values.alias("to_values"),
            pl.lit(reason).alias("reason"),
            pl.when(blocked.is_not_null())
            .then(pl.lit(BLOCKED))
            .otherwise(pl.lit(status))
            .alias("status"),
            blocked.alias("blocked_reason"),
            pl.lit(kind, pl.String).alias("decision_kind"),
            pl.lit(None, SYNC_PLAN_SCHEMA["decided_at"]).alias("decided_at"),
            _NULL.alias("decided_by"),
        )
        .collect()
    )


def entra_creates(
    huma_only: pl.DataFrame, entra_all: pl.DataFrame, policy: Policy, context: RunContext
) -> pl.DataFrame:
    """`create_entra` rows for active Huma users with no Entra counterpart.

    Args:
        huma_only: Valid, unlinked, unmatched Huma users.
        entra_all: The whole Entra snapshot (guests, out-of-scope and invalid users included).
        policy: Create automatically or not.
        context: The tenant's verified domains.

    Returns:
        `SYNC_PLAN_SCHEMA` rows (null `change_id`).
    """
    active = huma_only.filter(pl.col("active"))
    if active.height == 0:
        return pl.DataFrame(schema=SYNC_PLAN_SCHEMA)
    wanted = active.get_column("email_key").implode()
    taken = pl.concat(
        [
            entra_all.get_column("email_key"),
            _address_keys(entra_all.get_column("mail")),
            _address_keys(entra_all.get_column("user_principal_name")),
        ]
    )
    taken = taken.filter(taken.is_in(wanted))
    # The display name is the optional field's value when it is on, else both names.
    display_name = pl.concat_str("given_name", "family_name", separator=" ")
    if "display_name" in active.columns:
        display_name = pl.coalesce("display_name", display_name)
    extra = {
        "email": unit_json("email", pl.col("email")),
        "display_name": unit_json("display_name", display_name),
        "mail_nickname": unit_json("mail_nickname", pl.col("email").str.extract(r"^(.*)@", 1)),
    }
    # A unit the create sends under its own key (the display name) is not sent twice; a reference
    # to another user (the manager) is set on a later run, once the new user is linked.
    units = tuple(
        u.name
        for u in carried_by(active.columns)
        if HUMA_TO_ENTRA in u.directions and u.name not in extra and not u.graph_reference
    )
    domain = email_domain()
    invalid = _invalid_address(pl.col("email"))
    blocked = (
        # An address that is not one is never sent, whatever the tenant's domains.
        pl.when(invalid.is_not_null())
        .then(invalid)
        # Every tenant has a verified domain (its initial `onmicrosoft.com` one): none known means
        # this run could not learn them, which says nothing about the address.
        .when(pl.lit(not context.verified_domains))
        .then(pl.lit(_DOMAINS_UNKNOWN))
        .when(~domain.is_in(sorted(context.verified_domains)).fill_null(value=False))
        .then(
            pl.format(
                "private address: {} is not a verified domain of the Entra tenant",
                domain.fill_null("(none)"),
            )
        )
        .when(~pl.col("email").str.contains(_UPN_LOCAL_PART))
        .then(pl.lit("Entra does not accept this address's local part in a user principal name"))
        .when(pl.col("email_key").is_in(taken.implode()))
        .then(
            pl.lit("an Entra user already has this address (a guest, another user's, or held out)")
        )
        # Huma requires both names; one is null here only when it could not be read (unknown).
        .when(pl.col("given_name").is_null() | pl.col("family_name").is_null())
        .then(pl.lit("Huma's given or family name could not be read: Entra needs both"))
        .otherwise(_NULL)
    )
    automatic = policy.create_entra_users_automatically
    return _create_rows(
        active,
        action=CREATE_ENTRA,
        values=_values(units, extra),
        blocked=blocked,
        status=AUTO_APPROVED if automatic else PENDING,
        reason="in Huma only: create the user in Entra",
        kind=None if automatic else KIND_CREATE,
    )


def huma_creates(
    candidates: pl.DataFrame,
    *,
    action: str,
    huma_all: pl.DataFrame,
    policy: Policy,
    reason: str,
    kind: str = KIND_CREATE,
) -> pl.DataFrame:
    """`create_huma` (or `recreate_huma`) rows for Entra users Huma should get, on approval.

    Args:
        candidates: Entra snapshot rows (plus `huma_id`, the deleted Huma id, for a re-creation).
        action: `create_huma` or `recreate_huma`.
        huma_all: The whole Huma snapshot (every email there is taken).
        policy: The default group.
        reason: The rows' reason.
        kind: The rows' `decision_kind`.

    Returns:
        `SYNC_PLAN_SCHEMA` rows (null `change_id`), `pending` or `blocked`.
    """
    if candidates.height == 0:
        return pl.DataFrame(schema=SYNC_PLAN_SCHEMA)
    refused = huma_address_refusal()
    units = tuple(u.name for u in carried_by(candidates.columns) if ENTRA_TO_HUMA in u.directions)
    email = pl.coalesce("mail", "user_principal_name")
    values = _values(units, {"email": unit_json("email", email)}, {ADDRESS: refused.is_not_null()})
    holders = (
        huma_all.select("email_key", "huma_id")
        .filter(pl.col("email_key").is_in(candidates.get_column("email_key").implode()))
        .sort("huma_id", nulls_last=True)
        .unique("email_key", keep="first", maintain_order=True)
    )
    holder = pl.col("email_key").replace_strict(
        holders.get_column("email_key"), holders.get_column("huma_id"), default=None
    )
    blocked = (
        pl.when(pl.lit(policy.huma_default_group_id is None))
        .then(pl.lit("no default Huma group is configured (policy huma_default_group_id)"))
        .when(pl.col("given_name").is_null() | pl.col("family_name").is_null())
        .then(pl.lit("Huma requires a given and a family name"))
        .when(holder.is_not_null())
        .then(pl.format("Huma user {} already has this address", holder))
        .otherwise(_NULL)
    )
    return _create_rows(
        candidates,
        action=action,
        values=values,
        blocked=blocked,
        status=PENDING,
        reason=reason,
        kind=kind,
    )
