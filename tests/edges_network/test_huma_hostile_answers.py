"""A hostile Huma gets a clear error, never our memory, our time or our token (SPEC §12).

Pins, through `HumaClient` against a hostile HTTPS server on loopback (real TLS, framing and
decoding, whatever wire code the client uses): a compressed answer that was not asked for (a
decompression bomb), an answer larger than `MAX_ANSWER_BYTES` (announced or streamed) and a list
page of the wrong shape each stop the scan with an `UntrustedAnswer` naming the request; a body
trickled more slowly than the timeout allows (a slow-loris) ends as a timeout instead of being
waited for; an access token that cannot be a bearer token (one that would inject a header) or a
token answer that is not one stops before any API request, and the token is quoted by no
exception and no log record; an error answer that quotes the client secret or the bearer token
back (to a read or a write) makes an error that does not; a reason phrase that quotes them back
reaches no log record, at any level (httpx logs the reason phrase at INFO, httpcore the status
line at DEBUG).
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulators.tls import ensure_certificates
from resources.answer_limits import MAX_ANSWER_BYTES
from resources.errors import RemoteError, RemoteUnavailable, UntrustedAnswer
from resources.huma_client import HumaClient
from resources.retrying import RetryPolicy
from tests.resources.scripted_tls_server import (
    Reply,
    ScriptedServer,
    Seen,
    answer_and_close,
    trickle,
)

SECRET = "the-client-secret"
TOKEN = "a-good-token"
EMPTY_PAGE = b'{"total": 0, "items": []}'
JSON = "Content-Type: application/json"


def token_answer(access_token: object = TOKEN, expires_in: object = 3600) -> Reply:
    body = json.dumps({"access_token": access_token, "expires_in": expires_in}).encode()
    return answer_and_close(200, body, JSON)


Huma = Callable[..., tuple[HumaClient, ScriptedServer]]


@pytest.fixture
def huma(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Huma]:
    """`huma(users, token)`: a client of a hostile Huma (timeout 1 s unless given); the token
    endpoint answers `token(seen)`, every other request `users(seen)`."""
    opened: list[tuple[HumaClient, ScriptedServer]] = []

    def make(
        users: Callable[[Seen], Reply],
        token: Callable[[Seen], Reply] = lambda _: token_answer(),
        timeout_seconds: float = 1.0,
    ) -> tuple[HumaClient, ScriptedServer]:
        def script(seen: Seen) -> Reply:
            return token(seen) if seen.target.startswith("/auth/") else users(seen)

        server = ScriptedServer(script, ensure_certificates(tmp_path / "tls"))
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_bundle))
        client = HumaClient(
            base_url=server.url,
            client_id="the-client",
            client_secret=SECRET,
            timeout_seconds=timeout_seconds,
            retry=RetryPolicy(max_attempts=2, base_delay=0.01),
        )
        opened.append((client, server))
        return client, server

    yield make
    for client, server in opened:
        client.close()
        server.close()


def api_requests(server: ScriptedServer) -> list[Seen]:
    return [seen for seen in server.seen if not seen.target.startswith("/auth/")]


def test_a_decompression_bomb_is_not_opened(huma: Huma) -> None:
    inflated = EMPTY_PAGE[:-1] + b" " * (MAX_ANSWER_BYTES + 1) + b"}"
    bomb = gzip.compress(inflated, compresslevel=9)
    client, _ = huma(lambda _: answer_and_close(200, bomb, JSON, "Content-Encoding: gzip"))

    with pytest.raises(UntrustedAnswer, match=r"GET /users.*'gzip' coding"):
        client.scan_users()


def test_an_answer_announcing_more_than_the_limit_is_not_read(huma: Huma) -> None:
    announced = answer_and_close(200, b"", JSON, f"Content-Length: {2**40}", length=False)
    client, _ = huma(lambda _: announced.followed_by(b"{" + b" " * 65536))

    with pytest.raises(UntrustedAnswer, match=rf"GET /users.*{2**40}"):
        client.scan_users()


def test_an_answer_streaming_past_the_limit_is_not_read_further(huma: Huma) -> None:
    chunk = b" " * 1024 * 1024
    endless = answer_and_close(200, b"", JSON, length=False).followed_by(
        b"{", *[chunk] * (MAX_ANSWER_BYTES // len(chunk) + 2)
    )
    client, _ = huma(lambda _: endless, timeout_seconds=60)  # not a slow-loris, however loaded

    with pytest.raises(UntrustedAnswer, match=rf"GET /users.*more than {MAX_ANSWER_BYTES}"):
        client.scan_users()


def test_a_body_trickled_slower_than_the_timeout_is_a_timeout(huma: Huma) -> None:
    # Each byte comes well within the 1 s timeout; the whole body would take 20 s.
    body = EMPTY_PAGE + b" " * 15
    head = answer_and_close(200, b"", JSON, f"Content-Length: {len(body)}", length=False)
    client, _ = huma(lambda _: head.followed_by(*trickle(body, every=0.5)))

    with pytest.raises(RemoteUnavailable, match=r"GET /users.*ReadTimeout"):
        client.scan_users()


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(b"[1, 2]", id="a-list"),
        pytest.param(b'{"items": []}', id="no-total"),
        pytest.param(b'{"total": "many", "items": []}', id="total-not-a-number"),
        pytest.param(b'{"total": 1, "items": {"id": "x"}}', id="items-not-a-list"),
        pytest.param(b'{"total": 1, "items": ["x"]}', id="an-item-not-an-object"),
    ],
)
def test_a_list_page_of_the_wrong_shape_stops_the_scan(huma: Huma, page: bytes) -> None:
    client, _ = huma(lambda _: answer_and_close(200, page, JSON))

    with pytest.raises(UntrustedAnswer, match=r"GET /users at offset 0 is not a page of users"):
        client.scan_users()


#: Tokens that cannot be bearer tokens, by what is wrong with them.
NOT_BEARER_TOKENS = {
    "header-injection": f"{TOKEN}\r\nX-Injected: yes",
    "nul": f"{TOKEN}\x00",
    "space": f"{TOKEN} more",
    "not-ascii": f"{TOKEN}é",
}


@pytest.mark.parametrize("token", list(NOT_BEARER_TOKENS.values()), ids=list(NOT_BEARER_TOKENS))
def test_a_token_that_cannot_be_a_bearer_token_is_not_sent_nor_quoted(
    huma: Huma, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, server = huma(
        lambda _: answer_and_close(200, EMPTY_PAGE, JSON), lambda _: token_answer(token)
    )

    with pytest.raises(RemoteError, match=r"POST /auth/oauth/token.*not a bearer token") as raised:
        client.scan_users()
    with pytest.raises(RemoteError):
        client.update_user("3fa85f64-5717-4562-b3fc-2c963f66afa6", {"givenName": "Ada"})

    assert api_requests(server) == []
    texts = [str(raised.value), *(record.getMessage() for record in caplog.records)]
    assert not [text for text in texts if TOKEN in text or SECRET in text]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param(b"<html>hello</html>", "no access_token", id="not-json"),
        pytest.param(b"[]", "no access_token", id="a-list"),
        pytest.param(b'{"expires_in": 3600}', "no access_token", id="no-token"),
        pytest.param(b'{"access_token": 7, "expires_in": 3600}', "not a bearer", id="a-number"),
        pytest.param(b'{"access_token": "t"}', "expires_in", id="no-lifetime"),
        pytest.param(b'{"access_token": "t", "expires_in": "soon"}', "expires_in", id="words"),
        pytest.param(b'{"access_token": "t", "expires_in": -5}', "expires_in", id="negative"),
        pytest.param(b'{"access_token": "t", "expires_in": NaN}', "expires_in", id="nan"),
    ],
)
def test_a_token_answer_that_is_not_one_says_so(huma: Huma, body: bytes, problem: str) -> None:
    client, server = huma(
        lambda _: answer_and_close(200, EMPTY_PAGE, JSON),
        lambda _: answer_and_close(200, body, JSON),
    )

    with pytest.raises(UntrustedAnswer, match=rf"POST /auth/oauth/token answered .*{problem}"):
        client.scan_users()
    assert api_requests(server) == []


def _quoting(status: int, *credentials: str) -> Reply:
    """An error answer in Huma's envelope that quotes `credentials` back."""
    quoted = " ".join(credentials)
    body = {"errorCode": "bad", "errorMessage": f"we got {quoted}", "fields": [quoted]}
    return answer_and_close(status, json.dumps(body).encode(), JSON)


