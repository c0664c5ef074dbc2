"""Preferred names, supervisors, teams and locations as the Huma emulator serves them.

Pins: `preferredName` is plain text in list items and wrapped in `UserDetails`; `supervisor` is a
wrapped `SimpleUser` (whose `status` shows an inactive supervisor), `subordinatesCount` counts
the direct reports, `GET /users/{id}/supervisor` and `/subordinates` answer them (404
`{"type": "supervisor"}` without one), and a deleted supervisor reads as none; PATCH sets and
clears the preferred name and supervisor, refuses an unknown supervisor (404), a loop of
supervisors and malformed values (400 naming `supervisor`), and refuses the group lists it
cannot write (400 naming them), which `POST|DELETE /users/{id}/groups` change instead;
`POST /users` keeps both; the list filters `supervisor` and
`isSupervisor` select by the hierarchy; `GET /groups` and `GET /groups/{id}` list teams and
locations; the control routes set teams, location, preferred name and supervisor, and add
groups. Every API answer is checked against the published spec.
"""

from __future__ import annotations

import pytest

INVALID = {"errorCode": "field:invalid-format", "errorMessage": "Invalid field Format"}


@pytest.fixture
def hierarchy(huma, uid_of):
    """Bjørn (deactivated) supervises Anna, who supervises Carla and Eva."""
    admin = huma.admin
    admin.set_huma_supervisor(uid_of("Anna Berg"), uid_of("Bjørn Dahl"))
    admin.set_huma_supervisor(uid_of("Eva Gran"), uid_of("Anna Berg"))
    admin.set_huma_supervisor(uid_of("Carla Eng"), uid_of("Anna Berg"))
    return huma


def test_a_preferred_name_is_wrapped_in_details_and_plain_in_lists(huma, api, spec, uid_of):
    huma.admin.set_huma_preferred_name(uid_of("Anna Berg"), "Annie")

    anna = spec.check(api.get(f"/users/{uid_of('Anna Berg')}"))
    carla = spec.check(api.get(f"/users/{uid_of('Carla Eng')}"))
    items = {u["id"]: u for u in spec.check(api.get("/users", params={"limit": 50}))["items"]}

    assert anna["preferredName"] == {"value": "Annie", "editable": True}
    assert carla["preferredName"] == {"editable": True}
    assert items[uid_of("Anna Berg")]["preferredName"] == "Annie"
    assert "preferredName" not in items[uid_of("Carla Eng")]


def test_supervisors_and_subordinates_are_served(hierarchy, api, spec, uid_of):
    carla = spec.check(api.get(f"/users/{uid_of('Carla Eng')}"))
    anna = spec.check(api.get(f"/users/{uid_of('Anna Berg')}"))
    bjorn = spec.check(api.get(f"/users/{uid_of('Bjørn Dahl')}"))

    assert carla["supervisor"]["editable"] is True
    supervisor = carla["supervisor"]["value"]
    assert (supervisor["id"], supervisor["givenName"], supervisor["familyName"]) == (
        uid_of("Anna Berg"),
        "Anna",
        "Berg",
    )
    assert supervisor["email"] == "anna.berg@fjordline.no"
    assert supervisor["jobTitles"] == [{"id": uid_of("Payroll"), "name": "Payroll Specialist"}]
    assert supervisor["status"] == {"active": True}
    assert anna["subordinatesCount"] == 2
    assert anna["supervisor"]["value"]["status"] == {"active": False}
    assert bjorn["supervisor"] == {"editable": True}
    assert bjorn["subordinatesCount"] == 1
    assert carla["subordinatesCount"] == 0


def test_the_supervisor_and_subordinate_endpoints(hierarchy, api, spec, uid_of):
    supervisor = spec.check(api.get(f"/users/{uid_of('Carla Eng')}/supervisor"))
    subordinates = spec.check(api.get(f"/users/{uid_of('Anna Berg')}/subordinates"))
    none = api.get(f"/users/{uid_of('Bjørn Dahl')}/supervisor")

    assert supervisor["id"] == uid_of("Anna Berg")
    assert [g["name"] for g in supervisor["teams"]] == ["Payroll team"]
    assert [g["name"] for g in supervisor["locations"]] == ["Oslo"]
    assert [u["givenName"] for u in supervisor["subordinates"]] == ["Carla", "Eva"]
    assert [u["id"] for u in subordinates] == [uid_of("Carla Eng"), uid_of("Eva Gran")]
    assert spec.check(none)["interpolations"] == {"type": "supervisor", "id": uid_of("Bjørn Dahl")}
    assert none.status_code == 404


def test_a_deleted_supervisor_reads_as_none(hierarchy, api, spec, uid_of):
    hierarchy.admin.call("DELETE", f"/users/{uid_of('Anna Berg')}")

    carla = spec.check(api.get(f"/users/{uid_of('Carla Eng')}"))
    unsupervised = spec.check(api.get("/users", params={"supervisor": "none", "limit": 50}))

    assert carla["supervisor"] == {"editable": True}
    assert uid_of("Carla Eng") in {u["id"] for u in unsupervised["items"]}


