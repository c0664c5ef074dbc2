"""The webhook receiver served over real TLS (the emulators' local CA) on port 0, and a sender
that signs deliveries as Huma does."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from emulators.tls import TlsFiles, ensure_certificates
from resources.webhook_events import WebhookEventStore, event_store_path
from resources.webhook_receiver import MAX_BODY_BYTES, WebhookEndpoint, build_receiver

SECRET = "whsec-acme-5b1f0c"
CONNECTION = "acme"


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


def listening_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


@dataclasses.dataclass
class Receiver:
    """One receiver served in a thread of this process."""

    url: str
    port: int
    store: WebhookEventStore
    server: uvicorn.Server
    thread: threading.Thread

    def endpoint(self, connection: str = CONNECTION) -> str:
        return f"{self.url}/huma/{connection}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the receiver did not stop"


def serve_receiver(
    tls: TlsFiles,
    store_path: Path,
    *,
    port: int = 0,
    token: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Receiver:
    """Start a receiver for connection `acme` on `store_path` (a store of its own: as another
    process would open it)."""
    store = WebhookEventStore(store_path)
    app = build_receiver(
        [WebhookEndpoint(CONNECTION, SECRET, token, store)], max_body_bytes=max_body_bytes
    )
    sock = listening_socket(port)
    config = uvicorn.Config(
        app,
        ssl_certfile=str(tls.server_cert),
        ssl_keyfile=str(tls.server_key),
        log_config=None,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the receiver stopped"
        assert time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.01)
    bound = sock.getsockname()[1]
    return Receiver(f"https://127.0.0.1:{bound}", bound, store, server, thread)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return ensure_certificates(tmp_path_factory.mktemp("webhooks-tls") / "tls")


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return event_store_path(tmp_path / "history.duckdb", CONNECTION)


@pytest.fixture
def receiver(tls: TlsFiles, store_path: Path) -> Iterator[Receiver]:
    served = serve_receiver(tls, store_path)
    yield served
    served.stop()


def tls_client(tls: TlsFiles) -> httpx.Client:
    """A client trusting the local CA (close it before stopping a receiver it talked to: an
    open keep-alive connection outlives the server's graceful stop)."""
    return httpx.Client(verify=ssl.create_default_context(cafile=tls.ca_bundle), timeout=30)


@pytest.fixture
def client(tls: TlsFiles) -> Iterator[httpx.Client]:
    with tls_client(tls) as c:
        yield c


@contextlib.contextmanager
def receivers(tls: TlsFiles, *served: Receiver) -> Iterator[httpx.Client]:
    """A client of `served`, which are stopped (after the client is closed) on exit."""
    try:
        with tls_client(tls) as client:
            yield client
    finally:
        for receiver in served:
            receiver.stop()
