"""`PATCH`, `POST` and `DELETE` on `/users` answer and refuse as Graph v1.0 does.

Pins: PATCH is 204 and changes only what was sent, `null` clears; Graph's 400s for read-only
and unknown properties, wrong types, `employeeId` over 16 characters, `mail` or `displayName`
cleared, null collections; on-premises synced users refuse the properties AD masters; the
optional app-only refusal of `employeeHireDate`; POST is 201 with the user, needs the required
properties, a complex password and a verified domain, and refuses duplicates with
`ObjectConflict`; passwords are never returned nor logged.
"""

from __future__ import annotations

import pytest

INGRID = "ingrid.haugen@fjordline.no"


def _new_user(**overrides):
    body = {
        "accountEnabled": True,
        "displayName": "Nina Nybakk",
        "mailNickname": "nina.nybakk",
        "userPrincipalName": "nina.nybakk@fjordline.no",
        "passwordProfile": {"password": "Vinter!2024x", "forceChangePasswordNextSignIn": True},
        "givenName": "Nina",
        "surname": "Nybakk",
        "mail": "nina.nybakk@fjordline.no",
    }
    return {k: v for k, v in (body | overrides).items() if v is not ...}


def test_patch_changes_only_what_was_sent(entra, graph):
    before = entra.stored(INGRID)
    response = graph.patch(
        f"/users/{INGRID}",
        json={
            "@odata.type": "#microsoft.graph.user",
            "jobTitle": "Head of Payroll",
            "mobilePhone": None,
            "businessPhones": ["+47 22 00 00 00"],
            "employeeHireDate": "2020-02-01",
        },
    )
    assert (response.status_code, response.content) == (204, b"")
    after = entra.stored(INGRID)
    assert after["jobTitle"] == "Head of Payroll"
    assert after["mobilePhone"] is None
    assert after["businessPhones"] == ["+47 22 00 00 00"]
    assert after["employeeHireDate"] == "2020-02-01T00:00:00Z"
    unchanged = {k for k in before if k not in ("jobTitle", "mobilePhone", "businessPhones")}
    assert {k: after[k] for k in unchanged - {"employeeHireDate"}} == {
        k: before[k] for k in unchanged - {"employeeHireDate"}
    }


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        pytest.param(
            {"id": "x"},
            "Request_BadRequest",
            "Property 'id' is read-only and cannot be set.",
            id="id",
        ),
        pytest.param(
            {"onPremisesSyncEnabled": True},
            "Request_BadRequest",
            "Property 'onPremisesSyncEnabled' is read-only and cannot be set.",
            id="sync-flag",
        ),
        pytest.param(
            {"createdDateTime": "2020-01-01T00:00:00Z"},
            "Request_BadRequest",
            "Property 'createdDateTime' is read-only and cannot be set.",
            id="created",
        ),
        pytest.param(
            {"shoeSize": "42"},
            "BadRequest",
            "The property 'shoeSize' does not exist on type 'microsoft.graph.user'. Make sure to "
            "only use property names that are defined by the type or mark the type as open type.",
            id="unknown",
        ),
        pytest.param(
            {"employeeId": "E" * 17},
            "Request_BadRequest",
            "Invalid value specified for property 'employeeId' of resource 'User'.",
            id="employee-id-17",
        ),
        pytest.param(
            {"givenName": "G" * 65},
            "Request_BadRequest",
            "Invalid value specified for property 'givenName' of resource 'User'.",
            id="given-name-65",
        ),
        pytest.param(
            {"mail": None},
            "Request_BadRequest",
            "Invalid value specified for property 'mail' of resource 'User'.",
            id="mail-null",
        ),
        pytest.param(
            {"displayName": ""},
            "Request_BadRequest",
            "Invalid value specified for property 'displayName' of resource 'User'.",
            id="display-name-cleared",
        ),
        pytest.param(
            {"businessPhones": ["1", "2"]},
            "Request_BadRequest",
            "Invalid value specified for property 'businessPhones' of resource 'User'.",
            id="two-phones",
        ),
        pytest.param(
            {"businessPhones": None},
            "BadRequest",
            "A null value was found for the property named 'businessPhones', which has the "
            "expected type 'Collection(Edm.String)[Nullable=False]'. The expected type "
            "'Collection(Edm.String)[Nullable=False]' does not allow null values.",
            id="null-collection",
        ),
        pytest.param(
            {"accountEnabled": "yes"},
            "BadRequest",
            "Cannot convert the literal 'yes' to the expected type 'Edm.Boolean'.",
            id="bool-type",
        ),
        pytest.param(
            {"employeeHireDate": "soon"},
            "BadRequest",
            "Cannot convert the literal 'soon' to the expected type 'Edm.DateTimeOffset'.",
            id="date-type",
        ),
    ],
)
def test_patch_refusals(entra, graph, graph_error, body, code, message):
    before = entra.stored(INGRID)
    graph_error(graph.patch(f"/users/{INGRID}", json=body), 400, code, message)
    assert entra.stored(INGRID) == before


