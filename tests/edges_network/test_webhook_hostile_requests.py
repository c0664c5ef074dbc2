"""Hostile requests to the webhook receiver store nothing and leave nothing of theirs in a log.

Pins, against the receiver a deployment serves (over TLS, in this process): a delivery whose
headers are huge (one header of 256 KiB, or five thousand headers) is refused before its body is
looked at; a delivery whose signature header is huge is refused as unsigned or badly signed; a
correctly signed body that JSON cannot hold (nested past any depth, a number past any size) is
refused 400. In every case nothing is stored, the receiver keeps answering, and no log record
quotes what was sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulators.tls import TlsFiles
from tests.webhook_receiver.conftest import signed
from tests.webhook_serving import Receiver, serve_receiver, tls, tls_client  # noqa: F401 - tls

#: Marks what the sender sent, to look for it in the logs.
MARK = "hostile-mark-7f3a"


@pytest.fixture
def receiver(tls: TlsFiles, tmp_path: Path) -> Iterator[Receiver]:  # noqa: F811 - the fixture
    served = serve_receiver(tls, tmp_path / "events.sqlite")
    yield served
    served.stop()


def _sent(receiver: Receiver, files: TlsFiles, body: bytes, headers: dict[str, str]) -> int | None:
    """The status of one delivery, or None when the receiver closed the connection instead."""
    with tls_client(files) as client:
        try:
            return client.post(receiver.endpoint(), content=body, headers=headers).status_code
        except httpx.RemoteProtocolError:
            return None


def _signed(body: bytes) -> dict[str, str]:
    return signed(body, topic="users-update")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        pytest.param("one-huge-header", {None, 400, 431}, id="one-huge-header"),
        pytest.param("many-headers", {None, 400, 431}, id="five-thousand-headers"),
        pytest.param("huge-signature", {None, 400, 401, 431}, id="huge-signature"),
        pytest.param("deep-json", {400}, id="json-nested-past-any-depth"),
        pytest.param("huge-number", {400}, id="json-number-past-any-size"),
    ],
)
def test_a_hostile_delivery_stores_nothing_and_leaves_nothing_in_the_logs(
    receiver: Receiver,
    tls: TlsFiles,  # noqa: F811 - the fixture
    caplog: pytest.LogCaptureFixture,
    case: str,
    expected: set[int | None],
) -> None:
    caplog.set_level(logging.DEBUG)
    body = b'{"topic": "users-update", "users": []}'
    headers = _signed(body)
    if case == "one-huge-header":
        headers["x-mark"] = MARK * (256 * 1024 // len(MARK))
    elif case == "many-headers":
        headers |= {f"x-{MARK}-{n}": MARK for n in range(5000)}
    elif case == "huge-signature":
        headers["huma-hmac-sha256"] = MARK * (12 * 1024 // len(MARK))
    elif case == "deep-json":
        body = b'{"topic": "users-update", "' + MARK.encode() + b'": ' + b"[" * 100_000 + b"]"
        headers = _signed(body)
    else:
        body = b'{"topic": "users-update", "users": [], "n": 1' + b"0" * 100_000 + b"}"
        headers = _signed(body) | {"x-mark": MARK}

    assert _sent(receiver, tls, body, headers) in expected
    assert receiver.store.waiting().count == 0
    assert _sent(receiver, tls, b"{}", _signed(b"{}")) == 400  # still answering
    assert MARK not in caplog.text