def test_patch_sets_and_clears_preferred_name_and_supervisor(api, spec, uid_of):
    path = f"/users/{uid_of('Carla Eng')}"

    set_ = spec.check(
        api.patch(path, json={"preferredName": "Cici", "supervisor": uid_of("Anna Berg")})
    )
    cleared = spec.check(api.patch(path, json={"preferredName": "", "supervisor": None}))

    assert set_["preferredName"]["value"] == "Cici"
    assert set_["supervisor"]["value"]["id"] == uid_of("Anna Berg")
    assert cleared["preferredName"] == {"editable": True}
    assert cleared["supervisor"] == {"editable": True}
    assert spec.check(api.get(f"/users/{uid_of('Anna Berg')}"))["subordinatesCount"] == 0


@pytest.mark.parametrize(
    ("who", "body", "fields"),
    [
        pytest.param("Anna Berg", {"supervisor": "not-a-uuid"}, ["supervisor"], id="malformed"),
        pytest.param("Anna Berg", {"supervisor": "{Anna Berg}"}, ["supervisor"], id="oneself"),
        pytest.param("Anna Berg", {"supervisor": "{Carla Eng}"}, ["supervisor"], id="loop"),
        pytest.param("Carla Eng", {"preferredName": "x" * 256}, ["preferredName"], id="too-long"),
        pytest.param("Carla Eng", {"teams": ["{Payroll team}"]}, ["teams"], id="teams"),
        pytest.param(
            "Carla Eng",
            {"locations": ["{Oslo}"], "groups": ["{Oslo}"], "companies": []},
            ["locations", "companies", "groups"],
            id="group-lists",
        ),
    ],
)
def test_patch_refuses_what_it_cannot_write(hierarchy, api, spec, uid_of, who, body, fields):
    names = {n: uid_of(n) for n in ("Anna Berg", "Carla Eng", "Payroll team", "Oslo")}
    body = {
        k: [v.format_map(names) for v in value] if isinstance(value, list) else value
        for k, value in body.items()
    }
    body = {k: v.format_map(names) if isinstance(v, str) else v for k, v in body.items()}
    before = hierarchy.admin.state()

    response = api.patch(f"/users/{uid_of(who)}", json=body)

    assert response.status_code == 400
    assert spec.check(response) == INVALID | {"fields": fields}
    assert hierarchy.admin.state() == before


def test_patch_with_an_unknown_supervisor_is_not_found(api, spec, uid_of):
    ghost = uid_of("ghost")

    response = api.patch(f"/users/{uid_of('Carla Eng')}", json={"supervisor": ghost})

    assert response.status_code == 404
    assert spec.check(response)["interpolations"] == {"type": "user", "id": ghost}


def test_post_keeps_preferred_name_and_supervisor(api, spec, uid_of):
    body = {
        "email": "nina.ny@fjordline.no",
        "givenName": "Nina",
        "familyName": "Ny",
        "preferredName": "Nin",
        "supervisor": uid_of("Anna Berg"),
        "groups": [uid_of("Fjordline AS")],
    }

    created = spec.check(api.post("/users", json=body))
    detail = spec.check(api.get(f"/users/{created['id']}"))

    assert created["preferredName"] == "Nin"
    assert detail["supervisor"]["value"]["id"] == uid_of("Anna Berg")


def test_hidden_preferred_name_and_supervisor_are_left_out(huma, api, spec, uid_of):
    anna = uid_of("Anna Berg")
    huma.admin.set_huma_preferred_name(anna, "Annie")
    huma.admin.set_huma_supervisor(anna, uid_of("Carla Eng"))
    huma.admin.call("PATCH", f"/users/{anna}", {"hiddenFields": ["preferredName", "supervisor"]})

    detail = spec.check(api.get(f"/users/{anna}"))
    items = spec.check(api.get("/users", params={"id": anna}))["items"]

    assert "preferredName" not in detail
    assert "supervisor" not in detail
    assert "preferredName" not in items[0]


def test_the_list_filters_by_supervisor(hierarchy, api, spec, uid_of):
    def ids(**params):
        answer = spec.check(api.get("/users", params={"limit": 50, **params}))
        return {u["id"] for u in answer["items"]}

    everyone = ids()

    assert ids(supervisor=uid_of("Anna Berg")) == {uid_of("Carla Eng"), uid_of("Eva Gran")}
    assert ids(supervisor="none") == everyone - {
        uid_of(n) for n in ("Anna Berg", "Carla Eng", "Eva Gran")
    }
    assert ids(supervisor="me") == set()
    assert ids(isSupervisor="true") == {uid_of("Anna Berg"), uid_of("Bjørn Dahl")}
    assert ids(isSupervisor="false") == everyone - {uid_of("Anna Berg"), uid_of("Bjørn Dahl")}


