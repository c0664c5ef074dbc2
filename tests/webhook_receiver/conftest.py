"""The webhook receiver served over real TLS on port 0 (`tests.webhook_serving`), and a sender
that signs deliveries as Huma does."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from emulators.tls import TlsFiles
from resources.webhook_events import event_store_path
from tests.webhook_serving import (  # noqa: F401 - fixtures and names the tests import from here
    CONNECTION,
    SECRET,
    Receiver,
    serve_receiver,
    tls,
    tls_client,
)


def huma_id(n: int) -> str:
    return f"5f0c6c55-1c1e-4a57-9d2e-{n:012x}"


def body_of(topic: str, users: list[tuple[str, str]], **extra: Any) -> bytes:
    """A delivery's body as Huma sends it (`users` as (id, email) pairs)."""
    return orjson.dumps(
        {"topic": topic, "users": [{"id": i, "email": e, "givenName": "X"} for i, e in users]}
        | extra
    )


def signed(body: bytes, *, secret: str = SECRET, topic: str | None = None) -> dict[str, str]:
    """The headers Huma sends with `body` (the topic read from it unless given)."""
    topic = topic if topic is not None else orjson.loads(body)["topic"]
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"huma-topic": topic, "huma-hmac-sha256": mac, "content-type": "application/json"}


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return event_store_path(tmp_path / "history.duckdb", CONNECTION)


@pytest.fixture
def receiver(tls: TlsFiles, store_path: Path) -> Iterator[Receiver]:  # noqa: F811
    served = serve_receiver(tls, store_path)
    yield served
    served.stop()


@pytest.fixture
def client(tls: TlsFiles) -> Iterator[httpx.Client]:  # noqa: F811
    with tls_client(tls) as c:
        yield c


@contextlib.contextmanager
def receivers(tls: TlsFiles, *served: Receiver) -> Iterator[httpx.Client]:  # noqa: F811
    """A client of `served`, which are stopped (after the client is closed) on exit."""
    try:
        with tls_client(tls) as client:
            yield client
    finally:
        for receiver in served:
            receiver.stop()
