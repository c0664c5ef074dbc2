"""`GET /users/{id}` and `GET /users/{userId}/positions` as the emulator serves them.

Pins: `UserDetails` wraps fields as `{"value", "editable"}`; an empty field is the wrapper
without `value`; a hidden field is absent altogether; `firstContractStartDate` is the earliest
position's start (ended ones included) and `currentPositions` holds the positions not ended, each
with its status from the dates; a deactivated user's detail carries `deactivatedAt`; a non-UUID
id is 400 naming `id` (or `userId`), an unknown one 404 `object:not-found`. Every answer is
checked against the published spec.
"""

from __future__ import annotations

import pytest


def test_a_complete_user_has_every_mapped_field_wrapped(api, spec, uid_of) -> None:
    anna = spec.check(api.get(f"/users/{uid_of('Anna Berg')}"))

    assert anna["id"] == uid_of("Anna Berg")
    assert anna["givenName"] == {"value": "Anna", "editable": True}
    assert anna["familyName"] == {"value": "Berg", "editable": True}
    assert anna["email"] == {"value": "anna.berg@fjordline.no", "editable": True}
    assert anna["phone"]["value"] == "+47 912 34 567"
    assert anna["homeAddress"]["value"] == {
        "line1": "Storgata 12",
        "postalCode": "0155",
        "city": "Oslo",
        "country": "NO",
    }
    assert anna["employmentId"]["value"] == "E1001"
    assert anna["firstContractStartDate"]["value"] == "2015-01-01"
    assert anna["status"] == {"active": True}
    assert anna["type"] == "user"
    assert anna["subordinatesCount"] == 0


def test_current_positions_leave_out_ended_ones_and_carry_their_title(api, spec, uid_of) -> None:
    anna = spec.check(api.get(f"/users/{uid_of('Anna Berg')}"))

    assert anna["currentPositions"] == [
        {
            "id": uid_of("anna-now"),
            "title": {"id": uid_of("Payroll"), "name": "Payroll Specialist"},
            "contractStartDate": "2019-03-01",
            "percentage": 100,
            "contractType": "Permanent",
            "status": "CURRENT",
        }
    ]


def test_a_position_starting_later_is_upcoming(api, spec, uid_of) -> None:
    eva = spec.check(api.get(f"/users/{uid_of('Eva Gran')}"))

    assert [p["status"] for p in eva["currentPositions"]] == ["UPCOMING"]
    assert eva["firstContractStartDate"]["value"] == "2099-01-01"


def test_a_deactivated_user_shows_when_it_was_deactivated(api, spec, uid_of) -> None:
    bjorn = spec.check(api.get(f"/users/{uid_of('Bjørn Dahl')}"))

    assert bjorn["status"] == {"active": False, "deactivatedAt": "2024-05-01T08:00:00.000Z"}
    assert bjorn["givenName"]["value"] == "Bjørn"


@pytest.mark.parametrize(
    "field", ["phone", "homeAddress", "employmentId", "firstContractStartDate"]
)
def test_an_empty_field_is_the_wrapper_without_value(api, spec, uid_of, field: str) -> None:
    carla = spec.check(api.get(f"/users/{uid_of('Carla Eng')}"))

    assert "value" not in carla[field]
    assert set(carla[field]) == {"editable"}
    assert carla["currentPositions"] == []


def test_a_hidden_field_is_absent_not_empty(api, spec, uid_of) -> None:
    david = spec.check(api.get(f"/users/{uid_of('David Fosse')}"))

    assert "homeAddress" not in david
    assert "employmentId" not in david
    assert david["phone"] == {"editable": True}


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        pytest.param(
            "/users/{unknown}",
            404,
            {
                "errorCode": "object:not-found",
                "errorMessage": "Object not found",
                "interpolations": {"type": "user", "id": "{unknown}"},
            },
            id="unknown-id",
        ),
        pytest.param(
            "/users/12345",
            400,
            {"errorCode": "field:invalid-format", "errorMessage": "Invalid field Format"}
            | {"fields": ["id"]},
            id="id-not-uuid",
        ),
        pytest.param(
            "/users/me",
            404,
            {"errorCode": "object:not-found", "errorMessage": "Object not found"}
            | {"interpolations": {"type": "user", "id": "me"}},
            id="me-is-a-service-user",
        ),
        pytest.param(
            "/users/{unknown}/positions",
            404,
            {"errorCode": "object:not-found", "errorMessage": "Object not found"}
            | {"interpolations": {"type": "user", "id": "{unknown}"}},
            id="positions-of-unknown",
        ),
        pytest.param(
            "/users/x/positions",
            400,
            {"errorCode": "field:invalid-format", "errorMessage": "Invalid field Format"}
            | {"fields": ["userId"]},
            id="positions-id-not-uuid",
        ),
    ],
)
def test_a_bad_or_unknown_id_gets_huma_error_body(api, spec, uid_of, path, status, body) -> None:
    unknown = uid_of("nobody")
    response = api.get(path.format(unknown=unknown))

    assert response.status_code == status
    expected = {
        k: ({i: v.format(unknown=unknown) for i, v in v.items()} if isinstance(v, dict) else v)
        for k, v in body.items()
    }
    assert spec.check(response) == expected


def test_an_upper_case_id_finds_the_user(api, spec, uid_of) -> None:
    response = api.get(f"/users/{uid_of('Anna Berg').upper()}")

    assert spec.check(response)["id"] == uid_of("Anna Berg")


def test_positions_list_every_position_earliest_first_in_pages(api, spec, uid_of) -> None:
    path = f"/users/{uid_of('Anna Berg')}/positions"
    everything = spec.check(api.get(path))
    first = spec.check(api.get(path, params={"limit": 1}))
    second = spec.check(api.get(path, params={"limit": 1, "offset": 1}))

    assert everything["total"] == 2
    assert [(p["title"]["name"], p["status"]) for p in everything["items"]] == [
        ("Clerk", "ENDED"),
        ("Payroll Specialist", "CURRENT"),
    ]
    assert everything["items"][0]["title"]["description"] == "Office work"
    assert everything["items"][0]["contractEndDate"] == "2018-12-31"
    assert first["items"] + second["items"] == everything["items"]


def test_positions_refuse_a_bad_limit(api, spec, uid_of) -> None:
    response = api.get(f"/users/{uid_of('Anna Berg')}/positions", params={"limit": "x"})

    assert response.status_code == 400
    assert spec.check(response)["fields"] == ["limit"]
