"""A `$batch` item's error that quotes a credential back is not quoted on.

Graph answers each item of a `$batch` with its own status and body. A broken or hostile Graph may
quote back what the request carried: the bearer token (in the batch's own header) or the first
password of a user being created (in the item's body). Pins: neither reaches the outcome's
message, which goes on to the history, the report and the logs; `[redacted]` stands in its place,
and Graph's own words around it are kept; a whole `$batch` refused with an error quoting the
request's body leaves the password out of the error too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from resources.errors import REDACTED
from resources.graph_batch import BatchExecutor, GraphWrite
from resources.graph_client import GraphClient
from resources.graph_pacing import GraphPacer

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.tok-7f3a"
PASSWORD = "Pw!first-sign-in-9c2e"


class _Tokens:
    def token(self) -> str:
        return TOKEN

    def forget(self, token: str) -> None:
        pass


def _echoing_graph(request: httpx.Request) -> httpx.Response:
    """Refuses every item, quoting back the request's token and the item's body."""
    if request.method == "GET":
        return httpx.Response(404, json={})
    token = request.headers["authorization"].partition(" ")[2]
    answers: list[dict[str, Any]] = []
    for item in orjson.loads(request.content)["requests"]:
        quoted = f"bad request {orjson.dumps(item.get('body')).decode()} with token {token}"
        error = {"code": "Request_BadRequest", "message": quoted, "innerError": {"t": token}}
        answers.append({"id": item["id"], "status": 400, "body": {"error": error}})
    return httpx.Response(200, json={"responses": answers})


def _executor(handler: Callable[[httpx.Request], httpx.Response]) -> BatchExecutor:
    client = GraphClient(
        tokens=_Tokens(),
        base_url="https://graph.test/v1.0",
        pacer=GraphPacer(clock=lambda: 0.0, sleep=lambda _: None),
        transport=httpx.MockTransport(handler),
        sleep=lambda _: None,
    )
    return BatchExecutor(client)


@pytest.fixture
def executor() -> BatchExecutor:
    return _executor(_echoing_graph)


def test_an_item_error_quoting_the_token_or_a_password_is_redacted(executor) -> None:
    create = GraphWrite(
        "create-1",
        "POST",
        "/users",
        {
            "userPrincipalName": "ada@example.no",
            "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": True},
        },
    )
    patch = GraphWrite("patch-1", "PATCH", "/users/u1", {"jobTitle": "Engineer"})

    outcomes = executor.run([create, patch])

    for outcome in outcomes:
        assert not outcome.ok
        assert outcome.code == "Request_BadRequest"
        assert TOKEN not in repr(outcome)
        assert PASSWORD not in repr(outcome)
        assert REDACTED in (outcome.message or "")
        assert "bad request" in (outcome.message or "")


def test_a_batch_refused_whole_quoting_a_password_is_redacted() -> None:
    def refusing(request: httpx.Request) -> httpx.Response:
        quoted = f"malformed batch: {request.content.decode()}"
        return httpx.Response(400, json={"error": {"code": "BadRequest", "message": quoted}})

    create = GraphWrite("create-1", "POST", "/users", {"passwordProfile": {"password": PASSWORD}})

    with pytest.raises(Exception, match="malformed batch") as raised:
        _executor(refusing).run([create])

    assert PASSWORD not in str(raised.value)
