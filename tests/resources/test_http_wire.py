"""The Huma reads' wire keeps every rule of the other clients, at its edges too.

Pins, against a TLS server that answers byte for byte as each test scripts: a server whose
certificate our CA bundle does not vouch for, or whose certificate names another host, is refused
before a request is sent; a redirect stops the read with `UntrustedAnswer` and nothing is sent
to its target; chunked and read-to-close bodies are read whole; a kept-alive connection the
server closed between two reads (or as the read went out) is replaced and the GET sent once
more; a body cut short is an error, never a partial payload; a server that does not answer in
time is a `ReadTimeout`, which the Huma client's retries then overcome; headers and targets that
would break their line are refused before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulators.tls import TlsFiles, ensure_certificates
from resources.errors import UntrustedAnswer
from resources.http_lanes import Lanes
from resources.http_wire import MAX_HEAD_BYTES
from resources.huma_client import HumaClient
from resources.retrying import RetryPolicy
from tests.resources.scripted_tls_server import Reply, Seen, answer, scripted

USER_ID = "0b7a8c1e-1111-4222-8333-444455556666"
OK = answer(200, b'{"id": "x"}', "Content-Type: application/json")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return ensure_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted(tls: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> TlsFiles:
    """`SSL_CERT_FILE` names the bundle that vouches for the scripted server."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_bundle))
    return tls


@pytest.fixture
def lanes_of() -> Iterator[list[Lanes]]:
    made: list[Lanes] = []
    yield made
    for lanes in made:
        lanes.close()


def new_lanes(made: list[Lanes], url: str, timeout: float = 5.0) -> Lanes:
    made.append(Lanes(base_url=url, timeout_seconds=timeout))
    return made[-1]


@pytest.mark.parametrize(
    ("only_another_ca", "host"),
    [
        pytest.param(True, "127.0.0.1", id="another-ca"),
        # The certificate names localhost and 127.0.0.1; 127.0.0.2 is loopback too, not named.
        pytest.param(False, "127.0.0.2", id="another-host"),
    ],
)
def test_a_server_not_vouched_for_is_refused_before_the_request(
    only_another_ca: bool,
    host: str,
    trusted: TlsFiles,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lanes_of: list[Lanes],
) -> None:
    if only_another_ca:
        other_ca = ensure_certificates(tmp_path / "other")
        monkeypatch.setenv("SSL_CERT_FILE", str(other_ca.ca_cert))  # that CA alone
    with scripted(lambda _: OK, trusted, host=host) as server:
        lanes = new_lanes(lanes_of, server.url)

        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            lanes.get("/users")

    assert server.requests == []


def test_a_redirect_over_the_wire_stops_the_read_and_nothing_follows(
    trusted: TlsFiles, lanes_of: list[Lanes]
) -> None:
    moved = answer(302, b"", "Location: https://elsewhere.test/users")
    with scripted(lambda _: moved, trusted) as server:
        lanes = new_lanes(lanes_of, server.url)

        with pytest.raises(UntrustedAnswer, match="redirect"):
            lanes.get("/users")

    assert len(server.requests) == 1


def test_the_request_carries_the_origin_path_and_headers(
    trusted: TlsFiles, lanes_of: list[Lanes]
) -> None:
    with scripted(lambda _: OK, trusted) as server:
        lanes = new_lanes(lanes_of, server.url + "/api")
        lanes.get("/users?limit=1", [(b"Authorization", b"Bearer t")])

    head = server.requests[0][1].split(b"\r\n")
    assert head[0] == b"GET /api/users?limit=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in head
    assert b"Authorization: Bearer t" in head


def test_a_chunked_answer_is_read_whole_and_the_connection_kept(
    trusted: TlsFiles, lanes_of: list[Lanes]
) -> None:
    chunked = Reply(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        b'5;ext=1\r\n{"id"\r\n'
        b'7\r\n: "x"}\n\r\n'
        b"0\r\nTrailer-Name: value\r\n\r\n"
    )
    with scripted(lambda _: chunked, trusted) as server:
        lanes = new_lanes(lanes_of, server.url)
        first = lanes.get("/users/1")
        second = lanes.get("/users/2")

    assert first.content == second.content == b'{"id": "x"}\n'
    assert first.json() == {"id": "x"}
    assert [connection for connection, _ in server.requests] == [0, 0]


def test_an_answer_framed_by_the_close_is_read_to_the_end(
    trusted: TlsFiles, lanes_of: list[Lanes]
) -> None:
    unframed = Reply(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 200_000, close=True)
    with scripted(lambda _: unframed, trusted) as server:
        lanes = new_lanes(lanes_of, server.url)
        first = lanes.get("/users/1")
        second = lanes.get("/users/2")

    assert first.content == second.content == b"x" * 200_000
    assert [connection for connection, _ in server.requests] == [0, 1]


def test_connection_close_is_honoured_with_a_new_connection_for_the_next_read(
    trusted: TlsFiles, lanes_of: list[Lanes]
) -> None:
    closing = answer(200, b"{}", "Connection: close", close=True)
    with scripted(lambda _: closing, trusted) as server:
        lanes = new_lanes(lanes_of, server.url)
        lanes.get("/users/1")
        lanes.get("/users/2")

    assert [connection for connection, _ in server.requests] == [0, 1]


