"""A value the readers cannot read is unknown, listed with its reason, and never fails the snapshot.

Pins (SPEC §5): a date that is not an ISO date, a number or an object where text belongs, a flag
that is not a boolean, a wrapper or an address in another shape become *unknown* (listed in
`unknown_fields`, so never written and never clearing anything), never text made up from the
value; each is listed with the user, the field and the reason. A user whose identity or state
cannot be read (id, email, `status.active`; Entra's id, mail, UPN, user type, sync flag) is held
out whole; a user with one unreadable other field keeps its other fields. No payload makes a
reader raise, and the other users of the snapshot come out as they would alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import polars as pl
import pytest

from reconcile.validation import validate_snapshots
from resources.graph import GraphResource
from resources.graph_client import UserPage
from resources.graph_snapshot import entra_user_row, read_entra_users
from resources.huma_snapshot import huma_user_row, read_huma_users
from resources.snapshot_reading import UNREADABLE_ID, UnreadablePayload, raw_frame
from tests.resources.test_snapshot_frames import _DROP, _details, _graph_user

HUMA_ID = "7b0c8f0e-0000-4000-8000-000000000001"
ENTRA_ID = "0f6e7c1a-0000-4000-8000-000000000002"


def _good_huma(number: int) -> dict[str, Any]:
    user_id = f"7b0c8f0e-0000-4000-8000-0000000001{number:02d}"
    return _details(
        id=user_id,
        email={"value": f"person{number}@fjordline.no", "editable": True},
        phone={"value": f"+47 900 00 {number:03d}", "editable": True},
        employmentId={"value": f"E{number}", "editable": True},
    )


def _good_entra(number: int) -> dict[str, Any]:
    return _graph_user(
        id=f"0f6e7c1a-0000-4000-8000-0000000002{number:02d}",
        mail=f"person{number}@fjordline.no",
        userPrincipalName=f"person{number}@fjordline.no",
        employeeId=f"E{number}",
        mobilePhone=f"+47 900 00 {number:03d}",
    )


def _huma_read(payload: Any, listed_id: str = HUMA_ID) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The user read among two good ones, validated: (the user's valid row or none, failures)."""
    goods = [_good_huma(1), _good_huma(2)]
    read = read_huma_users([(listed_id, payload), *((g["id"], g) for g in goods)])
    valid, _, failures = validate_snapshots(read.users, read_entra_users([]).users, read.unreadable)
    alone = read_huma_users([(g["id"], g) for g in goods]).users
    assert valid.filter(pl.col("huma_id") != listed_id).equals(alone)
    return valid.filter(pl.col("huma_id") == listed_id), failures


@pytest.mark.parametrize(
    ("overrides", "field", "unknown"),
    [
        pytest.param(
            {"firstContractStartDate": {"value": "01.03.2019", "editable": False}},
            "hire_date",
            ["hire_date"],
            id="hire-date-in-another-format",
        ),
        pytest.param(
            {"firstContractStartDate": {"value": 20190301, "editable": False}},
            "hire_date",
            ["hire_date"],
            id="hire-date-as-a-number",
        ),
        pytest.param(
            {"givenName": {"value": {"evil": 1}, "editable": True}},
            "given_name",
            ["given_name"],
            id="object-where-a-name-belongs",
        ),
        pytest.param(
            {"phone": {"value": 4791234567, "editable": True}},
            "phone",
            ["phone"],
            id="number-where-a-phone-belongs",
        ),
        pytest.param({"phone": "+47 912 34 567"}, "phone", ["phone"], id="wrapper-as-a-string"),
        pytest.param(
            {"givenName": {"value": "Ingrid\x00", "editable": True}},
            "given_name",
            ["given_name"],
            id="nul-in-a-name",
        ),
        pytest.param({"employmentId": None}, "employment_id", ["employment_id"], id="null-wrapper"),
        pytest.param(
            {"homeAddress": {"value": "Storgata 12, 0155 Oslo", "editable": True}},
            "address",
            ["address_line1", "address_postal_code", "address_city", "address_country"],
            id="address-as-a-string",
        ),
        pytest.param(
            {"homeAddress": {"value": {"line1": ["Storgata 12"], "country": "NO"}}},
            "address",
            ["address_line1", "address_postal_code", "address_city", "address_country"],
            id="address-part-as-a-list",
        ),
        pytest.param(
            {"currentPositions": [{"status": "CURRENT", "title": {"name": 7}}]},
            "job_title",
            ["job_title"],
            id="title-as-a-number",
        ),
        pytest.param(
            {"currentPositions": {"title": "Lead"}},
            "job_title",
            ["job_title"],
            id="positions-as-an-object",
        ),
    ],
)
def test_an_unreadable_huma_field_is_unknown_and_listed_and_the_rest_flows(
    overrides: dict[str, Any], field: str, unknown: list[str]
) -> None:
    row = huma_user_row(_details(**overrides))
    valid, failures = _huma_read(_details(**overrides))

    assert row["unknown_fields"] == unknown
    assert all(row[column] is None for column in unknown)
    assert row["family_name"] == "Haugen"
    assert row["email_key"] == "ingrid.haugen@fjordline.no"
    assert valid.height == 1  # the other fields keep flowing
    assert failures.select("side", "user_id", "field", "rule").rows() == [
        ("huma", HUMA_ID, field, "unreadable")
    ]
    assert "could not be read" in failures.item(0, "message")


