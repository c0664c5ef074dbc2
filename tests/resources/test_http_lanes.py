"""The Huma reads' lanes keep the rules of every other client.

Pins: TLS is verified against `SSL_CERT_FILE` (a server the bundle does not vouch for is refused
before anything is sent); a refused connection is the `httpx.ConnectError` retries know; a read
answered with a redirect stops with `UntrustedAnswer` and nothing is sent to its target; the
Huma client's reads send the bearer token and, after a 401, one fresh one.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from resources.errors import UntrustedAnswer
from resources.http import InsecureUrl
from resources.http_lanes import Lanes
from resources.huma_client import HumaClient
from tests.resources.conftest import Outside

HUMA = "https://huma.test"


def test_a_server_the_trusted_bundle_does_not_vouch_for_is_refused(
    outside: Outside, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    lanes = Lanes(base_url=outside.emulators.huma_url, timeout_seconds=5)

    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        lanes.get("/users")
    lanes.close()
    assert outside.huma.requests(path_prefix="/users") == []


def test_a_trusted_server_answers_through_a_lane(outside: Outside) -> None:
    with_lanes = Lanes(base_url=outside.emulators.huma_url, timeout_seconds=5)

    first = with_lanes.get("/users?limit=1")
    second = with_lanes.get("/users?limit=2")
    made = with_lanes.lanes
    with_lanes.close()

    assert (first.status_code, second.status_code) == (401, 401)  # Huma, wanting a token
    assert made == 1  # one request at a time: one keep-alive connection
    assert [e["query"] for e in outside.huma.requests(path_prefix="/users")] == [
        "limit=1",
        "limit=2",
    ]


def test_a_refused_connection_is_httpxs_connect_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lanes = Lanes(base_url=f"https://127.0.0.1:{port}", timeout_seconds=5)

    with pytest.raises(httpx.ConnectError):
        lanes.get("/users")


def test_lanes_refuse_a_base_url_that_is_not_https() -> None:
    with pytest.raises(InsecureUrl):
        Lanes(base_url="http://huma.test", timeout_seconds=5)


def test_a_redirected_read_stops_and_sends_nothing_there() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(302, headers={"Location": "https://elsewhere.test/users"})

    client = HumaClient(
        base_url=HUMA,
        client_id="id",
        client_secret="secret",
        transport=httpx.MockTransport(answer),
    )

    with client, pytest.raises(UntrustedAnswer, match="redirect"):
        client.get_user("0b7a8c1e-1111-4222-8333-444455556666")
    assert {r.url.host for r in sent} == {"huma.test"}


def test_a_401_fetches_one_fresh_token_and_resends_once() -> None:
    tokens = iter(["old", "new"])
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(200, json={"access_token": next(tokens), "expires_in": 3600})
        seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") == "Bearer old":
            return httpx.Response(401, json={"error": "invalid_token"})
        return httpx.Response(200, json={"id": "0b7a8c1e-1111-4222-8333-444455556666"})

    with HumaClient(
        base_url=HUMA, client_id="id", client_secret="s", transport=httpx.MockTransport(answer)
    ) as client:
        user = client.get_user("0b7a8c1e-1111-4222-8333-444455556666")

    assert user == {"id": "0b7a8c1e-1111-4222-8333-444455556666"}
    assert seen == ["Bearer old", "Bearer new"]
