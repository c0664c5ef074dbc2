"""A hostile Entra authority or Graph gets a clear error, never our token (SPEC §12).

Pins, through `GraphClient` against a hostile HTTPS server on loopback: an access token that
cannot be a bearer token (the authority's answer would inject a header) stops the request before
anything is sent, and neither the error nor a log record quotes it; a gzip answer is read whole,
but a decompression bomb is not inflated past `MAX_ANSWER_BYTES`, an answer in a coding not asked
for or announcing more than the limit is not read, gzip that does not inflate says so (each an
`UntrustedAnswer` naming the request); a body trickled more slowly than the timeout allows (a
slow-loris) ends as a timeout instead of being waited for; an error answer quoting the token
back makes an error that does not.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from resources.answer_limits import MAX_ANSWER_BYTES
from resources.errors import RemoteError, RemoteUnavailable, UntrustedAnswer
from resources.graph_client import GraphClient
from resources.retrying import RetryPolicy
from tests.resources.scripted_tls_server import Reply, answer_and_close, scripted_in, trickle

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
    with scripted_in(tmp_path / "tls", lambda _: answer_and_close(200, b'{"value": []}')) as server:
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


GOOD = Tokens(TOKEN)
JSON = "Content-Type: application/json"


def _get_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer_: Reply, timeout_seconds: float = 1.0
) -> Any:
    with scripted_in(tmp_path / "tls", lambda _: answer_) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_bundle))
        with GraphClient(
            tokens=GOOD,
            base_url=f"{server.url}/v1.0",
            timeout_seconds=timeout_seconds,
            retry=RetryPolicy(max_attempts=2, base_delay=0.01),
        ) as client:
            return client.get_user("ada@example.com", ["id"])


def test_a_gzip_answer_is_read_whole_within_the_limit(tmp_path, monkeypatch) -> None:
    body = gzip.compress(b'{"id": "ada"}')

    answered = answer_and_close(200, body, JSON, "Content-Encoding: gzip")

    assert _get_user(tmp_path, monkeypatch, answered) == {"id": "ada"}


def test_a_decompression_bomb_is_not_inflated_past_the_limit(tmp_path, monkeypatch) -> None:
    bomb = gzip.compress(b'{"id": "' + b"a" * (MAX_ANSWER_BYTES + 1) + b'"}', compresslevel=9)
    answered = answer_and_close(200, bomb, JSON, "Content-Encoding: gzip")

    with pytest.raises(UntrustedAnswer, match=rf"GET /v1.0/users/.*more than {MAX_ANSWER_BYTES}"):
        _get_user(tmp_path, monkeypatch, answered, timeout_seconds=60)  # not a slow-loris


@pytest.mark.parametrize("coding", ["br", "deflate", "zstd", "gzip, gzip"])
def test_an_answer_in_a_coding_not_asked_for_is_not_read(tmp_path, monkeypatch, coding) -> None:
    answered = answer_and_close(200, b"\x00" * 64, JSON, f"Content-Encoding: {coding}")

    with pytest.raises(UntrustedAnswer, match=r"GET /v1.0/users/.*not asked for"):
        _get_user(tmp_path, monkeypatch, answered)


def test_a_gzip_answer_that_does_not_inflate_says_so(tmp_path, monkeypatch) -> None:
    answered = answer_and_close(200, b"not gzip at all", JSON, "Content-Encoding: gzip")

    with pytest.raises(UntrustedAnswer, match=r"GET /v1.0/users/.*does not inflate"):
        _get_user(tmp_path, monkeypatch, answered)


def test_an_answer_announcing_more_than_the_limit_is_not_read(tmp_path, monkeypatch) -> None:
    announced = answer_and_close(200, b"", JSON, f"Content-Length: {2**40}", length=False)

    with pytest.raises(UntrustedAnswer, match=rf"GET /v1.0/users/.*{2**40}"):
        _get_user(tmp_path, monkeypatch, announced.followed_by(b"{" + b" " * 65536))


def test_a_body_trickled_slower_than_the_timeout_is_a_timeout(tmp_path, monkeypatch) -> None:
    # Each byte comes well within the 1 s timeout; the whole body would take 20 s.
    body = b'{"id": "ada"}' + b" " * 27
    head = answer_and_close(200, b"", JSON, f"Content-Length: {len(body)}", length=False)

    with pytest.raises(RemoteUnavailable, match=r"GET /users/.*ReadTimeout"):
        _get_user(tmp_path, monkeypatch, head.followed_by(*trickle(body, every=0.5)))


@pytest.mark.parametrize("status", [400, 403])
def test_an_error_quoting_the_token_back_is_not_quoted_on(tmp_path, monkeypatch, status) -> None:
    message = {"error": {"code": "Bad", "message": f"we got Bearer {TOKEN}"}}
    answered = answer_and_close(status, json.dumps(message).encode(), JSON)

    with pytest.raises(RemoteError, match="we got") as raised:
        _get_user(tmp_path, monkeypatch, answered)

    assert TOKEN not in str(raised.value)
