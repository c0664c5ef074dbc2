"""The webhook receiver served in a thread of the test process over real TLS (a local test CA)
on port 0, for connection `acme` with a known secret, built by the `webhooks` command's own
`receiver_server` (so the tests serve what a deployment serves): shared by the receiver's tests
and the end-to-end webhook chain's."""

from __future__ import annotations

import dataclasses
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from cli.webhooks import listening_socket, receiver_server
from emulators.tls import TlsFiles, ensure_certificates
from resources.webhook_events import WebhookEventStore
from resources.webhook_receiver import MAX_BODY_BYTES, WebhookEndpoint

SECRET = "whsec-acme-5b1f0c"
CONNECTION = "acme"


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
    head_seconds: float | None = None,
    body_seconds: float | None = None,
) -> Receiver:
    """Start a receiver for connection `acme` on `store_path` (a store of its own: as another
    process would open it)."""
    store = WebhookEventStore(store_path)
    sock = listening_socket("127.0.0.1", port)
    server = receiver_server(
        [WebhookEndpoint(CONNECTION, SECRET, token, store)],
        (str(tls.server_cert), str(tls.server_key)),
        max_body_bytes=max_body_bytes,
        head_seconds=head_seconds,
        body_seconds=body_seconds,
    )
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


def tls_client(tls: TlsFiles) -> httpx.Client:
    """A client trusting the local CA (close it before stopping a receiver it talked to: an
    open keep-alive connection outlives the server's graceful stop)."""
    return httpx.Client(verify=ssl.create_default_context(cafile=tls.ca_bundle), timeout=30)
