"""`GET /users` and `GET /users/{id | upn}` answer as Graph v1.0 does.

Pins: paging through opaque, tamper-evident `@odata.nextLink`s serves every user exactly once;
the default property set versus `$select`; `$top` bounds with Graph's exact message; `$filter`
with OData quoting, `in`, `startsWith`, booleans, Graph's limits and advanced-query rules;
`$count` and `ConsistencyLevel`; 501 for properties a collection cannot return; 404s.
"""

from __future__ import annotations

import urllib.parse

import pytest

from emulators.graph.schema import DEFAULT_SELECT

PRODUCT_SELECT = (
    "id,userPrincipalName,mail,givenName,surname,mobilePhone,streetAddress,postalCode,city,"
    "country,employeeId,employeeHireDate,jobTitle,accountEnabled,userType,onPremisesSyncEnabled"
)
TOTAL_USERS = 252


def _all_pages(graph, url, params=None, headers=None):
    pages = []
    response = graph.get(url, params=params, headers=headers)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        if "@odata.nextLink" not in body:
            return pages
        response = graph.get(body["@odata.nextLink"], headers=headers)


def test_paging_serves_every_user_once(graph):
    pages = _all_pages(graph, "/users", {"$top": "37", "$select": "id,mail"})
    ids = [u["id"] for page in pages for u in page["value"]]
    assert len(ids) == len(set(ids)) == TOTAL_USERS
    assert [len(p["value"]) for p in pages[:-1]] == [37] * (len(pages) - 1)
    link = pages[0]["@odata.nextLink"]
    assert link.startswith(str(graph.base_url).rstrip("/") + "/users?")
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["$skiptoken"][0]
    assert "@" not in token  # opaque: no user data in clear
    assert all(set(u) == {"id", "mail"} for p in pages for u in p["value"])


def test_default_page_size_is_100(graph):
    body = graph.get("/users").json()
    assert len(body["value"]) == 100
    assert body["@odata.context"].endswith("/v1.0/$metadata#users")


def test_users_created_during_paging_do_not_disturb_others(graph):
    first = graph.get("/users", params={"$top": "100", "$select": "id"}).json()
    created = graph.post(
        "/users",
        json={
            "accountEnabled": True,
            "displayName": "New Person",
            "mailNickname": "new.person",
            "userPrincipalName": "new.person@fjordline.no",
            "passwordProfile": {"password": "Xy7!secret-pass"},
        },
    )
    assert created.status_code == 201
    rest = _all_pages(graph, first["@odata.nextLink"])
    ids = [u["id"] for u in first["value"]] + [u["id"] for p in rest for u in p["value"]]
    assert len(ids) == len(set(ids))
    assert len(ids) in (TOTAL_USERS, TOTAL_USERS + 1)


@pytest.mark.parametrize(
    "mutation",
    [
        pytest.param(lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1], id="edited"),
        pytest.param(lambda t: "garbage", id="garbage"),
        pytest.param(lambda t: t[:10], id="truncated"),
    ],
)
def test_tampered_skiptoken_is_refused(graph, graph_error, mutation):
    link = graph.get("/users", params={"$top": "5"}).json()["@odata.nextLink"]
    parts = urllib.parse.urlsplit(link)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query["$skiptoken"] = mutation(query["$skiptoken"])
    response = graph.get(f"{parts.path.removeprefix('/v1.0')}", params=query)
    graph_error(response, 400, "Request_BadRequest", "Invalid Skip Token")


def test_skiptoken_of_another_tenant_is_refused(entra, graph, graph_error):
    link = graph.get("/users", params={"$top": "5"}).json()["@odata.nextLink"]
    with entra.graph(app="other-app", tenant="other") as other:
        graph_error(other.get(link), 400, "Request_BadRequest", "Invalid Skip Token")