@pytest.mark.parametrize(
    ("payload", "listed_id", "field"),
    [
        pytest.param(
            _details(email={"value": True, "editable": True}), HUMA_ID, "email", id="email-true"
        ),
        pytest.param(_details(email="x@y.no"), HUMA_ID, "email", id="email-wrapper-a-string"),
        pytest.param(_details(status={"active": "false"}), HUMA_ID, "active", id="active-as-text"),
        pytest.param(_details(status=_DROP), HUMA_ID, "active", id="no-status"),
        pytest.param(_details(id=_DROP), HUMA_ID, "huma_id", id="missing-id"),
        pytest.param(_details(id=12345), HUMA_ID, "huma_id", id="numeric-id"),
        pytest.param(_details(), "7b0c8f0e-0000-4000-8000-00000000ffff", "huma_id", id="other-id"),
        pytest.param(
            UnreadablePayload("the answer is not UTF-8 JSON"), HUMA_ID, "payload", id="not-json"
        ),
        pytest.param(["not", "an", "object"], HUMA_ID, "payload", id="a-list"),
    ],
)
def test_a_huma_user_whose_identity_or_state_cannot_be_read_is_held_out_whole(
    payload: Any, listed_id: str, field: str
) -> None:
    valid, failures = _huma_read(payload, listed_id)

    assert valid.height == 0
    assert failures.select("user_id", "field", "rule").rows() == [(listed_id, field, "unreadable")]


def test_a_deactivated_user_whose_flag_is_text_is_never_counted_active() -> None:
    row = huma_user_row(_details(status={"active": "false", "deactivatedAt": "2026-01-01"}))

    assert row["active"] is not True


