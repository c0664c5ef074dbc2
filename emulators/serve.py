"""Run one emulator in this process: HTTPS on a socket, until SIGINT or SIGTERM.

Started by `emulators.launcher` as `python -m emulators serve NAME ...`; once the socket listens it
prints one JSON line to stdout, `{"emulator": NAME, "url": "https://HOST:PORT"}`, which is how the
parent learns the port when it asked for port 0.
"""

from __future__ import annotations

import importlib
import logging
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import uvicorn

from emulators.core import cyclic_gc_paused
from emulators.tls import ensure_certificates

if TYPE_CHECKING:
    from emulators.core import Emulator

#: Emulator name -> "module:class".
EMULATORS = {
    "huma": "emulators.huma.app:HumaEmulator",
    "entra": "emulators.graph.app:EntraEmulator",
}


def create_emulator(name: str) -> Emulator:
    """An emulator by its short name, with default settings and empty state."""
    try:
        module_name, class_name = EMULATORS[name].split(":")
    except KeyError:
        raise ValueError(f"unknown emulator {name!r}; known: {', '.join(EMULATORS)}") from None
    return getattr(importlib.import_module(module_name), class_name)()


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); port 0 picks a free one.

    Made with `IPPROTO_TCP` explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose
    protocol is TCP, and without it every two-write response waits ~40 ms for a delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _ExpectedNoise(logging.Filter):
    # A dropped connection is a fault the emulator injects on purpose, and clients' idle
    # keep-alive connections are cut at shutdown; uvicorn reports both as errors, which would
    # only be noise in the emulator's output.
    _EXPECTED = ("without completing response", "timeout graceful shutdown exceeded")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(expected in message for expected in self._EXPECTED)


def serve(
    name: str,
    *,
    host: str,
    port: int,
    tls_dir: Path,
    state_file: Path | None = None,
    settings: dict[str, Any] | None = None,
    persist: bool = False,
) -> None:
    """Serve emulator `name` over HTTPS until stopped.

    Args:
        persist: on exit, write the emulator's state back to `state_file` (atomically).
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.error").addFilter(_ExpectedNoise())
    emulator = create_emulator(name)
    if settings:
        emulator.update_settings(settings)
    if state_file is not None:
        with cyclic_gc_paused():
            emulator.load_state(orjson.loads(state_file.read_bytes()))
    tls = ensure_certificates(tls_dir)
    sock = listening_socket(host, port)
    config = uvicorn.Config(
        emulator.build_app(),
        ssl_certfile=str(tls.server_cert),
        ssl_keyfile=str(tls.server_key),
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,
        date_header=False,
        # Idle keep-alive connections of clients still alive must not hold a stop up.
        timeout_graceful_shutdown=1,
    )
    bound_port = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    sys.stdout.write(
        orjson.dumps({"emulator": name, "url": f"https://{url_host}:{bound_port}"}).decode()
    )
    sys.stdout.write("\n")
    sys.stdout.flush()
    uvicorn.Server(config).run(sockets=[sock])
    if persist and state_file is not None:
        tmp = state_file.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(emulator.export_state()))
        tmp.replace(state_file)
