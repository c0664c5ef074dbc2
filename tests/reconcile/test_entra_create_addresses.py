"""The address of a create in Entra (SPEC §6): a held create says its real reason.

Pins: a Huma email that is not a valid address (a trailing dot, two `@`, an empty domain label,
a space, a domain beyond ASCII) is blocked as not a valid address, naming Huma's email, never
as a "private address" (which tells the administrator to verify a domain that is not one);
an upper-case domain is the verified domain it spells. An address some Entra user already
holds is seen as taken under the match key's own normalisation (case folding, SPEC §3), also
when case folding and lower-casing disagree (German ß, long s, ligatures).
"""

from __future__ import annotations

import pytest

from reconcile.vocabulary import BLOCKED, CREATE_ENTRA, PENDING
from tests.reconcile.plan_helpers import only_row, plan_users
from tests.reference.builders import entra_user, huma_user


@pytest.mark.parametrize(
    "email",
    [
        pytest.param("anna@example.com.", id="trailing-dot"),
        pytest.param("a@@example.com", id="two-at-signs"),
        pytest.param("anna@example..com", id="empty-label"),
        pytest.param("anna@.example.com", id="leading-dot"),
        pytest.param("anna@ example.com", id="space-in-domain"),
        pytest.param("anna@exa mple.com", id="space-inside-domain"),
        pytest.param("anna@", id="no-domain"),
        pytest.param("anna.example.com", id="no-at-sign"),
        pytest.param("anna@-example.com", id="label-starting-with-hyphen"),
        pytest.param("anna@exämple.com", id="domain-beyond-ascii"),
    ],
)
def test_a_malformed_address_is_blocked_as_not_a_valid_address(email: str) -> None:
    row = only_row(plan_users([huma_user("h1", email=email)], [], {}))

    assert (row["action"], row["status"], row["huma_id"]) == (CREATE_ENTRA, BLOCKED, "h1")
    reason = row["blocked_reason"]
    assert "private" not in reason
    assert "verified domain" not in reason
    assert reason.startswith("Huma's email is not a valid address"), reason


@pytest.mark.parametrize(
    "email",
    [
        pytest.param("Anna.Lee@EXAMPLE.COM", id="upper-case-domain"),
        pytest.param("anna-lee_1@example.com", id="hyphen-underscore-digit"),
    ],
)
def test_a_well_formed_address_on_a_verified_domain_is_offered(email: str) -> None:
    row = only_row(plan_users([huma_user("h1", email=email)], [], {}))

    assert (row["action"], row["status"], row["blocked_reason"]) == (CREATE_ENTRA, PENDING, None)


def test_a_local_part_entra_refuses_keeps_its_own_reason() -> None:
    row = only_row(plan_users([huma_user("h1", email="ann lee@example.com")], [], {}))

    assert row["status"] == BLOCKED
    assert "local part" in row["blocked_reason"]


def test_an_address_off_the_verified_domains_is_still_a_private_address() -> None:
    row = only_row(plan_users([huma_user("h1", email="ann@gmail.com")], [], {}))

    assert row["blocked_reason"].startswith("private address: gmail.com"), row


@pytest.mark.parametrize(
    ("huma_email", "held_address"),
    [
        pytest.param("strasse@example.com", "Straße@example.com", id="german-sharp-s"),
        pytest.param("STRASSE@example.com", "straße@example.com", id="sharp-s-upper-case-huma"),
        pytest.param("sofia@example.com", "\u017fofia@example.com", id="long-s"),
        pytest.param("fiona@example.com", "\ufb01ona@example.com", id="fi-ligature"),
    ],
)
@pytest.mark.parametrize("held_as", ["user_principal_name", "mail"])
def test_an_address_held_under_another_case_form_is_taken(
    huma_email: str, held_address: str, held_as: str
) -> None:
    """A guest holds the address (as case folding reads it) as its user principal name, its
    mail being another address, or as its mail. Lower-casing reads `ß`, the long s and the fi
    ligature otherwise."""
    other = "someone.else@example.com"
    holder = entra_user(
        "g1",
        mail=held_address if held_as == "mail" else other,
        user_principal_name=held_address if held_as == "user_principal_name" else other,
        user_type="Guest",
    )

    row = only_row(plan_users([huma_user("h1", email=huma_email)], [holder], {}))

    assert (row["action"], row["status"]) == (CREATE_ENTRA, BLOCKED), row
    assert "already has this address" in row["blocked_reason"]