def test_default_properties_versus_select(graph):
    default = graph.get("/users/ingrid.haugen@fjordline.no").json()
    assert [k for k in default if not k.startswith("@")] == list(DEFAULT_SELECT)
    assert "employeeId" not in default
    selected = graph.get(
        "/users/ingrid.haugen@fjordline.no", params={"$select": PRODUCT_SELECT}
    ).json()
    assert [k for k in selected if not k.startswith("@")] == PRODUCT_SELECT.split(",")
    assert selected["employeeHireDate"] == "2019-03-01T00:00:00Z"
    assert selected["accountEnabled"] is True
    assert selected["@odata.context"].endswith(f"$metadata#users({PRODUCT_SELECT})/$entity")


def test_select_is_case_insensitive_and_returns_canonical_names(graph):
    body = graph.get("/users", params={"$select": "ID,DisplayName", "$top": "1"}).json()
    assert set(body["value"][0]) == {"id", "displayName"}


def test_unknown_select_property(graph, graph_error):
    response = graph.get("/users", params={"$select": "id,favouriteColour"})
    graph_error(
        response,
        400,
        "BadRequest",
        "Parsing OData Select and Expand failed: Could not find a property named "
        "'favouriteColour' on type 'microsoft.graph.user'.",
    )


def test_collection_unsupported_property_is_501(graph, graph_error):
    response = graph.get("/users", params={"$select": "id,hireDate"})
    graph_error(response, 501, "NotImplemented", "This operation target is not yet supported.")
    single = graph.get("/users/ingrid.haugen@fjordline.no", params={"$select": "id,hireDate"})
    assert single.status_code == 200
    assert single.json()["hireDate"] is None


@pytest.mark.parametrize(
    ("top", "count"),
    [pytest.param("1", 1, id="one"), pytest.param("999", TOTAL_USERS, id="max")],
)
def test_top_bounds(graph, top, count):
    assert len(graph.get("/users", params={"$top": top}).json()["value"]) == count


@pytest.mark.parametrize("top", ["1000", "0", "-1", "many"])
def test_top_out_of_bounds(graph, graph_error, top):
    graph_error(
        graph.get("/users", params={"$top": top}),
        400,
        "Request_BadRequest",
        f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.",
    )


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        pytest.param("mail eq 'siobhan.obrien@fjordline.no'", ["Siobhan O'Brien"], id="mail"),
        pytest.param(
            "userPrincipalName eq 'INGRID.HAUGEN@FJORDLINE.NO'", ["Ingrid Haugen"], id="upn-case"
        ),
        pytest.param("displayName eq 'Siobhan O''Brien'", ["Siobhan O'Brien"], id="quote"),
        pytest.param("employeeId eq 'E20002'", ["Pia Hansen"], id="employee-id"),
        pytest.param(
            "userPrincipalName in ('per.hansen@fjordline.no', 'pia.hansen@fjordline.no')",
            ["Per Hansen", "Pia Hansen"],
            id="in",
        ),
        pytest.param("startsWith(displayName,'Pi')", ["Pia Hansen"], id="startswith"),
        pytest.param("accountEnabled eq false", ["Kari Disabled"], id="boolean"),
        pytest.param("userType eq 'Guest'", ["Gjest Gjestesen"], id="guest"),
        pytest.param("surname eq 'Hansen' and employeeId eq 'E20001'", ["Per Hansen"], id="and"),
        pytest.param("employeeHireDate ge 2019-01-01T00:00:00Z", ["Ingrid Haugen"], id="date"),
        pytest.param("mail eq 'nobody@fjordline.no'", [], id="none"),
    ],
)
def test_filter(graph, filter_, expected):
    body = graph.get("/users", params={"$filter": filter_, "$select": "displayName"}).json()
    assert sorted(u["displayName"] for u in body["value"]) == expected


def test_filter_pages_follow_the_filter(graph):
    pages = _all_pages(
        graph, "/users", {"$filter": "startsWith(displayName,'Numbered')", "$top": "50"}
    )
    names = [u["displayName"] for p in pages for u in p["value"]]
    assert len(names) == 240
    assert all(n.startswith("Numbered") for n in names)