def test_groups_are_listed_by_type_and_read_with_their_members(api, spec, uid_of):
    every = spec.check(api.get("/groups"))
    locations = spec.check(api.get("/groups", params={"type": "location"}))
    oslo = spec.check(api.get(f"/groups/{uid_of('Oslo')}"))

    assert [g["name"] for g in every["items"]] == ["Fjordline AS", "Oslo", "Payroll team"]
    assert every["total"] == 3
    assert locations["items"] == [{"id": uid_of("Oslo"), "name": "Oslo", "type": "location"}]
    assert [m["id"] for m in oslo["members"]] == [uid_of("Anna Berg")]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/groups", {"limit": "26"}, 400),
        ("/groups", {"type": "user"}, 400),
        ("/groups/not-a-uuid", {}, 400),
        ("/groups/{ghost}", {}, 404),
    ],
)
def test_bad_group_requests_are_refused(api, spec, uid_of, path, params, status):
    response = api.get(path.format(ghost=uid_of("ghost")), params=params)

    assert response.status_code == status
    spec.check(response)


def test_control_routes_set_teams_and_location(huma, api, spec, uid_of):
    admin = huma.admin
    carla = uid_of("Carla Eng")
    sales = admin.call("POST", "/groups", {"name": "Sales", "type": "team"})

    admin.set_huma_teams(carla, [uid_of("Payroll team"), sales["id"]])
    admin.set_huma_location(carla, uid_of("Oslo"))
    with_both = spec.check(api.get(f"/users/{carla}"))
    admin.set_huma_teams(carla, [])
    admin.set_huma_location(carla, None)
    without = spec.check(api.get(f"/users/{carla}"))

    assert [t["name"] for t in with_both["teams"]["value"]] == ["Payroll team", "Sales"]
    assert [t["name"] for t in with_both["locations"]["value"]] == ["Oslo"]
    assert without["teams"] == {"value": [], "editable": True}
    assert without["locations"] == {"value": [], "editable": True}
    assert [c["name"] for c in without["companies"]["value"]] == ["Fjordline AS"]


@pytest.mark.parametrize(
    ("call", "status"),
    [
        (lambda admin, uid: admin.set_huma_teams(uid("Carla Eng"), [uid("Oslo")]), "400"),
        (lambda admin, uid: admin.set_huma_location(uid("Carla Eng"), uid("ghost")), "404"),
        (lambda admin, uid: admin.set_huma_supervisor(uid("Carla Eng"), uid("ghost")), "404"),
        (lambda admin, uid: admin.set_huma_supervisor(uid("Bjørn Dahl"), uid("Carla Eng")), "409"),
    ],
)
def test_control_routes_refuse_what_huma_would_not_allow(hierarchy, uid_of, call, status):
    before = hierarchy.admin.state()

    with pytest.raises(RuntimeError, match=f"failed with {status}"):
        call(hierarchy.admin, uid_of)
    assert hierarchy.admin.state() == before


def test_memberships_change_through_the_groups_endpoint(api, spec, uid_of):
    carla, path = uid_of("Carla Eng"), f"/users/{uid_of('Carla Eng')}/groups"
    joined = api.post(path, json=[uid_of("Payroll team"), uid_of("Oslo")])
    again = api.post(path, json=[uid_of("Oslo")])
    after_joining = spec.check(api.get(f"/users/{carla}"))

    left = api.request("DELETE", path, json=[uid_of("Oslo")])
    after_leaving = spec.check(api.get(f"/users/{carla}"))

    assert (joined.status_code, joined.content, again.status_code) == (200, b"", 200)
    assert [g["name"] for g in after_joining["groups"]["value"]] == [
        "Fjordline AS",
        "Payroll team",
        "Oslo",
    ]
    assert left.status_code == 200
    assert [t["name"] for t in after_leaving["teams"]["value"]] == ["Payroll team"]
    assert after_leaving["locations"] == {"value": [], "editable": True}


@pytest.mark.parametrize(
    ("user", "body", "status", "interpolations"),
    [
        ("Carla Eng", ["{ghost}"], 404, {"type": "group", "id": "{ghost}"}),
        ("ghost", ["{Oslo}"], 404, {"type": "user", "id": "{ghost}"}),
        ("Carla Eng", {"groups": ["{Oslo}"]}, 400, None),
        ("Carla Eng", ["not-a-uuid"], 400, None),
    ],
)
def test_bad_membership_changes_are_refused(
    huma, api, spec, uid_of, user, body, status, interpolations
):
    names = {"ghost": uid_of("ghost"), "Oslo": uid_of("Oslo")}
    if isinstance(body, list):
        body = [b.format_map(names) for b in body]
    else:
        body = {"groups": [b.format_map(names) for b in body["groups"]]}
    before = huma.admin.state()

    response = api.post(f"/users/{uid_of(user)}/groups", json=body)

    assert response.status_code == status
    answer = spec.check(response)
    if interpolations is not None:
        assert answer["interpolations"] == {
            k: v.format_map(names) for k, v in interpolations.items()
        }
    assert huma.admin.state() == before


def test_the_state_without_users_is_the_whole_state_with_no_user(huma):
    whole = huma.admin.state()

    light = huma.admin.state(users=False)

    assert whole["users"]
    assert light == {**whole, "users": []}
