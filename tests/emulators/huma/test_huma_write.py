"""`PATCH /users/{id}` and `POST /users` as the emulator serves them.

Pins: a PATCH changes exactly the properties sent and answers the updated `UserDetails`; `""` or
null clears phone and employment ID; a home address needs all six `AddressUpdateInput`
properties as strings and an ISO 3166-1 alpha-2 country, else a 400 naming the properties; email,
phone and employment ID stay unique in the organisation (a duplicate is a 400 naming the field);
deactivated users can be written through the API. A POST needs email, names and known groups and
answers the new `User`. Every answer is checked against the published spec.
"""

from __future__ import annotations

from typing import Any

import pytest

ADDRESS = {
    "line1": "Kongens gate 1",
    "line2": "",
    "line3": "",
    "postalCode": "7011",
    "city": "Trondheim",
    "country": "NO",
}
INVALID = {"errorCode": "field:invalid-format", "errorMessage": "Invalid field Format"}


def test_a_patch_changes_only_what_it_sends(api, spec, uid_of) -> None:
    path = f"/users/{uid_of('Anna Berg')}"
    before = spec.check(api.get(path))

    answer = spec.check(api.patch(path, json={"phone": "+47 999 88 777"}))
    after = spec.check(api.get(path))

    assert answer == after
    assert after["phone"]["value"] == "+47 999 88 777"
    assert {k: v for k, v in after.items() if k != "phone"} == {
        k: v for k, v in before.items() if k != "phone"
    }


def test_a_patch_stores_a_complete_address_without_empty_lines(api, spec, uid_of) -> None:
    answer = spec.check(api.patch(f"/users/{uid_of('Carla Eng')}", json={"homeAddress": ADDRESS}))

    assert answer["homeAddress"] == {
        "value": {"line1": "Kongens gate 1", "postalCode": "7011", "city": "Trondheim"}
        | {"country": "NO"},
        "editable": True,
    }


@pytest.mark.parametrize(
    "empty", [pytest.param("", id="empty-string"), pytest.param(None, id="null")]
)
@pytest.mark.parametrize("field", ["phone", "employmentId"])
def test_an_empty_value_clears_an_optional_field(api, spec, uid_of, field, empty) -> None:
    answer = spec.check(api.patch(f"/users/{uid_of('Anna Berg')}", json={field: empty}))

    assert answer[field] == {"editable": True}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({"homeAddress": ADDRESS | {"country": "Norway"}}, ["country"], id="name"),
        pytest.param({"homeAddress": ADDRESS | {"country": "no"}}, ["country"], id="lower"),
        pytest.param({"homeAddress": ADDRESS | {"country": "XX"}}, ["country"], id="unassigned"),
        pytest.param({"homeAddress": ADDRESS | {"line2": None}}, ["line2"], id="null-line2"),
        pytest.param({"homeAddress": {"line1": "Gate 1"}}, [*ADDRESS][1:], id="only-line1"),
        pytest.param({"homeAddress": ADDRESS | {"city": " "}}, ["city"], id="blank-city"),
        pytest.param({"homeAddress": ADDRESS | {"line1": "x" * 256}}, ["line1"], id="too-long"),
    ],
)
def test_an_incomplete_or_foreign_address_is_a_400_naming_the_parts(
    api, spec, uid_of, body: dict[str, Any], fields: list[str]
) -> None:
    response = api.patch(f"/users/{uid_of('Anna Berg')}", json=body)

    assert response.status_code == 400
    assert spec.check(response) == INVALID | {"fields": [f"homeAddress.{f}" for f in fields]}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({"givenName": ""}, ["givenName"], id="empty-given-name"),
        pytest.param({"familyName": None}, ["familyName"], id="null-family-name"),
        pytest.param({"email": "not-an-address"}, ["email"], id="bad-email"),
        pytest.param({"phone": "1" * 256}, ["phone"], id="phone-too-long"),
        pytest.param({"employmentId": 1001}, ["employmentId"], id="employment-id-number"),
        pytest.param({"email": "anna.berg2@FJORDLINE.no"}, ["email"], id="duplicate-email"),
        pytest.param({"phone": "+4740000001"}, ["phone"], id="duplicate-phone"),
        pytest.param({"employmentId": "E1002"}, ["employmentId"], id="duplicate-employment-id"),
    ],
)
def test_an_invalid_or_duplicate_value_is_a_400_naming_the_field(
    api, spec, uid_of, body: dict[str, Any], fields: list[str]
) -> None:
    path = f"/users/{uid_of('Anna Berg')}"
    before = api.get(path).json()

    response = api.patch(path, json=body)

    assert response.status_code == 400
    assert spec.check(response) == INVALID | {"fields": fields}
    assert api.get(path).json() == before


