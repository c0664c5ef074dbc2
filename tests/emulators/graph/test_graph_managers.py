"""A user's manager and the optional profile properties, as Graph v1.0 serves them.

Pins: `PUT /users/{id}/manager/$ref` (204) sets the manager, read back through
`GET /users/{id}/manager`, `.../manager/$ref` and `$expand=manager($select=id)` on one user and
on the list; a user without a manager has no `manager` in expanded answers and a 404
`Request_ResourceNotFound` from `/manager`; `DELETE .../manager/$ref` removes it (404 when
there is none); unknown managers are 404, malformed bodies, oneself and on-premises synced users
400, a read-only app 403; with `$expand` a list page holds at most 100 users whatever `$top`
says, and the nextLink keeps the expansion; `$expand` is refused in an advanced query (`$count`
with `ConsistencyLevel: eventual`); `$expand` costs one RU more; reference writes are writes for
the budget and work inside `$batch` (a `DELETE` without a body, `$ref` percent-encoded or not);
`displayName`, `department` and `officeLocation` are patched and selected with Graph's length
limits.
"""

from __future__ import annotations

import pytest

GRAPH = "https://graph.microsoft.com/v1.0"
ANNE, BJORN, CATO = "anne.berg@fjordline.no", "bjorn.dahl@fjordline.no", "cato.eik@fjordline.no"
NO_MANAGER = (
    "Resource 'manager' does not exist or one of its queried reference-property objects are not "
    "present."
)


def _ref(entra, name: str) -> dict[str, str]:
    return {"@odata.id": f"{GRAPH}/users/{entra.uid(name)}"}


def test_a_manager_is_set_and_read_back(entra, graph):
    response = graph.put(f"/users/{ANNE}/manager/$ref", json=_ref(entra, "Bjorn Dahl"))

    assert (response.status_code, response.content) == (204, b"")
    manager = graph.get(f"/users/{ANNE}/manager").json()
    assert manager["@odata.type"] == "#microsoft.graph.user"
    assert (manager["id"], manager["displayName"]) == (entra.uid("Bjorn Dahl"), "Bjorn Dahl")
    reference = graph.get(f"/users/{entra.uid('Anne Berg')}/manager/$ref").json()
    assert reference["@odata.id"].endswith(
        f"/directoryObjects/{entra.uid('Bjorn Dahl')}/Microsoft.DirectoryServices.User"
    )
    one = graph.get(f"/users/{ANNE}", params={"$select": "id", "$expand": "manager($select=id)"})
    assert one.json()["manager"] == {
        "@odata.type": "#microsoft.graph.user",
        "id": entra.uid("Bjorn Dahl"),
    }
    assert entra.stored(ANNE)["manager"] == entra.uid("Bjorn Dahl")


def test_a_manager_is_replaced_and_removed(entra, graph, graph_error):
    graph.put(f"/users/{ANNE}/manager/$ref", json=_ref(entra, "Bjorn Dahl"))
    graph.put(f"/users/{ANNE}/manager/$ref", json=_ref(entra, "Cato Eik"))
    assert graph.get(f"/users/{ANNE}/manager").json()["id"] == entra.uid("Cato Eik")

    removed = graph.delete(f"/users/{ANNE}/manager/$ref")

    assert (removed.status_code, removed.content) == (204, b"")
    graph_error(graph.get(f"/users/{ANNE}/manager"), 404, "Request_ResourceNotFound", NO_MANAGER)
    graph_error(
        graph.delete(f"/users/{ANNE}/manager/$ref"), 404, "Request_ResourceNotFound", NO_MANAGER
    )
    expanded = graph.get(f"/users/{ANNE}", params={"$expand": "manager"}).json()
    assert "manager" not in expanded