def test_a_kept_alive_connection_the_server_closed_is_replaced(
    trusted: TlsFiles, lanes_of: list[Lanes]
) -> None:
    # The server answers as if it keeps the connection, then closes it anyway.
    with scripted(lambda _: Reply(OK.data, close=True), trusted) as server:
        lanes = new_lanes(lanes_of, server.url)
        lanes.get("/users/1")
        second = lanes.get("/users/2")

    assert second.status_code == 200
    assert [connection for connection, _ in server.requests] == [0, 1]


def test_a_read_the_server_drops_unanswered_on_a_kept_alive_connection_is_sent_again(
    trusted: TlsFiles, lanes_of: list[Lanes]
) -> None:
    # The server takes the second request and closes without a byte (it was closing the idle
    # connection as the request came): the GET goes again on a new connection.
    def script(seen: Seen) -> Reply:
        return Reply(None, close=True) if (seen.connection, seen.request) == (0, 1) else OK

    with scripted(script, trusted) as server:
        lanes = new_lanes(lanes_of, server.url)
        lanes.get("/users/1")
        second = lanes.get("/users/2")

    assert second.json() == {"id": "x"}
    assert [(c, h.split(b" ")[1]) for c, h in server.requests] == [
        (0, b"/users/1"),
        (0, b"/users/2"),
        (1, b"/users/2"),
    ]


def test_a_new_connection_dropped_without_an_answer_is_an_error_not_a_loop(
    trusted: TlsFiles, lanes_of: list[Lanes]
) -> None:
    with scripted(lambda _: Reply(None, close=True), trusted) as server:
        lanes = new_lanes(lanes_of, server.url)

        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            lanes.get("/users/1")

    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "wrong",
    [
        # Cut short: the connection closes before the answer is whole.
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"{" * 50, id="length"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" + b"{" * 50,
            id="chunked",
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", id="chunk-size"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Le", id="headers"),
        # Not HTTP/1.1 as it is framed.
        pytest.param(b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", id="status"),
        pytest.param(b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", id="status-digits"),
        pytest.param(b"SPDY/3 200 OK\r\nContent-Length: 0\r\n\r\n", id="version"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", id="bad-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", id="header"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", id="encoding"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nX: " + b"y" * MAX_HEAD_BYTES + b"\r\n\r\n", id="head-too-large"
        ),
    ],
)
def test_an_answer_cut_short_or_not_http_is_an_error_never_a_partial_payload(
    wrong: bytes, trusted: TlsFiles, lanes_of: list[Lanes]
) -> None:
    with scripted(lambda _: Reply(wrong, close=True), trusted) as server:
        lanes = new_lanes(lanes_of, server.url)

        with pytest.raises(httpx.RemoteProtocolError):
            lanes.get("/users/1")


def test_a_server_slower_than_the_timeout_is_a_read_timeout(
    trusted: TlsFiles, lanes_of: list[Lanes]
) -> None:
    with scripted(lambda _: Reply(OK.data, delay=2.0), trusted) as server:
        lanes = new_lanes(lanes_of, server.url, timeout=0.3)

        with pytest.raises(httpx.ReadTimeout):
            lanes.get("/users/1")


def test_the_huma_client_retries_a_cut_answer_and_a_timeout_then_reads_the_user(
    trusted: TlsFiles,
) -> None:
    def script(seen: Seen) -> Reply:
        if seen.head.startswith(b"POST /auth/oauth/token "):
            return answer(200, b'{"access_token": "t", "expires_in": 3600}')
        if seen.connection == 1:  # cut short
            return Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{", close=True)
        if seen.connection == 2:  # too slow
            return Reply(OK.data, delay=1.5, close=True)
        return answer(200, b'{"id": "%s"}' % USER_ID.encode())

    with scripted(script, trusted) as server:
        client = HumaClient(
            base_url=server.url,
            client_id="id",
            client_secret="secret",
            timeout_seconds=0.5,
            retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0),
            sleep=lambda seconds: None,
        )
        with client:
            user = client.get_user(USER_ID)

    assert user == {"id": USER_ID}
    reads = [(c, h.split(b" ")[1]) for c, h in server.requests if h.startswith(b"GET")]
    assert reads == [(1, f"/users/{USER_ID}".encode())] * 1 + [
        (2, f"/users/{USER_ID}".encode()),
        (3, f"/users/{USER_ID}".encode()),
    ]


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        pytest.param("/users/1 HTTP/1.1\r\nX: y", (), id="target-with-a-line-break"),
        pytest.param("users/1", (), id="target-not-a-path"),
        pytest.param("/users/1", [(b"Authorization", b"Bearer t\r\nX: y")], id="header-value"),
        pytest.param("/users/1", [(b"Bad Name", b"v")], id="header-name"),
    ],
)
def test_a_request_that_would_break_its_lines_is_refused_before_sending(
    target: str, headers: list[tuple[bytes, bytes]], trusted: TlsFiles, lanes_of: list[Lanes]
) -> None:
    with scripted(lambda _: OK, trusted) as server:
        lanes = new_lanes(lanes_of, server.url)

        with pytest.raises(ValueError, match=r"not a path|line"):
            lanes.get(target, headers)

    assert server.requests == []