def _entra_read(user: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    goods = [_good_entra(1), _good_entra(2)]
    read = read_entra_users([user, *goods])
    _, valid, failures = validate_snapshots(read_huma_users([]).users, read.users, read.unreadable)
    alone = read_entra_users(goods).users
    assert valid.filter(pl.col("entra_id").is_in([g["id"] for g in goods])).equals(alone)
    return valid.filter(~pl.col("entra_id").is_in([g["id"] for g in goods])), failures


@pytest.mark.parametrize(
    ("overrides", "field", "column"),
    [
        pytest.param({"givenName": {"evil": 1}}, "given_name", "given_name", id="object-name"),
        pytest.param({"mobilePhone": 4791234567}, "phone", "phone", id="numeric-phone"),
        pytest.param({"givenName": "Ingrid\x00"}, "given_name", "given_name", id="nul-in-a-name"),
        pytest.param(
            {"employeeHireDate": "03/01/2019"}, "hire_date", "hire_date", id="hire-date-format"
        ),
        pytest.param({"jobTitle": ["Lead"]}, "job_title", "job_title", id="title-as-a-list"),
        pytest.param(
            {"accountEnabled": "yes"}, "account_enabled", "account_enabled", id="enabled-as-text"
        ),
    ],
)
def test_an_unreadable_graph_property_is_unknown_and_listed_and_the_rest_flows(
    overrides: dict[str, Any], field: str, column: str
) -> None:
    row = entra_user_row(_graph_user(**overrides))
    valid, failures = _entra_read(_graph_user(**overrides))

    assert row[column] is None
    assert column in row["unknown_fields"]
    assert row["family_name"] == "Haugen"
    assert valid.height == 1
    assert failures.select("side", "user_id", "field", "rule").rows() == [
        ("entra", ENTRA_ID, field, "unreadable")
    ]


@pytest.mark.parametrize(
    ("user", "field"),
    [
        pytest.param(_graph_user(id=_DROP), "entra_id", id="missing-id"),
        pytest.param(_graph_user(id=42), "entra_id", id="numeric-id"),
        pytest.param(_graph_user(mail=True), "mail", id="mail-true"),
        pytest.param(_graph_user(userPrincipalName={"a": 1}), "user_principal_name", id="upn"),
        pytest.param(_graph_user(userType=1), "user_type", id="user-type"),
        pytest.param(
            _graph_user(onPremisesSyncEnabled="no"), "on_premises_sync_enabled", id="sync"
        ),
        pytest.param("a string", "payload", id="not-an-object"),
    ],
)
def test_an_entra_user_whose_identity_cannot_be_read_is_held_out_whole(
    user: Any, field: str
) -> None:
    valid, failures = _entra_read(user)

    assert valid.height == 0
    assert failures.select("field", "rule").rows() == [(field, "unreadable")]


def test_the_reason_shows_a_short_copy_of_the_value() -> None:
    huge = "x" * 100_000
    read = read_huma_users([(HUMA_ID, _details(givenName={"value": {"v": huge}}))])

    shown = read.unreadable.item(0, "value")
    assert len(shown) <= 200
    assert shown.startswith('{"value": {"v": "xxx')


def test_readable_values_still_read_as_before() -> None:
    read = read_huma_users([(HUMA_ID, _details())])

    assert read.unreadable.height == 0
    assert read.users.item(0, "hire_date") == dt.date(2019, 3, 1)
    assert read.users.item(0, "unknown_fields").to_list() == []


def test_every_raw_payload_is_kept_for_the_history_whatever_it_holds() -> None:
    users = [
        _graph_user(id=_DROP),
        _graph_user(employeeId=10**30),
        "\ud800",
        UnreadablePayload("x"),
    ]

    raw = raw_frame("entra_id", read_entra_users(users).users.get_column("entra_id"), users)

    assert raw.get_column("entra_id").to_list() == [
        UNREADABLE_ID,
        ENTRA_ID,
        UNREADABLE_ID,
        UNREADABLE_ID,
    ]
    assert str(10**30) in raw.item(1, "payload")
    assert raw.item(3, "payload") == "null"
    assert raw.get_column("payload").null_count() == 0


class _OnePage:
    """Stands in for the Graph client: one page of the given objects."""

    def __init__(self, users: list[Any]) -> None:
        self.users = users

    def user_pages(self, select: Any = None, expand: Any = None) -> Any:
        yield UserPage(self.users, orjson.dumps({"value": self.users}))

    def verified_domains(self) -> list[str]:
        return ["fjordline.no"]


@pytest.mark.parametrize(
    ("users", "complete"),
    [
        pytest.param([_good_entra(1), _graph_user(id=42)], False, id="an-object-without-its-id"),
        pytest.param([_good_entra(1), _graph_user(givenName=7)], True, id="an-unreadable-name"),
    ],
)
def test_an_entra_snapshot_with_an_object_nobody_can_name_is_partial(
    users: list[Any], complete: bool
) -> None:
    resource = GraphResource(
        tenant_id="t", client_id="c", client_secret="s", authority_host="https://login.example"
    )
    resource._client = _OnePage(users)  # type: ignore[assignment]

    snapshot = resource.snapshot()

    assert snapshot.complete is complete  # who is missing cannot be told without every id
    assert snapshot.users.height == 2
    assert snapshot.unreadable.height == 1
