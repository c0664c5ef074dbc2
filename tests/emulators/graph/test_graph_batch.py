"""`POST /v1.0/$batch` behaves as Graph's JSON batching does.

Pins: up to 20 items answered 200 with per-item status, headers and body, in shuffled order and
matched by id; 21 items, duplicate ids, absolute URLs, bodies without Content-Type and malformed
payloads refuse the whole batch with 400; `%24select` and `depends_on` (the SDK's spellings)
work; a failed dependency gives 424; injected faults land in single items; each item is logged
as a child of the batch's log entry; the batch needs a valid token.
"""

from __future__ import annotations

import httpx
import pytest


def _get_item(i, upn):
    return {"id": str(i), "method": "GET", "url": f"/users/{upn}?%24select=id,displayName"}


def _names(entra) -> list[str]:
    return [f"numbered.person{i:03d}@fjordline.no" for i in range(20)]


def test_batch_answers_every_item_shuffled(entra, graph):
    upns = _names(entra)
    response = graph.post(
        "/$batch", json={"requests": [_get_item(i, u) for i, u in enumerate(upns)]}
    )
    assert response.status_code == 200
    answers = response.json()["responses"]
    assert [a["id"] for a in answers] != [str(i) for i in range(20)]
    by_id = {a["id"]: a for a in answers}
    assert sorted(by_id, key=int) == [str(i) for i in range(20)]
    for i in range(len(upns)):
        answer = by_id[str(i)]
        assert answer["status"] == 200
        assert answer["body"]["displayName"] == f"Numbered Person{i:03d}"
        assert set(answer["body"]) == {"@odata.context", "id", "displayName"}
        assert answer["headers"]["x-ms-resource-unit"] == "1"


def test_batch_items_keep_their_own_status(graph):
    requests = [
        {"id": "ok", "method": "GET", "url": "/users/anne.berg@fjordline.no"},
        {"id": "missing", "method": "GET", "url": "/users/ghost@fjordline.no"},
        {
            "id": "patch",
            "method": "PATCH",
            "url": "/users/anne.berg@fjordline.no",
            "headers": {"Content-Type": "application/json"},
            "body": {"jobTitle": "Clerk"},
        },
        {
            "id": "filter",
            "method": "GET",
            "url": "/users?$filter=mail eq 'siobhan.obrien@fjordline.no'&$select=displayName",
        },
    ]
    answers = {
        a["id"]: a for a in graph.post("/$batch", json={"requests": requests}).json()["responses"]
    }
    assert answers["ok"]["status"] == 200
    assert answers["missing"]["status"] == 404
    assert answers["missing"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert answers["patch"]["status"] == 204
    assert "body" not in answers["patch"]
    assert answers["filter"]["body"]["value"] == [{"displayName": "Siobhan O'Brien"}]
    assert graph.get("/users/anne.berg@fjordline.no").json()["jobTitle"] == "Clerk"


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        pytest.param(
            [_get_item(i, "anne.berg@fjordline.no") for i in range(21)],
            "Number of requests exceeds the limit of 20.",
            id="21-requests",
        ),
        pytest.param(
            [_get_item(1, "anne.berg@fjordline.no"), _get_item(1, "cato.eik@fjordline.no")],
            "Batch request contains duplicate request id '1'.",
            id="duplicate-id",
        ),
        pytest.param(
            [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}],
            "Invalid request URL 'https://graph.microsoft.com/v1.0/users': requests in a batch "
            "must use URLs relative to the version segment, such as '/users'.",
            id="absolute-url",
        ),
        pytest.param(
            [{"id": "7", "method": "PATCH", "url": "/users/x", "body": {"jobTitle": "x"}}],
            "Write request id : 7 does not contain Content-Type header or body.",
            id="body-without-content-type",
        ),
        pytest.param("nope", "Invalid batch payload format.", id="malformed"),
    ],
)
def test_batch_refused_whole(entra, graph, graph_error, requests, message):
    before = entra.admin.requests()
    graph_error(graph.post("/$batch", json={"requests": requests}), 400, "BadRequest", message)
    logged = entra.admin.requests(since=before[-1]["seq"] if before else 0)
    assert [e["parent"] for e in logged] == [None]