def test_a_deleted_manager_leaves_no_manager(entra, graph, graph_error):
    graph.put(f"/users/{ANNE}/manager/$ref", json=_ref(entra, "Bjorn Dahl"))

    assert graph.delete(f"/users/{BJORN}").status_code == 204

    graph_error(graph.get(f"/users/{ANNE}/manager"), 404, "Request_ResourceNotFound", NO_MANAGER)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param({"@odata.id": f"{GRAPH}/users/{'0' * 8}-0000-4000-8000-{'0' * 12}"}, 404,
                     "Request_ResourceNotFound", id="unknown-manager"),
        pytest.param({}, 400, "BadRequest", id="no-odata-id"),
        pytest.param({"@odata.id": 42}, 400, "BadRequest", id="odata-id-not-text"),
        pytest.param({"@odata.id": f"{GRAPH}/groups"}, 400, "Request_BadRequest",
                     id="not-a-user-url"),
    ],
)  # fmt: skip
def test_bad_references_are_refused(entra, graph, body, status, code):
    response = graph.put(f"/users/{ANNE}/manager/$ref", json=body)

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert "manager" not in entra.stored(ANNE) or entra.stored(ANNE)["manager"] is None


def test_oneself_synced_users_and_readers_cannot_set_a_manager(entra, graph):
    own = graph.put(f"/users/{ANNE}/manager/$ref", json=_ref(entra, "Anne Berg"))
    synced = graph.put(
        "/users/ola.nordmann@fjordline.no/manager/$ref", json=_ref(entra, "Cato Eik")
    )
    with entra.graph("reader-app") as reader:
        denied = reader.put(f"/users/{ANNE}/manager/$ref", json=_ref(entra, "Cato Eik"))
        unknown_user = reader.get("/users/ghost@fjordline.no/manager")

    assert (own.status_code, own.json()["error"]["code"]) == (400, "Request_BadRequest")
    assert synced.status_code == 400
    assert "on-premises mastered" in synced.json()["error"]["message"]
    assert (denied.status_code, denied.json()["error"]["code"]) == (
        403,
        "Authorization_RequestDenied",
    )
    assert unknown_user.status_code == 404


def test_the_list_expands_managers_in_pages_of_at_most_100(entra, graph):
    entra.admin.call(
        "PATCH",
        f"/tenants/{entra.uid('fjordline')}/users/{ANNE}",
        {"manager": entra.uid("Bjorn Dahl")},
    )
    params = {"$select": "id,displayName", "$expand": "manager($select=id)", "$top": "999"}

    first = graph.get("/users", params=params)
    pages = [first.json()]
    while "@odata.nextLink" in pages[-1]:
        pages.append(graph.get(pages[-1]["@odata.nextLink"]).json())

    assert first.status_code == 200
    assert all(len(page["value"]) <= 100 for page in pages)
    assert len(pages[0]["value"]) == 100
    users = [u for page in pages for u in page["value"]]
    assert (
        len({u["id"] for u in users})
        == len(users)
        == len(entra.admin.state()["tenants"][0]["users"])
    )
    managed = {u["id"]: u["manager"] for u in users if "manager" in u}
    assert managed == {
        entra.uid("Anne Berg"): {
            "@odata.type": "#microsoft.graph.user",
            "id": entra.uid("Bjorn Dahl"),
        }
    }
    assert all(set(u) - {"manager"} == {"id", "displayName"} for u in users)


def test_without_expand_the_page_size_is_top(graph):
    page = graph.get("/users", params={"$select": "id", "$top": "999"}).json()

    assert len(page["value"]) > 100
    assert all("manager" not in u for u in page["value"])


@pytest.mark.parametrize(
    ("expand", "code", "message"),
    [
        ("manager,memberOf", "BadRequest",
         "The result of parsing $expand contained at least 2 items, but the maximum allowed is 1."),
        ("memberOf", "BadRequest",
         "Parsing OData Select and Expand failed: Could not find a property named 'memberOf' on "
         "type 'microsoft.graph.user'."),
        ("manager($levels=max;$select=id)", "Request_UnsupportedQuery",
         "Transitive manager's list is only supported on a single user, send the $expand request "
         "on /users/{id} endpoint"),
    ],
)  # fmt: skip
def test_unsupported_expansions_are_refused(graph, graph_error, expand, code, message):
    graph_error(graph.get("/users", params={"$expand": expand}), 400, code, message)


def test_expand_costs_one_more_resource_unit(graph):
    plain = graph.get("/users", params={"$select": "id"})
    expanded = graph.get("/users", params={"$select": "id", "$expand": "manager($select=id)"})

    assert (
        int(expanded.headers["x-ms-resource-unit"]) == int(plain.headers["x-ms-resource-unit"]) + 1
    )


