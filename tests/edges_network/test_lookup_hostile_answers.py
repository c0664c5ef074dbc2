"""Targeted reads (`lookup_users`, users read through `$batch`) against a broken or hostile Graph.

Pins: an item's error that quotes the bearer token back makes a `LookupFailed` that does not; an
answer to the `$batch` that cannot be read (not JSON, not a list of responses, items that are not
objects, a status that is not a number) ends as a `LookupFailed` saying so (the targeted run then
gives its events back), never as another exception.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson
import pytest

from resources.graph_client import GraphClient
from resources.graph_lookup import LookupFailed, lookup_users
from resources.graph_pacing import GraphPacer
from resources.retrying import RetryPolicy
from tests.edges_network.test_gateway_timeouts import UNREADABLE_BATCH_ANSWERS

TOKEN = "eyJ0eXAiOiJKV1QifQ.lookup-tok-51c2"
ENTRA_ID = "5f0c3a52-6a0e-4c9b-9d77-0a2b0f6d8c11"


class _Tokens:
    def token(self) -> str:
        return TOKEN

    def forget(self, token: str) -> None:
        pass


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> GraphClient:
    clock = [0.0]

    def sleep(seconds: float) -> None:  # waits pass at once, on a clock of their own
        clock[0] += seconds

    return GraphClient(
        tokens=_Tokens(),
        base_url="https://graph.test/v1.0",
        pacer=GraphPacer(clock=lambda: clock[0], sleep=sleep),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=2),
        sleep=sleep,
    )


def test_an_item_error_quoting_the_token_is_redacted() -> None:
    def quoting(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"]
        answers = [
            {"id": item["id"], "status": 400, "body": {"error": {"message": f"got {token}"}}}
            for item in orjson.loads(request.content)["requests"]
        ]
        return httpx.Response(200, json={"responses": answers})

    with pytest.raises(LookupFailed, match="got") as raised:
        lookup_users(_client(quoting), entra_ids=[ENTRA_ID], emails=[])

    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize("answer", UNREADABLE_BATCH_ANSWERS)
def test_an_answer_that_cannot_be_read_is_a_lookup_failure(answer: bytes) -> None:
    client = _client(lambda _: httpx.Response(200, content=answer))

    with pytest.raises(LookupFailed):
        lookup_users(client, entra_ids=[ENTRA_ID], emails=["ada@example.no"])