def test_patch_invalid_json(graph, graph_error):
    response = graph.patch(
        f"/users/{INGRID}", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    graph_error(
        response,
        400,
        "BadRequest",
        "Unable to read JSON request payload. Please ensure Content-Type header is set and "
        "payload is of valid JSON format.",
    )


def test_patch_is_whole_or_nothing(entra, graph):
    response = graph.patch(f"/users/{INGRID}", json={"jobTitle": "Boss", "employeeId": "X" * 20})
    assert response.status_code == 400
    assert entra.stored(INGRID)["jobTitle"] == "Payroll Specialist"


def test_patch_unknown_user(graph, graph_error):
    response = graph.patch("/users/ghost@fjordline.no", json={"jobTitle": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "Request_ResourceNotFound"


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        pytest.param({"mobilePhone": "+47 1"}, True, id="mobile"),
        pytest.param({"employeeHireDate": "2020-01-01T00:00:00Z"}, True, id="hire-date"),
        pytest.param({"givenName": "Kari"}, True, id="given-name"),
        pytest.param({"usageLocation": "SE"}, False, id="usage-location-is-cloud"),
    ],
)
def test_synced_user_refuses_on_premises_properties(graph, graph_error, body, refused):
    response = graph.patch("/users/ola.nordmann@fjordline.no", json=body)
    if refused:
        graph_error(
            response,
            400,
            "Request_BadRequest",
            "Unable to update the specified properties for on-premises mastered Directory Sync "
            "objects or objects currently undergoing migration.",
        )
    else:
        assert response.status_code == 204


def test_user_made_synced_by_control_route(entra, graph):
    entra.admin.call(
        "PATCH", f"/tenants/{entra.tenant_id}/users/{INGRID}", {"onPremisesSyncEnabled": True}
    )
    assert graph.patch(f"/users/{INGRID}", json={"jobTitle": "x"}).status_code == 400
    selected = graph.get(f"/users/{INGRID}", params={"$select": "onPremisesSyncEnabled"}).json()
    assert selected["onPremisesSyncEnabled"] is True


def test_app_only_hire_date_refusal_is_a_setting(entra, graph, graph_error):
    body = {"employeeHireDate": "2021-05-01T00:00:00Z"}
    assert graph.patch(f"/users/{INGRID}", json=body).status_code == 204
    entra.admin.update_settings({"deny_app_only_hire_date_writes": True})
    graph_error(
        graph.patch(f"/users/{INGRID}", json=body),
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )


def test_create_user(entra, graph):
    response = graph.post("/users", json=_new_user())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#users/$entity")
    assert body["userPrincipalName"] == "nina.nybakk@fjordline.no"
    assert "passwordProfile" not in body
    assert "Location" in response.headers
    stored = entra.stored(body["id"])
    assert stored["accountEnabled"] is True
    assert stored["userType"] == "Member"
    assert "passwordProfile" not in stored
    again = graph.get(f"/users/{body['id']}", params={"$select": "passwordProfile"}).json()
    assert again["passwordProfile"] is None
    logged = entra.admin.requests(method="POST", path_prefix="/v1.0/users")[-1]
    assert logged["body"]["passwordProfile"]["password"] == "<redacted>"


@pytest.mark.parametrize(
    ("overrides", "message", "details"),
    [
        pytest.param(
            {"userPrincipalName": "nina@gmail.com"},
            "The domain portion of the userPrincipalName property is invalid. You must use one "
            "of the verified domain names in your organization.",
            None,
            id="foreign-domain",
        ),
        pytest.param(
            {"userPrincipalName": "nina@fjordline.com"},
            "The domain portion of the userPrincipalName property is invalid. You must use one "
            "of the verified domain names in your organization.",
            None,
            id="unverified-domain",
        ),
        pytest.param(
            {"userPrincipalName": "INGRID.haugen@fjordline.no"},
            "Another object with the same value for property userPrincipalName already exists.",
            [{"target": "userPrincipalName", "code": "ObjectConflict"}],
            id="duplicate-upn",
        ),
        pytest.param(
            {"mail": "ingrid.haugen@fjordline.no"},
            "Another object with the same value for property proxyAddresses already exists.",
            [{"target": "proxyAddresses", "code": "ObjectConflict"}],
            id="duplicate-mail",
        ),
        pytest.param(
            {"passwordProfile": {"password": "password"}},
            "The specified password does not comply with password complexity requirements. "
            "Please provide a different password.",
            None,
            id="weak-password",
        ),
        pytest.param(
            {"mailNickname": ...},
            "Property value is required but is empty or missing.",
            None,
            id="missing-nickname",
        ),
        pytest.param(
            {"passwordProfile": ...},
            "Property value is required but is empty or missing.",
            None,
            id="missing-password",
        ),
    ],
)
def test_create_refusals(entra, graph, graph_error, overrides, message, details):
    error = graph_error(
        graph.post("/users", json=_new_user(**overrides)), 400, "Request_BadRequest", message
    )
    assert error.get("details") == details
    assert graph.get("/users/nina.nybakk@fjordline.no").status_code == 404


def test_patch_upn_to_a_taken_one_conflicts(graph):
    response = graph.patch(
        f"/users/{INGRID}", json={"userPrincipalName": "per.hansen@fjordline.no"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"target": "userPrincipalName", "code": "ObjectConflict"}
    ]


def test_changed_upn_finds_the_user(graph):
    assert (
        graph.patch(f"/users/{INGRID}", json={"userPrincipalName": "ih@fjordline.no"}).status_code
        == 204
    )
    assert graph.get("/users/ih@fjordline.no").status_code == 200
    assert graph.get(f"/users/{INGRID}").status_code == 404


def test_delete_by_api_and_by_control_route(entra, graph):
    assert graph.delete("/users/per.hansen@fjordline.no").status_code == 204
    assert graph.get("/users/per.hansen@fjordline.no").status_code == 404
    entra.admin.call("DELETE", f"/tenants/{entra.tenant_id}/users/pia.hansen@fjordline.no")
    assert graph.get("/users/pia.hansen@fjordline.no").status_code == 404
    body = graph.get("/users", params={"$filter": "surname eq 'Hansen'"}).json()
    assert body["value"] == []