def test_a_token_endpoint_quoting_the_secret_back_is_not_quoted_on(
    huma: Huma, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = huma(lambda _: answer_and_close(200, EMPTY_PAGE), lambda _: _quoting(401, SECRET))

    with pytest.raises(RemoteError, match="we got") as raised:
        client.scan_users()

    texts = [str(raised.value), *(record.getMessage() for record in caplog.records)]
    assert not [text for text in texts if SECRET in text]


@pytest.mark.parametrize("status", [400, 401, 403])
def test_an_api_error_quoting_the_token_back_is_not_quoted_on(
    huma: Huma, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = huma(lambda seen: _quoting(status, seen.headers["authorization"]))

    with pytest.raises(RemoteError, match="we got") as read:
        client.scan_users()
    with pytest.raises(RemoteError, match="we got") as written:
        client.update_user("3fa85f64-5717-4562-b3fc-2c963f66afa6", {"givenName": "Ada"})

    texts = [str(read.value), str(written.value), *(r.getMessage() for r in caplog.records)]
    assert not [text for text in texts if TOKEN in text]


def _reason_quoting(status: int, quoted: str) -> Reply:
    """An answer whose reason phrase (the status line's words) quotes `quoted` back."""
    head = f"HTTP/1.1 {status} we got {quoted}\r\nContent-Length: 0\r\n\r\n"
    return Reply(head.encode("latin-1"), close=True)


@pytest.mark.parametrize("status", [401, 500])
def test_a_reason_phrase_quoting_a_credential_back_is_in_no_log(
    huma: Huma, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = huma(
        lambda seen: _reason_quoting(status, seen.headers["authorization"]),
        lambda _: Reply((token_answer().data or b"").replace(b"200 X", f"200 {SECRET}".encode())),
    )

    with pytest.raises(RemoteError) as read:
        client.scan_users()
    with pytest.raises(RemoteError) as written:
        client.update_user("3fa85f64-5717-4562-b3fc-2c963f66afa6", {"givenName": "Ada"})

    texts = [str(read.value), str(written.value), *(r.getMessage() for r in caplog.records)]
    assert not [text for text in texts if TOKEN in text or SECRET in text]
