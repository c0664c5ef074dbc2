"""Raw payloads become the snapshot frames of SPEC §3, normalised the same way on both sides.

Pins: strings trimmed and blank as missing; email keys case-folded (Entra: `mail`, else the UPN);
dates as dates; Huma's wrapped fields unwrapped, an absent wrapper *unknown* rather than empty;
the job title of the CURRENT position (the latest one when several); the frames' exact schemas.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from reconcile.frames import ENTRA_USERS_SCHEMA, HUMA_USERS_SCHEMA
from resources.graph_client import USER_SELECT
from resources.graph_snapshot import GRAPH_PROPERTIES, entra_user_row, entra_users_frame
from resources.huma_snapshot import huma_user_row, huma_users_frame


def _details(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": "7b0c8f0e-0000-4000-8000-000000000001",
        "givenName": {"value": "  Ingrid ", "editable": True},
        "familyName": {"value": "Haugen", "editable": True},
        "email": {"value": "Ingrid.Haugen@Fjordline.no", "editable": True},
        "phone": {"value": "+47 912 34 567", "editable": True},
        "homeAddress": {
            "value": {
                "line1": "Storgata 12",
                "line2": "",
                "postalCode": "0155",
                "city": "Oslo",
                "country": "NO",
            },
            "editable": True,
        },
        "employmentId": {"value": "E10023", "editable": True},
        "firstContractStartDate": {"value": "2019-03-01", "editable": False},
        "currentPositions": [
            {
                "id": "p1",
                "title": {"id": "t1", "name": "Payroll Specialist"},
                "contractStartDate": "2019-03-01",
                "status": "CURRENT",
            },
        ],
        "status": {"active": True},
        "subordinatesCount": 0,
        "type": "user",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not _DROP}


_DROP = object()


def test_a_complete_huma_user_is_unwrapped_and_normalised() -> None:
    row = huma_user_row(_details())

    assert row == {
        "huma_id": "7b0c8f0e-0000-4000-8000-000000000001",
        "email": "Ingrid.Haugen@Fjordline.no",
        "email_key": "ingrid.haugen@fjordline.no",
        "given_name": "Ingrid",
        "family_name": "Haugen",
        "phone": "+47 912 34 567",
        "address_line1": "Storgata 12",
        "address_postal_code": "0155",
        "address_city": "Oslo",
        "address_country": "NO",
        "employment_id": "E10023",
        "hire_date": dt.date(2019, 3, 1),
        "job_title": "Payroll Specialist",
        "active": True,
        "deactivated_at": None,
        "unknown_fields": [],
    }


@pytest.mark.parametrize(
    ("overrides", "field", "value", "unknown"),
    [
        pytest.param(
            {"phone": {"editable": True}}, "phone", None, [], id="wrapper-without-value-is-empty"
        ),
        pytest.param(
            {"phone": {"value": "  ", "editable": True}}, "phone", None, [], id="blank-is-empty"
        ),
        pytest.param({"phone": _DROP}, "phone", None, ["phone"], id="absent-wrapper-is-unknown"),
        pytest.param(
            {"employmentId": _DROP},
            "employment_id",
            None,
            ["employment_id"],
            id="absent-employment-id",
        ),
        pytest.param(
            {"homeAddress": _DROP},
            "address_city",
            None,
            ["address_line1", "address_postal_code", "address_city", "address_country"],
            id="absent-address-makes-the-whole-unit-unknown",
        ),
        pytest.param(
            {"homeAddress": {"editable": True}}, "address_city", None, [], id="empty-address"
        ),
        pytest.param(
            {"firstContractStartDate": _DROP},
            "hire_date",
            None,
            ["hire_date"],
            id="absent-hire-date",
        ),
        pytest.param(
            {"currentPositions": _DROP}, "job_title", None, ["job_title"], id="absent-positions"
        ),
        pytest.param({"currentPositions": []}, "job_title", None, [], id="no-position-is-empty"),
        pytest.param(
            {
                "currentPositions": [
                    {
                        "id": "a",
                        "title": {"name": "Intern"},
                        "contractStartDate": "2018-01-01",
                        "status": "ENDED",
                    },
                    {
                        "id": "b",
                        "title": {"name": "Analyst"},
                        "contractStartDate": "2019-01-01",
                        "status": "CURRENT",
                    },
                    {
                        "id": "c",
                        "title": {"name": "Lead"},
                        "contractStartDate": "2021-06-01",
                        "status": "CURRENT",
                    },
                    {
                        "id": "d",
                        "title": {"name": "Head"},
                        "contractStartDate": "2030-01-01",
                        "status": "UPCOMING",
                    },
                ]
            },
            "job_title",
            "Lead",
            [],
            id="latest-current-position-gives-the-title",
        ),
        pytest.param(
            {"status": {"active": False, "deactivatedAt": "2026-05-01T10:00:00Z"}},
            "deactivated_at",
            dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC),
            [],
            id="deactivated",
        ),
    ],
)
def test_huma_fields(overrides: dict, field: str, value: Any, unknown: list[str]) -> None:
    row = huma_user_row(_details(**overrides))

    assert row[field] == value
    assert row["unknown_fields"] == unknown


def _graph_user(**overrides: Any) -> dict[str, Any]:
    user: dict[str, Any] = dict.fromkeys(USER_SELECT)
    user.update(
        id="0f6e7c1a-0000-4000-8000-000000000002",
        userPrincipalName="Ingrid.Haugen@fjordline.no",
        mail="Ingrid.Haugen@Fjordline.NO",
        givenName="Ingrid",
        surname=" Haugen",
        employeeHireDate="2019-03-01T00:00:00Z",
        accountEnabled=True,
        userType="Member",
        onPremisesSyncEnabled=None,
    )
    user.update(overrides)
    return {k: v for k, v in user.items() if v is not _DROP}


@pytest.mark.parametrize(
    ("overrides", "field", "value"),
    [
        pytest.param({}, "email_key", "ingrid.haugen@fjordline.no", id="mail-is-the-key"),
        pytest.param(
            {"mail": None}, "email_key", "ingrid.haugen@fjordline.no", id="upn-when-no-mail"
        ),
        pytest.param({}, "family_name", "Haugen", id="trimmed"),
        pytest.param({}, "hire_date", dt.date(2019, 3, 1), id="hire-date-as-date"),
        pytest.param({"mobilePhone": ""}, "phone", None, id="empty-string-is-missing"),
        pytest.param({}, "on_premises_sync_enabled", False, id="null-sync-flag-is-cloud-managed"),
        pytest.param(
            {"onPremisesSyncEnabled": True}, "on_premises_sync_enabled", True, id="synced"
        ),
    ],
)
def test_entra_fields(overrides: dict, field: str, value: Any) -> None:
    assert entra_user_row(_graph_user(**overrides))[field] == value


def test_a_graph_property_not_returned_is_unknown_not_empty() -> None:
    row = entra_user_row(_graph_user(mobilePhone=_DROP, employeeId=_DROP))

    assert row["unknown_fields"] == ["phone", "employment_id"]
    assert entra_user_row(_graph_user())["unknown_fields"] == []


def test_every_mapped_graph_property_is_selected() -> None:
    assert set(GRAPH_PROPERTIES) <= set(USER_SELECT)


def test_frames_have_exactly_the_agreed_schemas() -> None:
    assert huma_users_frame([_details()]).schema == HUMA_USERS_SCHEMA
    assert entra_users_frame([_graph_user()]).schema == ENTRA_USERS_SCHEMA
    assert huma_users_frame([]).schema == HUMA_USERS_SCHEMA
    assert entra_users_frame([]).schema == ENTRA_USERS_SCHEMA
