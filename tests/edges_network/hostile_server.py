"""A hostile HTTPS server on loopback: it answers each request with whatever bytes a test scripts.

Served with a certificate of a local CA that the clients trust through `SSL_CERT_FILE` (as every
client of the product is configured), so the client under test runs its real wire code: TLS,
HTTP/1.1 framing, header validation and decoding. Each connection carries one request and is
closed after the answer, which every HTTP/1.1 client handles.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from emulators.tls import ensure_certificates


@dataclasses.dataclass(frozen=True)
class Seen:
    """One request the server received: its request line, headers (lower-case names), body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


#: An answer: the raw bytes to send, in pieces (a piece that is a float is a pause, in seconds).
Answer = Iterable[bytes | float]
Script = Callable[[Seen], Answer]


def answer(
    status: int, body: bytes = b"", *, headers: Iterable[tuple[str, str]] = (), length: bool = True
) -> list[bytes | float]:
    """An HTTP/1.1 answer as one piece; `length=False` leaves `Content-Length` out (the body
    then ends when the connection closes)."""
    lines = [f"HTTP/1.1 {status} Hostile", "Connection: close", *(f"{k}: {v}" for k, v in headers)]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return [("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body]


class HostileServer:
    """Answers every request with `script(seen)`; `seen` lists what arrived, in order."""

    def __init__(self, tls_dir: Path, script: Script) -> None:
        files = ensure_certificates(tls_dir)
        self.ca_bundle = files.ca_bundle
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._tls.load_cert_chain(files.server_cert, files.server_key)
        self.script = script
        self.seen: list[Seen] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.url = f"https://localhost:{self._listener.getsockname()[1]}"
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):  # wakes the blocked `accept`
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(raw,), daemon=True).start()

    def _one(self, raw: socket.socket) -> None:
        try:
            with self._tls.wrap_socket(raw, server_side=True) as conn:
                seen = _read_request(conn)
                if seen is None:
                    return
                self.seen.append(seen)
                for piece in self.script(seen):
                    if self._stopped.is_set():
                        return
                    if isinstance(piece, float):
                        time.sleep(piece)
                    else:
                        conn.sendall(piece)
        except (OSError, ssl.SSLError):
            return  # the client gave up on the answer: what the tests want it to do


def _read_request(conn: ssl.SSLSocket) -> Seen | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Seen(method, target, headers, body)


def trickle(data: bytes, *, every: float) -> Iterator[bytes | float]:
    """`data` a byte at a time, `every` seconds apart (a slow-loris answer)."""
    for byte in data:
        yield bytes([byte])
        yield every
