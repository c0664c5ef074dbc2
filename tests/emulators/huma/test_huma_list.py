"""`GET /users` as the emulator serves it: Huma's offset paging and filters.

Pins: pages of at most 50 (default 25) ordered by name with the id as tie-break, `total` the size
of the filtered list; `isActive`, `search`, group filters and `orderDirection`; bad `limit`,
`offset` or `isActive` values are 400 `field:invalid-format` naming the parameter; deactivated
users stay listed with `status.active` false (and no `deactivatedAt`: not in lists), deleted users
vanish; a deletion mid-scan shifts later offset pages, as on the real service. Every answer is
checked against the published spec, and the checker itself is shown to reject a wrong answer.
"""

from __future__ import annotations

import httpx
import pytest
from openapi_core.exceptions import OpenAPIError


def _all_pages(api: httpx.Client, spec, limit: int, **params: str) -> list[dict]:
    items: list[dict] = []
    offset = 0
    while True:
        page = spec.check(api.get("/users", params={"limit": limit, "offset": offset, **params}))
        items += page["items"]
        offset += limit
        if offset >= page["total"]:
            return items


def test_pages_cover_everyone_once_in_name_order(api, spec, state) -> None:
    items = _all_pages(api, spec, limit=5)

    names = [(u["givenName"], u["familyName"]) for u in items]
    expected = sorted(state["users"], key=lambda u: (u["givenName"], u["familyName"], u["id"]))
    assert [u["id"] for u in items] == [u["id"] for u in expected]
    # Two namesakes: the id decides.
    assert names[:3] == [("Anna", "Berg"), ("Anna", "Berg"), ("Bjørn", "Dahl")]
    assert items[0]["id"] < items[1]["id"]


def test_default_limit_is_25_and_limit_0_returns_only_the_total(api, spec) -> None:
    everyone = spec.check(api.get("/users"))
    counted = spec.check(api.get("/users", params={"limit": 0}))

    assert len(everyone["items"]) == everyone["total"] == 12
    assert counted == {"total": 12, "items": [], "filters": {}, "meta": {}}


def test_descending_order_reverses_the_list(api, spec) -> None:
    ascending = spec.check(api.get("/users"))["items"]
    descending = spec.check(api.get("/users", params={"orderDirection": "DESC"}))["items"]

    assert [u["id"] for u in descending] == [u["id"] for u in reversed(ascending)]


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        pytest.param({"limit": 51}, ["limit"], id="limit-above-50"),
        pytest.param({"limit": -1}, ["limit"], id="negative-limit"),
        pytest.param({"limit": "ten"}, ["limit"], id="limit-not-a-number"),
        pytest.param({"offset": -5}, ["offset"], id="negative-offset"),
        pytest.param({"offset": "1.5"}, ["offset"], id="offset-not-an-integer"),
        pytest.param({"isActive": "maybe"}, ["isActive"], id="is-active-not-boolean"),
        pytest.param({"limit": 99, "offset": -1}, ["limit", "offset"], id="both"),
        pytest.param({"team": "not-a-uuid"}, ["team"], id="team-not-uuid"),
    ],
)
def test_a_bad_query_parameter_is_a_400_naming_it(api, spec, params, fields) -> None:
    response = api.get("/users", params=params)

    assert response.status_code == 400
    assert spec.check(response) == {
        "errorCode": "field:invalid-format",
        "errorMessage": "Invalid field Format",
        "fields": fields,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"isActive": "true"}, 11, id="active"),
        pytest.param({"isActive": "false"}, 1, id="inactive"),
        pytest.param({"search": "BERG"}, 2, id="search-name"),
        pytest.param({"search": "plain.person03@"}, 1, id="search-email"),
        pytest.param({"team": "{team}"}, 1, id="team"),
        pytest.param({"location": "{oslo}", "isActive": "false"}, 0, id="location-and-inactive"),
        pytest.param({"jobTitle": "{clerk}"}, 1, id="current-job-title"),
    ],
)
def test_filters_select_users_and_total_counts_them(api, spec, uid_of, params, expected) -> None:
    ids = {"team": uid_of("Payroll team"), "oslo": uid_of("Oslo"), "clerk": uid_of("Clerk")}
    params = {k: v.format(**ids) for k, v in params.items()}

    page = spec.check(api.get("/users", params={"limit": 50, **params}))

    assert page["total"] == len(page["items"]) == expected


