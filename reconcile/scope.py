"""Which Entra users the connection looks at (SPEC §4: guests are out of scope)."""

from __future__ import annotations

import polars as pl

from reconcile.policy import Policy


def is_guest() -> pl.Expr:
    """Entra guests: `userType` Guest, or an `#EXT#` user principal name (any case)."""
    guest_type = pl.col("user_type").str.to_lowercase().eq("guest").fill_null(value=False)
    external = pl.col("user_principal_name").str.to_uppercase().str.contains("#EXT#", literal=True)
    return guest_type | external.fill_null(value=False)


def email_domain(column: str = "email_key") -> pl.Expr:
    """The lower-case domain of an email column (null when there is no `@`)."""
    return pl.col(column).str.extract(r"@([^@]+)$", 1).str.to_lowercase()


def in_scope(policy: Policy) -> pl.Expr:
    """Entra users in scope: members, and on one of `policy.entra_scope_domains` when listed."""
    member = ~is_guest()
    if not policy.entra_scope_domains:
        return member
    return member & email_domain().is_in(sorted(policy.entra_scope_domains)).fill_null(value=False)
