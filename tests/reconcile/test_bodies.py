"""Request bodies derived from plan rows: Graph's and Huma's property names and formats.

Pins: Graph PATCH bodies use Graph property names, the address as its four properties together,
`employeeHireDate` as `YYYY-MM-DDT00:00:00Z`, null to clear, never `employeeId`; the Graph create
carries the required properties and a password handed in by the caller; Huma PATCH bodies send the
`homeAddress` unit with line 2/3 as given and `""` to empty a string; a Huma create is a POST
with email, names, groups and phone, then a follow-up PATCH for employment ID and address; a row
is refused by the helper of the wrong direction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from reconcile.bodies import (
    graph_create_body,
    graph_patch_body,
    huma_create_body,
    huma_create_followup_body,
    huma_patch_body,
)
from reconcile.engine import plan_run
from reconcile.fields import ADDRESS
from reconcile.policy import Policy
from reconcile.vocabulary import CREATE_ENTRA, CREATE_HUMA, ENTRA_TO_HUMA, HUMA_TO_ENTRA
from tests.reconcile.plan_helpers import CONTEXT, only_row, plan_pair
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user, state_with

_ADDRESS_NO = '{"city":"Oslo","country":"NO","line1":"Storgata 1","postal_code":"0155"}'


def _update_entra(huma: dict[str, Any], agreed: dict[str, str]) -> dict[str, Any]:
    baseline = [{"field": field, "agreed": value} for field, value in agreed.items()]
    row = only_row(plan_pair(huma, {}, baseline))
    assert row["direction"] == HUMA_TO_ENTRA
    return row


def test_graph_patch_uses_graph_names_and_formats() -> None:
    row = _update_entra(
        {"given_name": "Anna", "hire_date": date(2021, 5, 1), "phone": None},
        {"given_name": "Ann", "hire_date": "2020-01-01", "phone": "+4790000001"},
    )

    assert graph_patch_body(row) == {
        "givenName": "Anna",
        "employeeHireDate": "2021-05-01T00:00:00Z",
        "mobilePhone": None,
    }


def test_graph_patch_sends_the_address_as_one_unit() -> None:
    row = _update_entra({"address_city": "Bergen"}, {ADDRESS: _ADDRESS_NO})

    assert graph_patch_body(row) == {
        "streetAddress": "Storgata 1",
        "postalCode": "0155",
        "city": "Bergen",
        "country": "NO",
    }


def test_graph_patch_never_writes_employee_id() -> None:
    row = {
        "change_id": "x",
        "action": "update_entra",
        "direction": HUMA_TO_ENTRA,
        "to_values": '{"employment_id":"E1"}',
    }

    with pytest.raises(ValueError, match="employeeId is never written"):
        graph_patch_body(row)


def test_each_helper_refuses_a_row_of_the_other_direction() -> None:
    row = _update_entra({"given_name": "Anna"}, {"given_name": "Ann"})

    with pytest.raises(ValueError, match="does not write entra_to_huma"):
        huma_patch_body(row)


def test_graph_create_has_what_graph_requires_and_the_callers_password() -> None:
    result = plan_run(huma_frame(huma_user()), entra_frame(), state_with(), Policy(), CONTEXT)
    row = only_row(result)
    assert row["action"] == CREATE_ENTRA

    body = graph_create_body(row, password="Generated-At-Apply-1")

    assert body == {
        "accountEnabled": True,
        "displayName": "Ann Lee",
        "mailNickname": "ann.lee",
        "userPrincipalName": "ann.lee@example.com",
        "passwordProfile": {
            "password": "Generated-At-Apply-1",
            "forceChangePasswordNextSignIn": True,
        },
        "givenName": "Ann",
        "surname": "Lee",
        "mobilePhone": "+4790000001",
        "streetAddress": "Storgata 1",
        "postalCode": "0155",
        "city": "Oslo",
        "country": "NO",
        "employeeHireDate": "2020-01-01T00:00:00Z",
        "jobTitle": "Engineer",
    }


def test_huma_patch_sends_home_address_with_the_unmapped_lines() -> None:
    agreed = [{"field": ADDRESS, "agreed": _ADDRESS_NO}, {"field": "phone", "agreed": "+47 1"}]
    result = plan_pair({"phone": "+47 1"}, {"address_city": "Bergen", "phone": None}, agreed)
    rows = {row["fields"][0]: row for row in result.sync_plan.iter_rows(named=True)}
    assert {row["direction"] for row in rows.values()} == {ENTRA_TO_HUMA}

    assert huma_patch_body(rows[ADDRESS], address_line2="c/o Lee") == {
        "homeAddress": {
            "line1": "Storgata 1",
            "line2": "c/o Lee",
            "line3": "",
            "postalCode": "0155",
            "city": "Bergen",
            "country": "NO",
        }
    }
    assert huma_patch_body(rows["phone"]) == {"phone": ""}


def test_a_huma_create_is_a_post_then_a_followup_patch() -> None:
    policy = Policy(huma_default_group_id="group-1")
    result = plan_run(huma_frame(), entra_frame(entra_user()), state_with(), policy, CONTEXT)
    row = only_row(result)
    assert row["action"] == CREATE_HUMA

    assert huma_create_body(row, group_id="group-1") == {
        "email": "ann.lee@example.com",
        "givenName": "Ann",
        "familyName": "Lee",
        "groups": ["group-1"],
        "phone": "+4790000001",
    }
    assert huma_create_followup_body(row) == {
        "employmentId": "E1",
        "homeAddress": {
            "line1": "Storgata 1",
            "line2": "",
            "line3": "",
            "postalCode": "0155",
            "city": "Oslo",
            "country": "NO",
        },
    }


def test_a_huma_create_from_a_non_iso_address_leaves_the_address_out() -> None:
    policy = Policy(huma_default_group_id="group-1")
    entra = entra_frame(entra_user(address_country="Norway", employment_id=None))
    row = only_row(plan_run(huma_frame(), entra, state_with(), policy, CONTEXT))

    assert ADDRESS not in row["fields"]
    assert huma_create_followup_body(row) == {}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Bjørn", id="non-ascii"),
        pytest.param('Ann "Annie"', id="quotes"),
        pytest.param("Ann\\Lee", id="backslash"),
    ],
)
def test_values_survive_the_json_of_the_plan(name: str) -> None:
    row = _update_entra({"given_name": name}, {"given_name": "Ann"})

    assert graph_patch_body(row)["givenName"] == name