def test_a_deactivated_user_stays_listed_as_inactive_without_deactivation_details(
    api, spec, uid_of
) -> None:
    page = spec.check(api.get("/users", params={"isActive": "false"}))

    [bjorn] = page["items"]
    assert bjorn["id"] == uid_of("Bjørn Dahl")
    assert bjorn["status"] == {"active": False}


def test_a_list_item_carries_current_job_titles_and_groups_by_kind(api, spec, uid_of) -> None:
    anna = spec.check(api.get("/users", params={"search": "anna.berg@"}))["items"][0]

    assert anna["jobTitles"] == [{"id": uid_of("Payroll"), "name": "Payroll Specialist"}]
    assert [t["name"] for t in anna["teams"]] == ["Payroll team"]
    assert [g["name"] for g in anna["locations"]] == ["Oslo"]
    assert [g["name"] for g in anna["companies"]] == ["Fjordline AS"]
    assert len(anna["groups"]) == 3
    assert "homeAddress" not in anna
    assert "employmentId" not in anna


def test_a_deleted_user_vanishes(huma, api, spec, uid_of) -> None:
    huma.admin.call("DELETE", f"/users/{uid_of('Carla Eng')}")

    page = spec.check(api.get("/users", params={"limit": 50}))
    detail = api.get(f"/users/{uid_of('Carla Eng')}")

    assert page["total"] == 11
    assert uid_of("Carla Eng") not in {u["id"] for u in page["items"]}
    assert detail.status_code == 404


def test_a_deletion_mid_scan_shifts_later_pages(huma, api, spec) -> None:
    first = spec.check(api.get("/users", params={"limit": 5, "offset": 0}))["items"]
    before = spec.check(api.get("/users", params={"limit": 50}))["items"]
    huma.admin.call("DELETE", f"/users/{first[0]['id']}")
    second = spec.check(api.get("/users", params={"limit": 5, "offset": 5}))

    # The user who was sixth is now fifth, on the page already read: this scan misses them.
    assert second["total"] == 11
    assert second["items"][0]["id"] == before[6]["id"]
    assert before[5]["id"] not in {u["id"] for u in first + second["items"]}


def test_a_created_user_appears_in_name_order(api, spec, uid_of) -> None:
    created = api.post(
        "/users",
        json={
            "email": "aaron.aas@fjordline.no",
            "givenName": "Aaron",
            "familyName": "Aas",
            "groups": [uid_of("Fjordline AS")],
        },
    )
    page = spec.check(api.get("/users", params={"limit": 1}))

    assert page["total"] == 13
    assert page["items"][0]["id"] == spec.check(created)["id"]


def test_the_spec_checker_rejects_an_answer_that_breaks_the_schema(huma, api, spec) -> None:
    real = api.get("/users", params={"limit": 1})
    item = real.json()["items"][0]
    del item["jobTitles"]  # required in `User`
    broken = httpx.Response(
        200,
        json={"total": 1, "items": [item]},
        request=real.request,
    )

    with pytest.raises(OpenAPIError):
        spec.check(broken)


def test_a_filtered_list_follows_a_write_between_pages(huma, api, spec, uid_of) -> None:
    before = spec.check(api.get("/users", params={"isActive": "false", "limit": 1}))
    huma.admin.call("POST", f"/users/{uid_of('Carla Eng')}/deactivate")
    after = spec.check(api.get("/users", params={"isActive": "false", "limit": 1, "offset": 1}))

    assert before["total"] == 1
    assert after["total"] == 2
    assert after["items"][0]["id"] == uid_of("Carla Eng")