@pytest.mark.parametrize(
    ("filter_", "status", "code", "message"),
    [
        pytest.param(
            "mail ne 'x@fjordline.no'",
            400,
            "Request_UnsupportedQuery",
            "Operator 'ne' is not supported because the required parameters might be missing. "
            "Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer "
            "to https://aka.ms/graph-docs/advanced-queries for more information",
            id="ne-needs-advanced",
        ),
        pytest.param(
            "businessPhones eq '1'",
            400,
            "Request_UnsupportedQuery",
            "Unsupported or invalid query filter clause specified for property 'businessPhones' "
            "of resource 'User'.",
            id="unfilterable",
        ),
        pytest.param(
            "shoeSize eq '42'",
            400,
            "BadRequest",
            "Invalid filter clause: Could not find a property named 'shoeSize' on type "
            "'microsoft.graph.user'.",
            id="unknown",
        ),
        pytest.param(
            "accountEnabled eq 'true'",
            400,
            "BadRequest",
            "Invalid filter clause: A binary operator with incompatible types was detected. "
            "Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'.",
            id="types",
        ),
        pytest.param(
            "mail in (" + ",".join(f"'u{i}@fjordline.no'" for i in range(16)) + ")",
            400,
            "Request_UnsupportedQuery",
            "Too many child clauses specified in search filter expression containing 'OR' "
            "operators: 16. Max allowed: 15.",
            id="too-many",
        ),
    ],
)
def test_filter_errors(graph, graph_error, filter_, status, code, message):
    graph_error(graph.get("/users", params={"$filter": filter_}), status, code, message)


def test_filter_syntax_error(graph):
    response = graph.get("/users", params={"$filter": "mail eq 'unterminated"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Invalid filter clause:")


def test_advanced_query_with_eventual_and_count(graph):
    headers = {"ConsistencyLevel": "eventual"}
    params = {"$filter": "userType ne 'Member'", "$count": "true", "$select": "displayName"}
    body = graph.get("/users", params=params, headers=headers).json()
    assert body["@odata.count"] == 1
    assert [u["displayName"] for u in body["value"]] == ["Gjest Gjestesen"]


def test_count_rules(graph, graph_error):
    silent = graph.get("/users", params={"$count": "true", "$top": "5"}).json()
    assert "@odata.count" not in silent
    counted = _all_pages(
        graph, "/users", {"$count": "true", "$top": "100"}, headers={"ConsistencyLevel": "eventual"}
    )
    assert counted[0]["@odata.count"] == TOTAL_USERS
    assert all("@odata.count" not in page for page in counted[1:])
    graph_error(
        graph.get("/users/$count"), 400, "Request_BadRequest", "$count is not currently supported."
    )
    segment = graph.get("/users/$count", headers={"ConsistencyLevel": "eventual"})
    assert (segment.status_code, segment.text) == (200, str(TOTAL_USERS))
    assert segment.headers["content-type"].startswith("text/plain")


def test_skip_is_not_supported(graph, graph_error):
    graph_error(
        graph.get("/users", params={"$skip": "10"}),
        400,
        "Request_BadRequest",
        "'$skip' is not supported by the service.",
    )


@pytest.mark.parametrize("key", ["no.body@fjordline.no", "00000000-0000-0000-0000-000000000000"])
def test_unknown_user_is_404(graph, graph_error, key):
    graph_error(
        graph.get(f"/users/{key}"),
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects are "
        "not present.",
    )


def test_get_by_id_and_by_upn(entra, graph):
    by_upn = graph.get("/users/Ingrid.Haugen@fjordline.no").json()
    by_id = graph.get(f"/users/{by_upn['id']}").json()
    assert by_id == by_upn
    assert by_id["id"] == entra.uid("Ingrid Haugen")


def test_tenants_are_separate(entra):
    with entra.graph(app="other-app", tenant="other") as other:
        body = other.get("/users").json()
        assert [u["userPrincipalName"] for u in body["value"]] == ["other.person@other.no"]
        assert other.get("/users/ingrid.haugen@fjordline.no").status_code == 404


def test_client_request_id_is_echoed(graph):
    response = graph.get("/users", params={"$top": "1"}, headers={"client-request-id": "abc-1"})
    assert response.headers["client-request-id"] == "abc-1"
    assert response.headers["request-id"]


def test_unknown_segment(graph, graph_error):
    graph_error(
        graph.get("/groups"), 400, "BadRequest", "Resource not found for the segment 'groups'."
    )
