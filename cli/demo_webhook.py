"""The webhook chain of the demo (and the latency benchmark): the product's receiver served in a
thread of this process, on a loopback port the system picks, over TLS with the emulators'
certificate (which names localhost and 127.0.0.1, signed by their local CA), with the Huma
emulator sending to it.

The receiver is the one `huma-entra-sync webhooks` serves: the demo connection's endpoint, its
secret read from the connection's environment, its events stored beside the history.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: How long the demo waits for Huma's delivery to be stored (it takes milliseconds).
DELIVERY_DEADLINE_SECONDS = 60
_START_DEADLINE_SECONDS = 30


@contextlib.contextmanager
def huma_sending_to_receiver(
    huma: Any, connection: str, secret: str, tls_dir: Path, ca_bundle: Path
) -> Iterator[str]:
    """Serve `connection`'s receiver with the certificate in `tls_dir` and register it, with
    `secret`, as the Huma emulator's webhook (`huma`: its admin client), trusting `ca_bundle`;
    yields the receiver's URL. On exit Huma stops sending and the receiver stops.

    Raises:
        RuntimeError: The receiver did not start.
    """
    from cli.webhooks import listening_socket, receiver_server, served_endpoints
    from emulators.tls import TlsFiles

    tls = TlsFiles(tls_dir)
    sock = listening_socket("127.0.0.1", 0)
    server = receiver_server(
        served_endpoints(connection), (str(tls.server_cert), str(tls.server_key))
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="webhook-receiver", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _START_DEADLINE_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the webhook receiver did not start")
            time.sleep(0.01)
        url = f"https://127.0.0.1:{sock.getsockname()[1]}/huma/{connection}"
        huma.register_webhook(url, secret=secret, ca_file=ca_bundle)
        try:
            yield url
        finally:
            huma.register_webhook(None)
    finally:
        server.should_exit = True
        thread.join(timeout=_START_DEADLINE_SECONDS)
        sock.close()


def wait_for_event(store: Any, huma: Any) -> None:
    """Return once `store` (a `WebhookEventStore`) holds a waiting event.

    Raises:
        RuntimeError: None arrived within the deadline (with Huma's deliveries, which say why).
    """
    deadline = time.monotonic() + DELIVERY_DEADLINE_SECONDS
    while store.waiting().count == 0:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"Huma's webhook was not stored: deliveries {huma.webhook_deliveries()}"
            )
        time.sleep(0.01)
