"""A TLS server on loopback that answers each request with bytes a test scripts, byte for byte.

For the wire's edges no real server stages on demand: chunked bodies, bodies cut short, a
kept-alive connection closed between two requests, an answer that never comes. Each connection
is served by a thread of its own; every request head it reads is recorded with the number of
the connection it came on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

from emulators.tls import TlsFiles


@dataclasses.dataclass(frozen=True)
class Reply:
    """What the server does with one request: wait `delay` seconds, send `data` (None: send
    nothing), then close the connection when `close`."""

    data: bytes | None
    close: bool = False
    delay: float = 0.0


def answer(status: int, body: bytes = b"", *headers: str, close: bool = False) -> Reply:
    """A whole answer with a `Content-Length`, and `headers` ("Name: value") besides."""
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *headers]
    return Reply("\r\n".join(lines).encode() + b"\r\n\r\n" + body, close=close)


#: `script(connection, request, head)` -> the reply to the request whose head (request line and
#: headers) is `head`; both numbers count from 0 (`request` on its connection).
Script = Callable[[int, int, bytes], Reply]


@dataclasses.dataclass
class ScriptedServer:
    """Serves `script` at `url` until closed; `requests` holds (connection, request head)."""

    script: Script
    tls: TlsFiles
    host: str = "127.0.0.1"
    requests: list[tuple[int, bytes]] = dataclasses.field(default_factory=list)
    handshakes: int = 0

    def __post_init__(self) -> None:
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(self.tls.server_cert, self.tls.server_key)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._listener.bind((self.host, 0))
        self._listener.listen()
        self.port = self._listener.getsockname()[1]
        self._connections = 0
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def close(self) -> None:
        self._listener.close()
        for connection in self._open:
            with contextlib.suppress(OSError):
                connection.close()

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return  # closed
            number, self._connections = self._connections, self._connections + 1
            self._open.append(raw)
            threading.Thread(target=self._serve, args=(raw, number), daemon=True).start()

    def _serve(self, raw: socket.socket, number: int) -> None:
        try:
            with self._context.wrap_socket(raw, server_side=True) as connection:
                self.handshakes += 1
                for request in range(1_000):
                    head = _read_head(connection)
                    if head is None:
                        return
                    self.requests.append((number, head))
                    reply = self.script(number, request, head)
                    time.sleep(reply.delay)
                    if reply.data is not None:
                        connection.sendall(reply.data)
                    if reply.close:
                        return
        except OSError:
            return  # the client refused the handshake, or left


def _read_head(connection: ssl.SSLSocket) -> bytes | None:
    """A request's head; its body (by `Content-Length`, as the token requests send) is read and
    dropped."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = connection.recv(65536)
        if not more:
            return None
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line[15:])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        more = connection.recv(65536)
        if not more:
            return None
        body += more
    return head


@contextlib.contextmanager
def scripted(script: Script, tls: TlsFiles, host: str = "127.0.0.1") -> Iterator[ScriptedServer]:
    server = ScriptedServer(script, tls, host)
    try:
        yield server
    finally:
        server.close()