def test_failed_dependency_gives_424(graph):
    requests = [
        {"id": "1", "method": "GET", "url": "/users/ghost@fjordline.no"},
        {"id": "2", "method": "GET", "url": "/users/anne.berg@fjordline.no", "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": "/users/cato.eik@fjordline.no", "depends_on": ["2"]},
        {"id": "4", "method": "GET", "url": "/users/cato.eik@fjordline.no", "dependsOn": []},
    ]
    answers = {
        a["id"]: a for a in graph.post("/$batch", json={"requests": requests}).json()["responses"]
    }
    assert {k: a["status"] for k, a in answers.items()} == {"1": 404, "2": 424, "3": 424, "4": 200}


def test_injected_faults_hit_single_items(entra, graph):
    entra.admin.update_settings(
        {"faults": {"seed": 3, "throttle_rate": 0.3, "error_rate": 0.3, "error_statuses": [503]}}
    )
    upns = _names(entra)
    answers = graph.post(
        "/$batch", json={"requests": [_get_item(i, u) for i, u in enumerate(upns)]}
    ).json()["responses"]
    statuses = {a["status"] for a in answers}
    assert statuses == {200, 429, 503}
    for answer in answers:
        if answer["status"] == 429:
            assert int(answer["headers"]["Retry-After"]) >= 1
            assert answer["body"]["error"]["code"] == "TooManyRequests"
        if answer["status"] == 503:
            assert answer["body"]["error"]["code"] == "serviceNotAvailable"


def test_items_are_logged_under_the_batch(entra, graph):
    requests = [
        _get_item(1, "anne.berg@fjordline.no"),
        {
            "id": "2",
            "method": "POST",
            "url": "/users",
            "headers": {"Content-Type": "application/json"},
            "body": {
                "accountEnabled": True,
                "displayName": "B",
                "mailNickname": "b",
                "userPrincipalName": "b@fjordline.no",
                "passwordProfile": {"password": "Aa1!aaaa"},
            },
        },
    ]
    graph.post("/$batch", json={"requests": requests})
    log = entra.admin.requests()
    batch = next(e for e in log if e["path"] == "/v1.0/$batch")
    children = [e for e in log if e["parent"] == batch["seq"]]
    assert sorted((e["method"], e["path"], e["status"]) for e in children) == [
        ("GET", "/v1.0/users/anne.berg@fjordline.no", 200),
        ("POST", "/v1.0/users", 201),
    ]
    posted = next(e for e in children if e["method"] == "POST")
    assert posted["body"]["passwordProfile"]["password"] == "<redacted>"


def test_batch_needs_a_token(entra, graph_error):
    with entra.client() as client:
        response = client.post(f"{entra.url}/v1.0/$batch", json={"requests": []})
    graph_error(response, 401, "InvalidAuthenticationToken", "Access token is empty.")


@pytest.mark.parametrize(
    ("phase", "applied"),
    [pytest.param("before", False, id="before"), pytest.param("after", True, id="after")],
)
def test_dropped_batch_connection(entra, graph, phase, applied):
    entra.admin.update_settings({"faults": {"drop_rate": 1.0, "drop_phase": phase}})
    patch = {
        "id": "1",
        "method": "PATCH",
        "url": "/users/anne.berg@fjordline.no",
        "headers": {"Content-Type": "application/json"},
        "body": {"jobTitle": "Dropped"},
    }
    with pytest.raises(httpx.RemoteProtocolError):
        graph.post("/$batch", json={"requests": [patch]})
    assert (entra.stored("anne.berg@fjordline.no")["jobTitle"] == "Dropped") is applied
    batch = next(e for e in entra.admin.requests() if e["path"] == "/v1.0/$batch")
    assert batch["fault"] == f"drop_{phase}"
