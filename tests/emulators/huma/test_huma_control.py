"""The Huma emulator's control routes and state file.

Pins: what Huma's administrators do in its UI shows in the API at once: deactivating sets
`status.active` false with `deactivatedAt` (reactivating clears both), a login-email change keeps
emails unique, an added position becomes current and moves `firstContractStartDate`, an ended one
leaves `currentPositions`; a raw patch can hide fields. The state exported is the state loaded
(normalised); a malformed state is refused and the old one kept.
"""

from __future__ import annotations

from typing import Any

import pytest


def test_deactivating_and_reactivating_a_user(huma, api, spec, uid_of) -> None:
    path = f"/users/{uid_of('Carla Eng')}"
    huma.admin.call("POST", f"{path}/deactivate", {"at": "2025-02-03T04:05:06.000Z"})
    deactivated = spec.check(api.get(path))
    inactive = spec.check(api.get("/users", params={"isActive": "false"}))
    huma.admin.call("POST", f"{path}/reactivate")
    reactivated = spec.check(api.get(path))

    assert deactivated["status"] == {"active": False, "deactivatedAt": "2025-02-03T04:05:06.000Z"}
    assert uid_of("Carla Eng") in {u["id"] for u in inactive["items"]}
    assert reactivated["status"] == {"active": True}


def test_changing_the_login_email_keeps_emails_unique(huma, api, spec, uid_of) -> None:
    path = f"/users/{uid_of('Carla Eng')}"
    huma.admin.call("PUT", f"{path}/email", {"email": "carla@fjordline.no"})

    with pytest.raises(RuntimeError, match="409"):
        huma.admin.call("PUT", f"{path}/email", {"email": "Anna.Berg@fjordline.no"})
    assert spec.check(api.get(path))["email"]["value"] == "carla@fjordline.no"


def test_an_added_position_is_current_and_can_be_ended(huma, api, spec, uid_of) -> None:
    path = f"/users/{uid_of('Carla Eng')}"
    position = huma.admin.call(
        "POST",
        f"{path}/positions",
        {"titleId": uid_of("Clerk"), "contractStartDate": "2021-06-01"},
    )
    started = spec.check(api.get(path))
    huma.admin.call("POST", f"{path}/positions/{position['id']}/end")
    ended = spec.check(api.get(path))
    listed = spec.check(api.get(f"{path}/positions"))

    assert [p["status"] for p in started["currentPositions"]] == ["CURRENT"]
    assert started["firstContractStartDate"]["value"] == "2021-06-01"
    assert ended["currentPositions"] == []
    assert ended["firstContractStartDate"]["value"] == "2021-06-01"
    assert [p["status"] for p in listed["items"]] == ["ENDED"]


def test_a_raw_patch_can_hide_a_field(huma, api, spec, uid_of) -> None:
    path = f"/users/{uid_of('Anna Berg')}"
    huma.admin.call("PATCH", path, {"hiddenFields": ["phone"]})

    detail = spec.check(api.get(path))
    item = spec.check(api.get("/users", params={"search": "anna.berg@"}))["items"][0]

    assert "phone" not in detail
    assert "phone" not in item


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        pytest.param("GET", "/users/{nobody}", None, "404", id="unknown-user"),
        pytest.param("PATCH", "/users/{anna}", {"groups": ["{nobody}"]}, "400", id="bad-group"),
        pytest.param("PATCH", "/users/{anna}", {"shoeSize": 44}, "400", id="unknown-property"),
        pytest.param("POST", "/users/{anna}/positions", {"titleId": "x"}, "400", id="bad-title"),
        pytest.param("PATCH", "/api-keys/{nobody}", {"active": False}, "404", id="unknown-key"),
    ],
)
def test_a_bad_control_request_is_refused_and_changes_nothing(
    huma, uid_of, method: str, path: str, body: Any, status: str
) -> None:
    names = {"nobody": uid_of("nobody"), "anna": uid_of("Anna Berg")}
    if body and "groups" in body:
        body = {"groups": [g.format(**names) for g in body["groups"]]}
    before = huma.admin.state()

    with pytest.raises(RuntimeError, match=status):
        huma.admin.call(method, path.format(**names), body)
    assert huma.admin.state() == before


def test_the_exported_state_is_the_loaded_state(huma, state) -> None:
    exported = huma.admin.state()

    assert exported == state


def test_a_malformed_state_is_refused_and_the_old_one_kept(huma, state) -> None:
    state["users"][0]["homeAddress"] = {"line1": "Gate 1"}  # no city, postal code, country

    with pytest.raises(RuntimeError, match="400"):
        huma.admin.load_state(state)
    assert len(huma.admin.state()["users"]) == 12


def test_a_state_can_stage_details_in_other_shapes_and_charsets(huma, api, uid_of) -> None:
    path = f"/users/{uid_of('Anna Berg')}"
    served = {"firstContractStartDate": {"value": "01.03.2019"}, "status": {"active": "false"}}
    huma.admin.call("PATCH", path, {"servedFields": served})
    staged = api.get(path).json()
    huma.admin.call("PATCH", path, {"givenName": "Åse", "servedCharset": "latin-1"})
    latin = api.get(path)
    huma.admin.call("PATCH", path, {"servedFields": {}, "servedCharset": None})

    assert staged["firstContractStartDate"] == {"value": "01.03.2019"}
    assert staged["status"] == {"active": "false"}
    assert "Åse".encode("latin-1") in latin.content
    with pytest.raises(UnicodeDecodeError):
        latin.content.decode("utf-8")
    assert api.get(path).json()["status"] == {"active": True}
    assert "servedFields" not in huma.admin.call("GET", path)
