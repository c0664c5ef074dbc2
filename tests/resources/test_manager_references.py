"""The manager on the wire: read as an expanded reference, written as a `$ref`, settled by reading.

Pins: Huma's supervisor is read as the supervisor's id (an empty wrapper is none, an absent one
unknown, any other shape unreadable and listed); Graph's expanded `manager` is read as its object
id (absent or null is none, another shape unreadable); a connection with the manager on lists users
with `$expand=manager($select=id)` in pages of 100, without the advanced query Graph refuses with
`$expand`, bounded by `GET /users/$count`; `get_user` gives the manager as an id; a PATCH carrying
the manager becomes a `PUT …/manager/$ref` naming the connection's own Graph origin (or a
`DELETE` without a body to clear it) beside the PATCH of the rest; a lost `$batch` answer is
settled by re-reading the manager, so a reference is never sent twice.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx
import orjson
import pytest

from resources.errors import UntrustedAnswer
from resources.graph_batch import BatchExecutor, GraphWrite, split_references
from resources.graph_client import (
    EXPAND_PAGE_SIZE,
    USER_SELECT,
    GraphClient,
    user_expand,
    user_select,
)
from resources.graph_snapshot import read_entra_users
from resources.huma_snapshot import read_huma_users
from tests.resources.test_graph_batch_edges import FakeTokens

_ID = "7b0c8f0e-0000-4000-8000-000000000001"
_BOSS = "7b0c8f0e-0000-4000-8000-0000000000b0"
_USER = "0f000000-0000-4000-8000-000000000001"
_MANAGER = "0f000000-0000-4000-8000-0000000000aa"
_BASE = "https://graph.test/v1.0"


def _huma(**supervisor: Any) -> dict[str, Any]:
    payload = {
        "id": _ID,
        "givenName": {"value": "Ingrid", "editable": True},
        "familyName": {"value": "Haugen", "editable": True},
        "email": {"value": "ingrid.haugen@fjordline.no", "editable": True},
        "status": {"active": True},
    }
    return payload | supervisor


@pytest.mark.parametrize(
    ("payload", "manager", "unknown", "unreadable"),
    [
        pytest.param(_huma(supervisor={"value": {"id": _BOSS}}), _BOSS, [], 0, id="supervisor"),
        pytest.param(_huma(supervisor={"editable": True}), None, [], 0, id="none"),
        pytest.param(_huma(), None, ["manager"], 0, id="not-returned"),
        pytest.param(_huma(supervisor={"value": {"id": "x/.."}}), None, ["manager"], 1, id="id"),
        pytest.param(_huma(supervisor={"value": [_BOSS]}), None, ["manager"], 1, id="list"),
    ],
)
def test_huma_s_supervisor_is_read_as_an_id(
    payload: dict, manager: str | None, unknown: list, unreadable: int
) -> None:
    read = read_huma_users([(_ID, payload)], ["manager"])

    row = read.users.row(0, named=True)
    assert (row["manager"], "manager" in row["unknown_fields"]) == (manager, bool(unknown))
    assert read.unreadable.height == unreadable
    if unreadable:
        assert read.unreadable.row(0, named=True)["field"] == "manager"
    assert "manager" not in read_huma_users([(_ID, payload)]).users.columns


def _entra(**manager: Any) -> dict[str, Any]:
    user = dict.fromkeys(user_select(["manager"])) | {"id": _USER, "mail": "a@fjordline.no"}
    return user | manager


@pytest.mark.parametrize(
    ("user", "manager", "unknown"),
    [
        pytest.param(_entra(manager={"@odata.type": "#m.user", "id": _MANAGER}), _MANAGER, []),
        pytest.param(_entra(), None, [], id="absent-is-none"),
        pytest.param(_entra(manager=None), None, [], id="null-is-none"),
        pytest.param(_entra(manager={"id": 7}), None, ["manager"], id="not-an-id"),
        pytest.param(_entra(manager=_MANAGER), None, ["manager"], id="not-an-object"),
    ],
)
def test_graph_s_expanded_manager_is_read_as_an_object_id(
    user: dict, manager: str | None, unknown: list
) -> None:
    row = read_entra_users([user], ["manager"]).users.row(0, named=True)

    assert (row["manager"], row["unknown_fields"]) == (manager, unknown)


def test_the_manager_is_expanded_never_selected() -> None:
    assert user_select(["manager"]) == USER_SELECT
    assert user_expand(["manager"]) == "manager($select=id)"
    assert user_expand() is None


class _Directory:
    """A fake Graph tenant of `users` users, each the manager of the next, paging by `$top`."""

    def __init__(self, users: int, count: int | None = None) -> None:
        ids = [f"0f000000-0000-4000-8000-{i:012d}" for i in range(users)]
        self.users = {
            uid: {"id": uid, "manager": ids[i - 1] if i else None} for i, uid in enumerate(ids)
        }
        self.count = users if count is None else count
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path, params = request.url.path.removeprefix("/v1.0"), dict(request.url.params)
        if path == "/users/$count":
            return httpx.Response(200, text=str(self.count))
        if path == "/users":
            return self._page(params)
        user = self.users.get(path.rsplit("/", 1)[-1])
        if user is None:
            return httpx.Response(404, json={"error": {"code": "Request_ResourceNotFound"}})
        body = {"id": user["id"]}
        if "$expand" in params and user["manager"]:
            body["manager"] = {"@odata.type": "#microsoft.graph.user", "id": user["manager"]}
        return httpx.Response(200, json=body)

    def _page(self, params: dict[str, str]) -> httpx.Response:
        ids = sorted(self.users)
        start = int(params.get("$skiptoken", 0))
        top = min(int(params["$top"]), EXPAND_PAGE_SIZE if "$expand" in params else 999)
        body: dict[str, Any] = {"value": [{"id": i} for i in ids[start : start + top]]}
        if start + top < len(ids):
            query = urllib.parse.urlencode({**params, "$skiptoken": start + top})
            body["@odata.nextLink"] = f"{_BASE}/users?{query}"
        return httpx.Response(200, json=body)


def _client(directory: _Directory) -> GraphClient:
    return GraphClient(
        tokens=FakeTokens(), base_url=_BASE, transport=httpx.MockTransport(directory.handler)
    )


def test_users_with_managers_are_listed_in_pages_of_100_bounded_by_the_count() -> None:
    directory = _Directory(250)

    pages = list(_client(directory).user_pages(USER_SELECT, expand="manager($select=id)"))

    assert [len(page.users) for page in pages] == [100, 100, 50]
    count, first = directory.requests[:2]
    assert (count.url.path, count.headers["ConsistencyLevel"]) == ("/v1.0/users/$count", "eventual")
    assert first.url.params["$top"] == "100"
    assert first.url.params["$expand"] == "manager($select=id)"
    assert "$count" not in first.url.params
    assert "ConsistencyLevel" not in first.headers


def test_pages_beyond_what_the_count_allows_stop_the_read() -> None:
    directory = _Directory(2500, count=100)  # the count says one page; the tenant goes on

    with pytest.raises(UntrustedAnswer, match="more than the first page announced"):
        list(_client(directory).user_pages(USER_SELECT, expand="manager($select=id)"))


def test_get_user_gives_the_manager_as_an_object_id() -> None:
    directory = _Directory(3)
    client = _client(directory)
    second, first = sorted(directory.users)[1], sorted(directory.users)[0]

    assert client.get_user(second, ("manager",)) == {"id": second, "manager": first}
    assert client.get_user(first, ("manager",)) == {"id": first, "manager": None}
    [_, read] = directory.requests
    assert read.url.params["$select"] == "id"
    assert read.url.params["$expand"] == "manager($select=id)"


def test_a_patch_with_a_manager_becomes_a_ref_write_on_the_connection_s_own_origin() -> None:
    url = f"/users/{_USER}"
    both = GraphWrite("c1", "PATCH", url, {"jobTitle": "Lead", "manager": _MANAGER})
    cleared = GraphWrite("c2", "PATCH", url, {"manager": None})
    plain = GraphWrite("c3", "PATCH", url, {"jobTitle": "Lead"})

    assert split_references(both, _BASE) == [
        GraphWrite("c1", "PATCH", url, {"jobTitle": "Lead"}),
        GraphWrite(
            "c1#manager",
            "PUT",
            f"{url}/manager/$ref",
            {"@odata.id": f"{_BASE}/users/{_MANAGER}"},
            holds={"manager": _MANAGER},
        ),
    ]
    assert split_references(cleared, _BASE) == [
        GraphWrite("c2", "DELETE", f"{url}/manager/$ref", None, holds={"manager": None})
    ]
    assert split_references(plain, _BASE) == [plain]
    with pytest.raises(ValueError, match="not a GUID"):
        split_references(GraphWrite("c4", "PATCH", url, {"manager": "../me"}), _BASE)


class _References:
    """A fake Graph taking `$ref` writes in `$batch`es, whose answer it may lose."""

    def __init__(self) -> None:
        self.managers: dict[str, str | None] = {_USER: None}
        self.items: list[dict[str, Any]] = []
        self.lose: str | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            user = request.url.path.rsplit("/", 1)[-1]
            manager = self.managers[user]
            body = {"id": user} | ({"manager": {"id": manager}} if manager else {})
            return httpx.Response(200, json=body)
        items = orjson.loads(request.content)["requests"]
        self.items += items
        lose, self.lose = self.lose, None
        if lose == "before":
            raise httpx.RemoteProtocolError("peer closed connection")
        for item in items:
            user = item["url"].split("/")[2]
            body = item.get("body")
            self.managers[user] = body["@odata.id"].rsplit("/", 1)[-1] if body else None
        if lose == "after":
            raise httpx.RemoteProtocolError("peer closed connection")
        return httpx.Response(
            200, json={"responses": [{"id": i["id"], "status": 204} for i in items]}
        )


@pytest.mark.parametrize(
    ("lose", "sent"),
    [
        pytest.param(None, 1, id="answered"),
        pytest.param("after", 1, id="applied-then-lost"),
        pytest.param("before", 2, id="lost-before-applying"),
    ],
)
def test_a_reference_is_sent_once_and_a_lost_answer_settled_by_reading(
    lose: str | None, sent: int
) -> None:
    graph = _References()
    graph.lose = lose
    client = GraphClient(
        tokens=FakeTokens(), base_url=_BASE, transport=httpx.MockTransport(graph.handler)
    )
    [put] = split_references(
        GraphWrite("c1", "PATCH", f"/users/{_USER}", {"manager": _MANAGER}), _BASE
    )

    [outcome] = BatchExecutor(client).run([put])

    assert outcome.ok
    assert outcome.verified == (lose == "after")
    assert graph.managers[_USER] == _MANAGER
    assert len(graph.items) == sent
    assert "headers" in graph.items[0]

    [delete] = split_references(
        GraphWrite("c2", "PATCH", f"/users/{_USER}", {"manager": None}), _BASE
    )
    [cleared] = BatchExecutor(client).run([delete])

    assert cleared.ok
    assert graph.managers[_USER] is None
    assert "body" not in graph.items[-1]
    assert "headers" not in graph.items[-1]
