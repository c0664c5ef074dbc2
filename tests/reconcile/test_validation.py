"""Validation of the snapshots (SPEC §3, §4): failing users are held out and listed.

Pins, per side: each rule fails exactly the users that break it, with side, user, field, value,
rule and a message; every user in a duplicate is held out (never one guessed); nulls are not
duplicates of each other; the other users go on untouched; guests are excluded before Entra's
rules run, so a guest never holds a member out.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconcile.context import RunContext
from reconcile.engine import plan_run
from reconcile.policy import Policy
from reconcile.validation import validate_snapshots
from tests.reference.builders import (
    RUN_AT,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    state_with,
)

_BOB = {"huma_id": "h2", "email": "bob@example.com", "phone": "+4790000002", "employment_id": "E2"}


@pytest.mark.parametrize(
    ("first", "held_out", "field", "rule"),
    [
        pytest.param({"email": None}, {"h1"}, "email", "required", id="email-required"),
        pytest.param({"email_key": None}, {"h1"}, "email_key", "required", id="email-key"),
        pytest.param({"given_name": None}, {"h1"}, "given_name", "required", id="given-name"),
        pytest.param({"family_name": None}, {"h1"}, "family_name", "required", id="family"),
        pytest.param({"email": "BOB@example.com"}, {"h1", "h2"}, "email_key", "unique", id="email"),
        pytest.param({"phone": "+4790000002"}, {"h1", "h2"}, "phone", "unique", id="phone"),
        pytest.param({"employment_id": "E2"}, {"h1", "h2"}, "employment_id", "unique", id="emp"),
        pytest.param(
            {"address_country": "Norway"}, {"h1"}, "address_country", "iso_country", id="iso"
        ),
        pytest.param(
            {"address_country": "no"}, {"h1"}, "address_country", "iso_country", id="iso-case"
        ),
        pytest.param(
            {"employment_id": "E" * 17}, {"h1"}, "employment_id", "max_length", id="emp-16"
        ),
        pytest.param({"given_name": "A" * 65}, {"h1"}, "given_name", "max_length", id="graph-64"),
        pytest.param({"job_title": "T" * 129}, {"h1"}, "job_title", "max_length", id="graph-128"),
    ],
)
def test_each_huma_rule_holds_out_exactly_the_users_breaking_it(
    first: dict[str, Any], held_out: set[str], field: str, rule: str
) -> None:
    huma = huma_frame(huma_user(**{"huma_id": "h1", **first}), huma_user(**_BOB))

    valid, _, failures = validate_snapshots(huma, entra_frame())

    assert set(failures.get_column("user_id")) == held_out
    assert ("huma", field, rule) in set(failures.select("side", "field", "rule").rows())
    assert set(failures.get_column("rule")) == {rule}
    assert set(valid.get_column("huma_id")) == {"h1", "h2"} - held_out
    assert failures.get_column("message").str.contains(field).all()


def test_a_shared_huma_id_holds_out_both_rows() -> None:
    huma = huma_frame(huma_user("h2"), huma_user(**_BOB))

    valid, _, failures = validate_snapshots(huma, entra_frame())

    assert valid.height == 0
    assert failures.select("user_id", "field", "rule").rows() == [("h2", "huma_id", "unique")] * 2


def test_empty_optional_keys_are_not_duplicates_and_valid_users_pass_untouched() -> None:
    huma = huma_frame(
        huma_user("h1", phone=None, employment_id=None, address_country=None),
        huma_user(**{**_BOB, "phone": None, "employment_id": None}),
    )

    valid, _, failures = validate_snapshots(huma, entra_frame())

    assert failures.height == 0
    assert valid.equals(huma)


def test_failure_lists_the_offending_value() -> None:
    huma = huma_frame(huma_user("h1", address_country="Norway"))

    _, _, failures = validate_snapshots(huma, entra_frame())

    assert failures.select("user_id", "email_key", "value").row(0) == (
        "h1",
        "ann.lee@example.com",
        "Norway",
    )


@pytest.mark.parametrize(
    ("first", "held_out", "field", "rule"),
    [
        pytest.param({"mail": "BOB@example.com"}, {"e1", "e2"}, "email_key", "unique", id="email"),
        pytest.param({"phone": "+4790000002"}, {"e1", "e2"}, "phone", "unique", id="phone"),
        pytest.param({"employment_id": "E2"}, {"e1", "e2"}, "employment_id", "unique", id="emp"),
        pytest.param({"employment_id": "E" * 17}, {"e1"}, "employment_id", "max_length", id="16"),
    ],
)
def test_each_entra_rule_holds_out_exactly_the_users_breaking_it(
    first: dict[str, Any], held_out: set[str], field: str, rule: str
) -> None:
    entra = entra_frame(
        entra_user(**{"entra_id": "e1", **first}),
        entra_user("e2", "bob@example.com", phone="+4790000002", employment_id="E2"),
    )

    _, valid, failures = validate_snapshots(huma_frame(), entra)

    assert set(failures.get_column("user_id")) == held_out
    assert set(failures.select("side", "field", "rule").unique().rows()) == {("entra", field, rule)}
    assert set(valid.get_column("entra_id")) == {"e1", "e2"} - held_out


def test_entra_names_are_not_required_an_empty_one_is_a_missing_value() -> None:
    entra = entra_frame(entra_user("e1", given_name=None, family_name=None))

    _, valid, failures = validate_snapshots(huma_frame(), entra)

    assert failures.height == 0
    assert valid.height == 1


def test_a_guest_sharing_a_members_keys_holds_nobody_out() -> None:
    member = entra_user("e1")
    guest = entra_user("e2", user_type="Guest")
    external = entra_user(
        "e3", mail=None, user_principal_name="ann.lee_example.com#EXT#@tenant.onmicrosoft.com"
    )
    context = RunContext(run_at=RUN_AT, verified_domains=frozenset({"example.com"}))

    result = plan_run(
        huma_frame(huma_user()),
        entra_frame(member, guest, external),
        state_with(),
        Policy(),
        context,
    )

    assert result.validation_failures.height == 0
    assert result.entra_users.get_column("entra_id").to_list() == ["e1"]
    assert result.user_links.select("huma_id", "entra_id").rows() == [("h1", "e1")]
