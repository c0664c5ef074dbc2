"""A TLS server on loopback that answers each request with bytes a test scripts, byte for byte.

For the wire's edges no real server stages on demand, and a hostile one must be played: chunked
bodies, bodies cut short, a kept-alive connection closed between two requests, an answer that
never comes, one trickled a byte at a time, a decompression bomb, a status line that quotes the
request's token back. Served with a certificate of a local CA (`emulators.tls`) that the clients
trust through `SSL_CERT_FILE`, as every client of the product is configured, so the client under
test runs its real wire code: TLS, HTTP/1.1 framing, header validation and decoding. Each
connection is served by a thread of its own; every request it reads (head and body) is recorded,
with the number of the connection it came on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from emulators.tls import TlsFiles, ensure_certificates


@dataclasses.dataclass(frozen=True)
class Seen:
    """One request the server read: the connection it came on and its number there (both from
    0), its head (request line and headers) as sent, and the same parsed (lower-case header
    names), and its body (by `Content-Length`)."""

    connection: int
    request: int
    head: bytes
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass(frozen=True)
class Reply:
    """What the server does with one request: wait `delay` seconds, send `data` (None: send
    nothing), then each of `more` (bytes are sent, a float is a pause in seconds), then close the
    connection when `close`."""

    data: bytes | None
    close: bool = False
    delay: float = 0.0
    more: tuple[bytes | float, ...] = ()

    def followed_by(self, *more: bytes | float) -> Reply:
        """This reply with `more` sent after it."""
        return dataclasses.replace(self, more=(*self.more, *more))


def answer(
    status: int, body: bytes = b"", *headers: str, close: bool = False, length: bool = True
) -> Reply:
    """A whole answer, with `headers` ("Name: value") and a `Content-Length` unless `length` is
    False (the body then ends when the connection closes)."""
    lines = [
        f"HTTP/1.1 {status} X",
        *([f"Content-Length: {len(body)}"] if length else []),
        *headers,
    ]
    return Reply("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body, close=close)


def answer_and_close(status: int, body: bytes = b"", *headers: str, length: bool = True) -> Reply:
    """An answer that says `Connection: close` and then closes: one request per connection."""
    return answer(status, body, "Connection: close", *headers, close=True, length=length)


def trickle(data: bytes, *, every: float) -> tuple[bytes | float, ...]:
    """`data` a byte at a time, `every` seconds apart (a slow-loris answer), for `followed_by`."""
    return tuple(piece for byte in data for piece in (bytes([byte]), every))


#: `script(seen)` -> the reply to the request `seen`.
Script = Callable[[Seen], Reply]


@dataclasses.dataclass
class ScriptedServer:
    """Serves `script` at `url` until closed; `seen` holds the requests read, in order."""

    script: Script
    tls: TlsFiles
    host: str = "127.0.0.1"
    seen: list[Seen] = dataclasses.field(default_factory=list)
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

    @property
    def ca_bundle(self) -> Path:
        """The bundle that vouches for the server (for `SSL_CERT_FILE`)."""
        return self.tls.ca_bundle

    @property
    def requests(self) -> list[tuple[int, bytes]]:
        """(connection, request head) of every request read, in order."""
        return [(seen.connection, seen.head) for seen in self.seen]

    def close(self) -> None:
        with contextlib.suppress(OSError):  # wakes the blocked `accept`
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for connection in self._open:  # ends a reply still being sent
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
                    seen = _read_request(connection, number, request)
                    if seen is None:
                        return
                    self.seen.append(seen)
                    reply = self.script(seen)
                    time.sleep(reply.delay)
                    if reply.data is not None:
                        connection.sendall(reply.data)
                    for piece in reply.more:
                        if isinstance(piece, float):
                            time.sleep(piece)
                        else:
                            connection.sendall(piece)
                    if reply.close:
                        return
        except OSError:
            return  # the client refused the handshake, or left (gave up on the answer)


def _read_request(connection: ssl.SSLSocket, number: int, request: int) -> Seen | None:
    """The next request on `connection`: its head and its body (by `Content-Length`)."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = connection.recv(65536)
        if not more:
            return None
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        more = connection.recv(65536)
        if not more:
            return None
        body += more
    return Seen(number, request, head, method, target, headers, body)


@contextlib.contextmanager
def scripted(script: Script, tls: TlsFiles, host: str = "127.0.0.1") -> Iterator[ScriptedServer]:
    server = ScriptedServer(script, tls, host)
    try:
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def scripted_in(tls_dir: Path, script: Script) -> Iterator[ScriptedServer]:
    """`scripted` with the local CA's files kept in `tls_dir` (made when missing)."""
    with scripted(script, ensure_certificates(tls_dir)) as server:
        yield server
