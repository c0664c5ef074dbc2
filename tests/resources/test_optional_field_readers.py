"""The snapshot readers read an optional field only when it is on, in the shape SPEC §3 asks for.

Pins: Huma's display name is the preferred name (the given name when there is none) and the
family name; department and office are the name of the first team / location by name; a list in
another shape is unreadable (listed, left unknown); an absent wrapper leaves the field unknown;
Graph's `displayName`, `department`, `officeLocation` are read only when on, and a field that is
off adds no column on either side.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconcile.frames import entra_users_schema, huma_users_schema
from resources.graph_snapshot import read_entra_users
from resources.huma_snapshot import read_huma_users

_ID = "7b0c8f0e-0000-4000-8000-000000000001"
_ALL = ("display_name", "office", "department")


def _wrapped(value: Any) -> dict[str, Any]:
    return {"editable": True} if value is None else {"value": value, "editable": True}


def _details(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": _ID,
        "givenName": _wrapped("Ingrid"),
        "familyName": _wrapped("Haugen"),
        "preferredName": _wrapped(None),
        "email": _wrapped("ingrid.haugen@fjordline.no"),
        "teams": _wrapped(
            [{"id": "t2", "name": "Payroll", "type": "team"}, {"id": "t1", "name": "Finance"}]
        ),
        "locations": _wrapped([{"id": "l1", "name": " Oslo HQ ", "type": "location"}]),
        "status": {"active": True},
    }
    payload.update(overrides)
    return {key: value for key, value in payload.items() if value is not None}


def _huma_row(payload: Any, fields: tuple[str, ...] = _ALL) -> tuple[dict[str, Any], list]:
    read = read_huma_users([(_ID, payload)], fields)
    assert read.users.schema == huma_users_schema(fields)
    return read.users.row(0, named=True), read.unreadable.to_dicts()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({}, "Ingrid Haugen", id="given-name-without-preferred"),
        pytest.param({"preferredName": _wrapped("Inga")}, "Inga Haugen", id="preferred-name"),
        pytest.param({"preferredName": _wrapped("  ")}, "Ingrid Haugen", id="blank-preferred"),
    ],
)
def test_display_name_is_preferred_or_given_name_and_family_name(
    overrides: dict, expected: str
) -> None:
    row, _ = _huma_row(_details(**overrides))

    assert row["display_name"] == expected


def test_department_and_office_are_the_first_group_names_by_name() -> None:
    row, _ = _huma_row(_details())

    assert (row["department"], row["office"]) == ("Finance", "Oslo HQ")


def test_no_team_or_location_is_empty() -> None:
    row, _ = _huma_row(_details(teams=_wrapped([]), locations=_wrapped(None)))

    assert (row["department"], row["office"]) == (None, None)
    assert not {"department", "office"} & set(row["unknown_fields"])


def test_groups_in_another_shape_are_unreadable_and_unknown() -> None:
    row, unreadable = _huma_row(_details(teams=_wrapped("Finance")))

    assert row["department"] is None
    assert set(_ALL) & set(row["unknown_fields"]) == {"department"}
    assert [(u["field"], u["rule"]) for u in unreadable] == [("department", "unreadable")]


def test_a_field_not_returned_is_unknown() -> None:
    row, unreadable = _huma_row(_details(locations=None, familyName=None))

    assert {"office", "display_name"} <= set(row["unknown_fields"])
    assert unreadable == []


def test_fields_that_are_off_are_not_read() -> None:
    row, _ = _huma_row(_details(), ())

    assert not set(_ALL) & set(row)


def _graph_user(**overrides: Any) -> dict[str, Any]:
    user = {
        "id": "5f1e1a54-0000-4000-8000-000000000001",
        "userPrincipalName": "ingrid.haugen@fjordline.no",
        "mail": "ingrid.haugen@fjordline.no",
        "displayName": "Ingrid Haugen",
        "department": None,
        "officeLocation": "Oslo HQ",
        "accountEnabled": True,
        "userType": "Member",
    }
    user.update(overrides)
    return user


def test_graph_properties_are_read_only_when_on() -> None:
    on = read_entra_users([_graph_user()], _ALL).users
    off = read_entra_users([_graph_user()]).users

    assert on.schema == entra_users_schema(_ALL)
    assert on.select(_ALL).row(0) == ("Ingrid Haugen", "Oslo HQ", None)
    assert not set(_ALL) & set(off.columns)
