"""Slow and silent senders cannot hold the webhook receiver.

Pins, against the receiver a deployment serves (over TLS, in this process, with short deadlines
so the test does not wait long): a connection that never finishes its request head (silent, or a
head sent a byte at a time) is closed by the server once the head deadline passes, while other
senders are served all along; a body trickled a byte at a time is answered 408 and closed once the
body deadline passes, nothing stored; and, at the app, bodies read at once may hold no more than
their budget together: a delivery past it is answered 503 (Huma retries), and the budget is given
back when a request ends.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.tls import TlsFiles
from resources.webhook_events import WebhookEventStore
from resources.webhook_receiver import WebhookEndpoint, build_receiver
from tests.webhook_receiver.conftest import CONNECTION, SECRET, body_of, huma_id, signed
from tests.webhook_serving import Receiver, serve_receiver, tls, tls_client  # noqa: F401 - tls

HEAD_SECONDS = 0.5
BODY_SECONDS = 1.0
#: Far longer than either deadline: a connection still open then was never going to be closed.
PATIENCE = 30.0
UPDATE = body_of("users-update", [(huma_id(1), "anna.berg@fjordline.no")])


@pytest.fixture
def receiver(tls: TlsFiles, tmp_path: Path) -> Iterator[Receiver]:  # noqa: F811 - the fixture
    served = serve_receiver(
        tls, tmp_path / "events.sqlite", head_seconds=HEAD_SECONDS, body_seconds=BODY_SECONDS
    )
    yield served
    served.stop()


def _connect(receiver: Receiver, files: TlsFiles) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=files.ca_bundle)
    raw = socket.create_connection(("127.0.0.1", receiver.port), timeout=PATIENCE)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def _until_closed(sock: ssl.SSLSocket, trickle: bytes = b"") -> bytes:
    """Everything the server sends until it closes the connection, sending `trickle` a byte at
    a time meanwhile; fails when the connection is still open after `PATIENCE`."""
    received = b""
    deadline = time.monotonic() + PATIENCE
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        if trickle:
            try:
                sock.sendall(trickle[:1])
            except OSError:
                return received
            trickle = trickle[1:]
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return received
        if not chunk:
            return received
        received += chunk
    pytest.fail("the receiver kept the connection open")


def _served(receiver: Receiver, files: TlsFiles) -> int:
    with tls_client(files) as client:
        return client.post(receiver.endpoint(), content=UPDATE, headers=signed(UPDATE)).status_code


@pytest.mark.parametrize(
    "head", [b"", b"POST /huma/acme HTTP/1.1\r\nHost: x\r\n"], ids=["silent", "half-a-head"]
)
def test_a_head_that_never_ends_is_disconnected_and_others_are_served(
    receiver: Receiver,
    tls: TlsFiles,  # noqa: F811 - the fixture
    head: bytes,
) -> None:
    with _connect(receiver, tls) as slow:
        slow.sendall(head)
        assert _served(receiver, tls) == 202
        assert _until_closed(slow) == b""


def test_a_head_sent_a_byte_at_a_time_is_disconnected(
    receiver: Receiver,
    tls: TlsFiles,  # noqa: F811 - the fixture
) -> None:
    endless = b"POST /huma/acme HTTP/1.1\r\n" + b"x-slow: " + b"a" * 10_000

    with _connect(receiver, tls) as slow:
        assert _until_closed(slow, trickle=endless) == b""


def test_a_body_trickled_a_byte_at_a_time_is_refused_408(
    receiver: Receiver,
    tls: TlsFiles,  # noqa: F811 - the fixture
) -> None:
    headers = signed(UPDATE) | {"content-length": str(len(UPDATE)), "host": "x"}
    head = "POST /huma/acme HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    with _connect(receiver, tls) as slow:
        slow.sendall(head.encode() + b"\r\n")
        answer = _until_closed(slow, trickle=UPDATE[:-1] + b" " * 10_000)
        assert _served(receiver, tls) == 202

    assert answer.startswith(b"HTTP/1.1 408")
    assert receiver.store.waiting().count == 1  # the one served, not the trickled one


def test_bodies_read_at_once_stay_within_their_budget(tmp_path: Path) -> None:
    store = WebhookEventStore(tmp_path / "events.sqlite")
    app = build_receiver(
        [WebhookEndpoint(CONNECTION, SECRET, None, store)],
        max_body_bytes=len(UPDATE),
        max_buffered_bytes=len(UPDATE) + len(UPDATE) // 2 - 1,
    )

    async def deliver(hold: asyncio.Event | None) -> int:
        """One delivery; with `hold`, half the body first, the rest once `hold` is set."""
        half = len(UPDATE) // 2
        parts = [UPDATE[:half], UPDATE[half:]] if hold else [UPDATE]
        headers = signed(UPDATE) | {"content-length": str(len(UPDATE))}
        scope = {
            "type": "http",
            "method": "POST",
            "path": f"/huma/{CONNECTION}",
            "raw_path": f"/huma/{CONNECTION}".encode(),
            "query_string": b"",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "http_version": "1.1",
            "scheme": "https",
            "server": ("127.0.0.1", 443),
            "client": ("127.0.0.1", 1),
        }
        status: list[int] = []

        async def receive() -> dict[str, object]:
            part = parts.pop(0)
            if hold and not parts:
                await hold.wait()
            return {"type": "http.request", "body": part, "more_body": bool(parts)}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))  # type: ignore[call-overload]

        await app(scope, receive, send)
        return status[0]

    async def scenario() -> list[int]:
        hold = asyncio.Event()
        slow = asyncio.create_task(deliver(hold))
        await asyncio.sleep(0.05)  # the slow one holds half a body
        crowded = await deliver(None)
        hold.set()
        return [crowded, await slow, await deliver(None)]

    crowded, slow, after = asyncio.run(scenario())

    assert (crowded, slow, after) == (503, 202, 200)  # the last is a replay of a stored one
