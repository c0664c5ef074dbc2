"""Ids from the other side never steer a request (SPEC §12).

Pins: a Huma user listed with an id that is not a UUID (`../auth/oauth/revoke`, `a?x#`) is never
requested, and the snapshot holds it out with a reason while the other users are read as ever;
likewise an Entra user whose object id is not a GUID; every id that goes into a path is
percent-encoded, so `a?x#` or `..` stays one path segment of `/users/…` on the configured host.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import polars as pl
import pytest

from reconcile.frames import ENTRA_USERS_SCHEMA, HUMA_USERS_SCHEMA
from reconcile.validation import validate_snapshots
from resources.graph import GraphResource
from resources.graph_client import GraphClient
from resources.graph_pacing import GraphPacer
from resources.huma_client import HumaClient
from resources.huma_snapshot import read_huma_users
from tests.resources.conftest import Outside, graph_credentials

HOSTILE_IDS = ("../auth/oauth/revoke", "a?x#", "..", "me")


def _held_out(failures, side: str) -> list[str | None]:
    """The user ids (as the reader knew them) held out because of their id's shape."""
    shape = failures["message"].str.contains("is not a (UUID|GUID)")
    return failures.filter((failures["side"] == side) & shape)["user_id"].to_list()


def _details(user_id: str) -> dict[str, Any]:
    """A `UserDetails` as Huma sends it (the wrapped fields the reader maps)."""
    wrapped = {"editable": True}
    return {
        "id": user_id,
        "email": {**wrapped, "value": f"{user_id[:8]}@x.test"},
        "givenName": {**wrapped, "value": "Ada"},
        "familyName": {**wrapped, "value": "Berg"},
        "phone": wrapped,
        "employmentId": wrapped,
        "homeAddress": wrapped,
        "firstContractStartDate": wrapped,
        "currentPositions": [],
        "status": {"active": True},
    }


def test_a_huma_id_that_is_not_a_uuid_is_never_requested() -> None:
    # Huma's emulator refuses ids that are not UUIDs, as Huma does: a fake Huma lists them.
    good = [str(uuid.uuid4()) for _ in range(3)]
    listed = [*good, *HOSTILE_IDS]
    items = [
        {"id": i, "email": f"{n}@x.test", "givenName": "Eve", "familyName": "Hostile"}
        for n, i in enumerate(listed)
    ]
    sent: list[httpx.Request] = []

    def huma(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        path = request.url.path
        if path == "/auth/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        if path == "/users":
            return httpx.Response(200, json={"total": len(items), "items": items})
        user_id = path.removeprefix("/users/")
        if user_id in good:
            return httpx.Response(200, json=_details(user_id))
        return httpx.Response(404, json={"errorCode": "object:not-found"})

    with HumaClient(
        base_url="https://huma.test",
        client_id="id",
        client_secret="secret",
        transport=httpx.MockTransport(huma),
    ) as client:
        scan = client.scan_users()

    assert sorted(r.url.path for r in sent) == sorted(
        ["/auth/oauth/token", "/users", *(f"/users/{i}" for i in good)]
    )
    assert scan.complete
    read = read_huma_users(scan.details.items())
    valid, _, failures = validate_snapshots(
        read.users, pl.DataFrame(schema=ENTRA_USERS_SCHEMA), read.unreadable
    )
    assert set(_held_out(failures, "huma")) == set(HOSTILE_IDS)
    assert set(valid["huma_id"]) == set(good)


def test_an_entra_id_that_is_not_a_guid_is_held_out(outside: Outside) -> None:
    state = copy.deepcopy(outside.world.entra)
    users = state["tenants"][0]["users"]
    members = [u for u in users if u.get("userType") == "Member"]
    members[0]["id"] = "a?x#"
    members[1]["id"] = "../users"
    outside.entra.load_state(state)
    resource = GraphResource(**graph_credentials(outside))

    try:
        snapshot = resource.snapshot()
    finally:
        resource.close()

    in_scope = snapshot.users.filter(snapshot.users["user_type"] == "Member")
    _, valid, failures = validate_snapshots(
        pl.DataFrame(schema=HUMA_USERS_SCHEMA), in_scope, snapshot.unreadable
    )
    assert len(_held_out(failures, "entra")) == 2
    assert valid.height == in_scope.height - 2


class Recorder:
    def __init__(self, answer: dict[str, Any] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, json=self.answer)


class _Tokens:
    def token(self) -> str:
        return "token"

    def forget(self, token: str) -> None:
        pass


@pytest.mark.parametrize(
    ("user_id", "raw_path"),
    [
        pytest.param("a?x#", b"/users/a%3Fx%23", id="query-and-fragment"),
        pytest.param("../auth/oauth/revoke", b"/users/..%2Fauth%2Foauth%2Frevoke", id="climb"),
        pytest.param("..", b"/users/%2E%2E", id="dot-dot"),
    ],
)
def test_huma_paths_carry_an_id_as_one_encoded_segment(user_id: str, raw_path: bytes) -> None:
    huma = Recorder({"id": str(uuid.uuid4())})
    with HumaClient(
        base_url="https://huma.test",
        client_id="id",
        client_secret="secret",
        transport=httpx.MockTransport(huma.handler),
    ) as client:
        client.get_user(user_id)
        client.update_user(user_id, {"phone": "+47 400 00 000"})

    sent = [r for r in huma.requests if r.url.path != "/auth/oauth/token"]
    assert [(r.method, r.url.raw_path, r.url.host) for r in sent] == [
        ("GET", raw_path, "huma.test"),
        ("PATCH", raw_path, "huma.test"),
    ]


def test_graph_paths_carry_an_id_as_one_encoded_segment() -> None:
    graph = Recorder({"id": str(uuid.uuid4())})
    with GraphClient(
        tokens=_Tokens(),
        base_url="https://graph.test/v1.0",
        pacer=GraphPacer(clock=lambda: 0.0, sleep=lambda _: None),
        transport=httpx.MockTransport(graph.handler),
    ) as client:
        client.get_user("a?x#", ("id",))

    [sent] = graph.requests
    assert sent.url.raw_path.startswith(b"/v1.0/users/a%3Fx%23?")
    assert dict(sent.url.params) == {"$select": "id"}