def test_reference_writes_spend_the_write_budget(entra, graph):
    entra.admin.update_settings({"time_frozen": True, "throttling": {"writes_per_150s": 2}})

    statuses = [
        graph.put(f"/users/{ANNE}/manager/$ref", json=_ref(entra, "Bjorn Dahl")).status_code,
        graph.delete(f"/users/{ANNE}/manager/$ref").status_code,
        graph.put(f"/users/{ANNE}/manager/$ref", json=_ref(entra, "Cato Eik")).status_code,
    ]

    assert statuses == [204, 204, 429]


def test_references_work_inside_batch(entra, graph):
    json_header = {"Content-Type": "application/json"}
    requests = [
        {"id": "set", "method": "PUT", "url": f"/users/{ANNE}/manager/$ref",
         "headers": json_header, "body": _ref(entra, "Cato Eik")},
        {"id": "unknown", "method": "PUT", "url": f"/users/{BJORN}/manager/$ref",
         "headers": json_header, "body": {"@odata.id": f"{GRAPH}/users/ghost@fjordline.no"}},
        {"id": "read", "method": "GET", "dependsOn": ["set"],
         "url": f"/users/{ANNE}?$select=id&$expand=manager($select=id)"},
    ]  # fmt: skip

    answers = {
        a["id"]: a for a in graph.post("/$batch", json={"requests": requests}).json()["responses"]
    }

    assert answers["set"]["status"] == 204
    assert answers["unknown"]["status"] == 404
    assert answers["unknown"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert answers["read"]["body"]["manager"]["id"] == entra.uid("Cato Eik")


@pytest.mark.parametrize(
    ("name", "limit"), [("displayName", 256), ("department", 64), ("officeLocation", 128)]
)
def test_profile_properties_are_patched_within_graph_limits(entra, graph, graph_error, name, limit):
    ok = graph.patch(f"/users/{ANNE}", json={name: "x" * limit})
    too_long = graph.patch(f"/users/{ANNE}", json={name: "y" * (limit + 1)})

    assert ok.status_code == 204
    graph_error(
        too_long,
        400,
        "Request_BadRequest",
        f"Invalid value specified for property '{name}' of resource 'User'.",
    )
    selected = graph.get(f"/users/{ANNE}", params={"$select": name}).json()
    assert selected[name] == "x" * limit
    listed = graph.get("/users", params={"$select": f"id,{name}", "$filter": f"mail eq '{ANNE}'"})
    assert listed.json()["value"][0][name] == "x" * limit


def test_department_and_office_clear_with_null(graph):
    graph.patch(f"/users/{ANNE}", json={"department": "Finance", "officeLocation": "Oslo"})

    graph.patch(f"/users/{ANNE}", json={"department": None, "officeLocation": ""})

    user = graph.get(f"/users/{ANNE}", params={"$select": "department,officeLocation"}).json()
    assert (user["department"], user["officeLocation"]) == (None, None)


def test_a_reference_is_removed_inside_batch_without_a_body(entra, graph):
    assert graph.put(f"/users/{ANNE}/manager/$ref", json=_ref(entra, "Cato Eik")).status_code == 204
    requests = [
        {"id": "remove", "method": "DELETE", "url": f"/users/{ANNE}/manager/%24ref"},
        {"id": "again", "method": "DELETE", "dependsOn": ["remove"],
         "url": f"/users/{ANNE}/manager/$ref"},
    ]  # fmt: skip

    answers = {
        a["id"]: a for a in graph.post("/$batch", json={"requests": requests}).json()["responses"]
    }

    assert answers["remove"]["status"] == 204
    assert answers["again"]["status"] == 404
    assert answers["again"]["body"]["error"]["message"] == NO_MANAGER
    assert "manager" not in graph.get(f"/users/{ANNE}", params={"$expand": "manager"}).json()


def test_expand_is_refused_in_an_advanced_query(graph, graph_error):
    params = {"$select": "id", "$expand": "manager($select=id)", "$count": "true"}

    advanced = graph.get("/users", params=params, headers={"ConsistencyLevel": "eventual"})

    message = (
        "$expand is not supported with advanced query parameters ($count=true with "
        "ConsistencyLevel: eventual)."
    )
    graph_error(advanced, 400, "Request_UnsupportedQuery", message)
    assert graph.get("/users", params=params).status_code == 200  # $count alone is ignored
