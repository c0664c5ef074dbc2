"""`huma-entra-sync webhooks`: serve the receiver of Huma's profile webhooks until stopped.

One receiver serves every connection that has a webhook secret (`POST /huma/<connection>`), or
only `--connection`. Each connection's deliveries go to its event store (beside the history, or
in `WEBHOOK_EVENTS_DIR`: `resources.webhook_events.event_store_path`), where the targeted runs take
them. A store folder on a network file system is refused at start: SQLite's write-ahead log needs
a local disk (`resources.webhook_store_location`).

TLS: Huma posts over the internet, and the bodies hold emails and the signatures. The command
serves TLS itself with `--certfile`/`--keyfile`, or plain HTTP on a loopback address only, for a
TLS-terminating proxy on the same host. Plain HTTP on any other address (a container network
behind an ingress that terminates TLS) needs `--plain-http-behind-proxy`, and says so in a
warning: never silently.

When it listens, it prints one line to stdout: `listening on <URL>` (the port chosen, with
`--port 0`), then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
from typing import TYPE_CHECKING

from cli.console import USAGE, CommandError, deployment_connections, fail, history_path

if TYPE_CHECKING:
    import uvicorn

    from pipelines.connections import Connection
    from resources.webhook_receiver import WebhookEndpoint

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8787
#: The largest request head (request line and headers) the receiver reads.
MAX_HEAD_BYTES = 64 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connection", help="serve only this connection (default: every one with a secret)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0 picks one)"
    )
    parser.add_argument("--certfile", help="the TLS certificate chain (PEM) to serve with")
    parser.add_argument("--keyfile", help="the TLS certificate's private key (PEM)")
    parser.add_argument(
        "--plain-http-behind-proxy",
        action="store_true",
        help="serve plain HTTP on a non-loopback address: only behind a proxy terminating TLS",
    )
    parser.add_argument(
        "--max-body-bytes", type=int, help="refuse larger deliveries with 413 (default 64 MiB)"
    )


def run(args: argparse.Namespace) -> int:
    from resources.webhook_store_location import read_mounts

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        tls = _tls_files(args)
        endpoints = served_endpoints(args.connection, mounts=read_mounts())
        sock = listening_socket(args.host, args.port)
    except CommandError as error:
        return fail(error)
    return _serve(args, endpoints, sock, tls)


def _tls_files(args: argparse.Namespace) -> tuple[str, str] | None:
    """(certfile, keyfile), or None for plain HTTP where that is allowed.

    Raises:
        CommandError: Half a TLS pair, or plain HTTP on a non-loopback address unasked.
    """
    if bool(args.certfile) != bool(args.keyfile):
        raise CommandError("--certfile and --keyfile go together", USAGE)
    if args.certfile:
        return args.certfile, args.keyfile
    if _loopback(args.host):
        return None
    if not args.plain_http_behind_proxy:
        raise CommandError(
            f"refusing plain HTTP on {args.host}: deliveries carry emails and signatures; give "
            "--certfile and --keyfile, listen on 127.0.0.1 behind a TLS-terminating proxy, or "
            "add --plain-http-behind-proxy when a proxy on this network terminates TLS",
            USAGE,
        )
    logger.warning(
        "serving plain HTTP on %s: only a proxy terminating TLS may reach this address", args.host
    )
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def served_endpoints(only: str | None, *, mounts: str | None = None) -> list[WebhookEndpoint]:
    """The connections served, each with its secret, token and store.

    Args:
        only: Serve only this connection (None: every one with a webhook secret).
        mounts: The text of `/proc/mounts` (`read_mounts()`): a store folder on a network file
            system is refused; None checks nothing.

    Raises:
        CommandError: No such connection, none with a webhook secret, or a store folder that is
            not on a local disk.
    """
    from pipelines.connections import ConnectionsError
    from resources.webhook_events import WebhookEventStore, event_store_path
    from resources.webhook_receiver import WebhookEndpoint
    from resources.webhook_store_location import require_local_disk

    connections = deployment_connections()
    if only is not None:
        connections = [c for c in connections if c.name == only]
        if not connections:
            raise CommandError(f"no connection {only!r}", USAGE)
    endpoints = []
    for connection in connections:
        try:
            secret, token = _credentials(connection)
        except ConnectionsError as exc:
            raise CommandError(str(exc), USAGE) from None
        if not secret:
            if only is not None:
                raise CommandError(_no_secret(connection), USAGE)
            logger.info("%s; its webhooks are not served", _no_secret(connection))
            continue
        try:
            path = event_store_path(history_path(), connection.name)
            require_local_disk(path.parent, mounts)
        except ValueError as exc:
            raise CommandError(f"refusing to start: {exc}") from None
        store = WebhookEventStore(path)
        endpoints.append(WebhookEndpoint(connection.name, secret, token or None, store))
    if not endpoints:
        raise CommandError("no connection has a webhook secret: nothing to serve", USAGE)
    return endpoints


def _credentials(connection: Connection) -> tuple[str | None, str | None]:
    where = f"connection {connection.name}"
    return (
        connection.huma.webhook_secret.resolve(f"{where}: huma webhook_secret"),
        connection.huma.webhook_token.resolve(f"{where}: huma webhook_token"),
    )


def _no_secret(connection: Connection) -> str:
    return (
        f"connection {connection.name} has no webhook secret (huma: webhook_secret_env in the "
        "connections file; HUMA_WEBHOOK_SECRET for the default connection)"
    )


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; `IPPROTO_TCP` so asyncio sets TCP_NODELAY on accepted ones.

    Raises:
        CommandError: The address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise CommandError(f"cannot listen on {host}:{port}: {exc}") from None
    return sock


def _serve(
    args: argparse.Namespace,
    endpoints: list[WebhookEndpoint],
    sock: socket.socket,
    tls: tuple[str, str] | None,
) -> int:
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    scheme = "https" if tls else "http"
    names = ", ".join(e.connection for e in endpoints)
    print(f"listening on {scheme}://{host}:{port} (POST /huma/<connection>: {names})", flush=True)
    receiver_server(endpoints, tls, max_body_bytes=args.max_body_bytes).run(sockets=[sock])
    return 0


def receiver_server(
    endpoints: list[WebhookEndpoint],
    tls: tuple[str, str] | None,
    *,
    max_body_bytes: int | None = None,
    head_seconds: float | None = None,
    body_seconds: float | None = None,
) -> uvicorn.Server:
    """The receiver of `endpoints` as a server (not started): TLS from `tls` (certfile,
    keyfile), or plain HTTP when None; no access log (the app logs each delivery's outcome,
    without the client's details)."""
    import uvicorn

    from resources.webhook_connections import HEAD_SECONDS, head_deadline_protocol
    from resources.webhook_receiver import BODY_SECONDS, MAX_BODY_BYTES, build_receiver

    app = build_receiver(
        endpoints,
        max_body_bytes=max_body_bytes or MAX_BODY_BYTES,
        max_body_seconds=body_seconds or BODY_SECONDS,
    )
    config = uvicorn.Config(
        app,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=5,
        # h11, whose limit on a request's head keeps headers of any size from taking the memory
        # (the httptools parser has none); Huma's deliveries carry a few short headers. Each head
        # has a deadline too: a silent or slow client is disconnected.
        http=head_deadline_protocol(head_seconds or HEAD_SECONDS),
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
    )
    return uvicorn.Server(config)