def test_resending_ones_own_unique_values_is_not_a_duplicate(api, spec, uid_of) -> None:
    body = {"email": "anna.berg@fjordline.no", "phone": "+47 912 34 567", "employmentId": "E1001"}

    response = api.patch(f"/users/{uid_of('Anna Berg')}", json=body)

    assert response.status_code == 200
    spec.check(response)


def test_a_deactivated_user_can_be_written_through_the_api(api, spec, uid_of) -> None:
    answer = spec.check(api.patch(f"/users/{uid_of('Bjørn Dahl')}", json={"phone": "+47 1"}))

    assert answer["phone"]["value"] == "+47 1"
    assert answer["status"]["active"] is False


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        pytest.param("/users/{nobody}", {"phone": "1"}, 404, id="unknown-user"),
        pytest.param("/users/abc", {"phone": "1"}, 400, id="id-not-uuid"),
        pytest.param("/users/{anna}", "not json", 400, id="body-not-json"),
    ],
)
def test_a_patch_to_a_bad_target_or_with_a_bad_body_is_refused(
    api, spec, uid_of, path, body, status
) -> None:
    url = path.format(nobody=uid_of("nobody"), anna=uid_of("Anna Berg"))
    if isinstance(body, str):
        response = api.patch(url, content=body, headers={"Content-Type": "application/json"})
    else:
        response = api.patch(url, json=body)

    assert response.status_code == status
    spec.check(response)


def test_a_post_creates_a_user_with_empty_detail_fields(api, spec, uid_of) -> None:
    body = {
        "email": "nina.ny@fjordline.no",
        "givenName": "Nina",
        "familyName": "Ny",
        "phone": "+47 555 00 000",
        "groups": [uid_of("Fjordline AS"), uid_of("Oslo")],
        "invite": False,
    }
    created = spec.check(api.post("/users", json=body))
    detail = spec.check(api.get(f"/users/{created['id']}"))

    assert created["email"] == "nina.ny@fjordline.no"
    assert created["status"] == {"active": True}
    assert [g["name"] for g in created["groups"]] == ["Fjordline AS", "Oslo"]
    assert detail["phone"]["value"] == "+47 555 00 000"
    assert detail["homeAddress"] == {"editable": True}
    assert detail["currentPositions"] == []


@pytest.mark.parametrize(
    ("change", "status", "fields"),
    [
        pytest.param({"email": "ANNA.BERG@fjordline.no"}, 400, ["email"], id="duplicate-email"),
        pytest.param({"phone": "+47 912 34 567"}, 400, ["phone"], id="duplicate-phone"),
        pytest.param({"email": None}, 400, ["email"], id="no-email"),
        pytest.param({"givenName": None}, 400, ["givenName"], id="no-given-name"),
        pytest.param({"groups": None}, 400, ["groups"], id="no-groups"),
        pytest.param({"groups": []}, 400, ["groups"], id="empty-groups"),
        pytest.param({"groups": ["x"]}, 400, ["groups"], id="group-not-uuid"),
        pytest.param({"groups": ["{nobody}"]}, 404, None, id="unknown-group"),
    ],
)
def test_a_post_with_a_bad_or_duplicate_field_is_refused(
    api, spec, uid_of, change: dict[str, Any], status: int, fields: list[str] | None
) -> None:
    body = {"email": "nina.ny@fjordline.no", "givenName": "Nina", "familyName": "Ny"}
    body["groups"] = [uid_of("Fjordline AS")]
    body |= change
    if body["groups"]:
        body["groups"] = [g.format(nobody=uid_of("nobody")) for g in body["groups"]]
    body = {k: v for k, v in body.items() if v is not None}

    response = api.post("/users", json=body)

    assert response.status_code == status
    answer = spec.check(response)
    if fields is None:
        assert answer["interpolations"] == {"type": "group", "id": uid_of("nobody")}
    else:
        assert answer == INVALID | {"fields": fields}
    assert api.get("/users", params={"limit": 0}).json()["total"] == 12


def test_writes_are_logged_once_with_their_body(huma, api, uid_of) -> None:
    api.patch(f"/users/{uid_of('Anna Berg')}", json={"phone": "+47 1"})

    [entry] = huma.admin.requests(method="PATCH")
    assert entry["body"] == {"phone": "+47 1"}
    assert entry["status"] == 200
