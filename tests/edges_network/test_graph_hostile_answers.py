"""A hostile Entra authority or Graph gets a clear error, never our token (SPEC §12).

Pins, through `GraphClient` against a hostile HTTPS server on loopback: an access token that
cannot be a bearer token (the authority's answer would inject a header) stops the request before
anything is sent, and neither the error nor a log record quotes it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from resources.errors import UntrustedAnswer
from resources.graph_client import GraphClient
from resources.retrying import RetryPolicy
from tests.edges_network.hostile_server import HostileServer, answer

TOKEN = "eyJ0eXAiOiJKV1QifQ.e30.c2ln"


class Tokens:
    """A token source handing out one token (what MSAL returned from the authority)."""

    def __init__(self, token: str) -> None:
        self.value = token

    def token(self) -> str:
        return self.value

    def forget(self, token: str) -> None:
        pass


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(f"{TOKEN}\r\nX-Injected: yes", id="header-injection"),
        pytest.param(f"{TOKEN}\n", id="line-feed"),
        pytest.param(f"{TOKEN} x", id="space"),
    ],
)
def test_a_token_that_cannot_be_a_bearer_token_is_not_sent_nor_quoted(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    token: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    with HostileServer(tmp_path / "tls", lambda _: answer(200, b'{"value": []}')) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_bundle))
        with (
            GraphClient(
                tokens=Tokens(token),
                base_url=f"{server.url}/v1.0",
                retry=RetryPolicy(max_attempts=2),
            ) as client,
            pytest.raises(UntrustedAnswer, match="not a bearer token") as raised,
        ):
            client.get_user("ada@example.com", ["id"])

    assert server.seen == []
    texts = [str(raised.value), *(record.getMessage() for record in caplog.records)]
    assert not [text for text in texts if TOKEN in text]
