"""One keep-alive HTTPS/1.1 connection that sends GETs and reads their answers whole.

The hot read path sends thousands of small GETs to one origin. On a verified TLS socket of the
standard library, a request is one `sendall` of prepared bytes and an answer is parsed with a
few `bytes` operations (status line, headers, then a body framed by `Content-Length`, by chunks,
or by the connection's close), which costs a fraction of a general client's CPU per request.

What an answer may be is bounded as HTTP/1.1 says, and anything else is an error, never a
partial payload: a body shorter than its `Content-Length`, a chunked body cut short or a head
that does not parse is `httpx.RemoteProtocolError`; a head larger than `MAX_HEAD_BYTES` too.
What it may cost is bounded as `resources.answer_limits` says: a body announced or grown past
`MAX_ANSWER_BYTES` is `AnswerTooLarge` (not read further), and one still arriving when the read
timeout has passed since its head is `httpx.ReadTimeout` (a slow-loris).
Failures are raised as the `httpx.TransportError` kinds retries know: `ConnectError` (refused,
unresolvable, TLS not verified), `ConnectTimeout`, `ReadTimeout`, `WriteTimeout`, `ReadError`,
`WriteError`.

A kept-alive connection that the server closed between two requests is found before it is
used (it reads as ready) or when the request gets no answer byte at all; either way the GET is
sent once more on a new connection, as a GET may be.
"""

from __future__ import annotations

import select
import socket
import ssl
import time

import httpx

from resources.answer_limits import MAX_ANSWER_BYTES

#: The most bytes a status line and headers may take (a general client allows 16 KiB to 64 KiB).
MAX_HEAD_BYTES = 64 * 1024
_READ_SIZE = 64 * 1024
#: Answers that never have a body (RFC 9112 6.3).
_NO_BODY = frozenset({204, 304})


class AnswerTooLarge(Exception):
    """An answer's body is announced or grew past `MAX_ANSWER_BYTES`: the connection is closed
    and the body not read further."""


class Connection:
    """One verified TLS connection to `host:port`, opened on first use and kept alive.

    Not thread-safe: one request at a time (a lane owns it).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        tls: ssl.SSLContext,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self._address = (host, port)
        self._tls = tls
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._sock: ssl.SSLSocket | None = None
        self._buffer = b""
        #: When the body being read must be whole (None: no body being read).
        self._deadline: float | None = None

    def close(self) -> None:
        sock, self._sock, self._buffer = self._sock, None, b""
        if sock is not None:
            sock.close()

    def request(self, head: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send `head` (a whole GET: request line, headers, empty line) and read its answer.

        Returns:
            The status, the headers (name, value) as sent, and the whole body.

        Raises:
            httpx.TransportError: the connection failed or the answer is not whole HTTP/1.1,
                or its body took longer than the read timeout (`ReadTimeout`).
            AnswerTooLarge: the body is larger than `MAX_ANSWER_BYTES`.
        """
        reused = self._sock is not None and not self._closed_by_server()
        if not reused:
            self.close()
        while True:
            if self._sock is None:
                self._connect()
            try:
                return self._exchange(head)
            except _NoAnswer as exc:
                self.close()
                if not reused:
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response."
                    ) from exc
                # The server closed the kept-alive connection as this request went out: a GET
                # may be sent again, once, on a new connection.
                reused = False
            except BaseException:
                self.close()
                raise

    def _closed_by_server(self) -> bool:
        """Whether the idle connection reads as ready: the server closed it (or sent what no
        request asked for); either way it is not to be used again."""
        if self._buffer:
            return True
        if self._open.pending():
            return True
        poller = select.poll()
        poller.register(self._open, select.POLLIN)
        return bool(poller.poll(0))

    @property
    def _open(self) -> ssl.SSLSocket:
        if self._sock is None:
            raise httpx.ReadError("the connection is closed")
        return self._sock

    def _connect(self) -> None:
        try:
            raw = socket.create_connection(self._address, timeout=self._connect_timeout)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "timed out connecting") from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = self._tls.wrap_socket(raw, server_hostname=self._address[0])
        except TimeoutError as exc:
            raw.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out in the TLS handshake") from exc
        except OSError as exc:  # ssl.SSLError (a certificate not verified) is an OSError
            raw.close()
            raise httpx.ConnectError(str(exc)) from exc
        sock.settimeout(self._read_timeout)
        self._sock = sock

    def _exchange(self, head: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        try:
            self._open.sendall(head)
        except TimeoutError as exc:
            raise httpx.WriteTimeout(str(exc) or "timed out sending") from exc
        except OSError as exc:
            raise _NoAnswer from exc  # broken before anything came back
        while True:
            status, headers, keep_alive, length, chunked = self._read_head()
            if not 100 <= status < 200:
                break  # interim answers (1xx) precede the answer proper
        if length is not None and length > MAX_ANSWER_BYTES:
            raise AnswerTooLarge(
                f"announced {length} bytes, more than {MAX_ANSWER_BYTES}: not read"
            )
        self._deadline = time.monotonic() + self._read_timeout
        try:
            if status in _NO_BODY:
                body = b""
            elif chunked:
                body = self._read_chunked()
            elif length is not None:
                body = self._read_exactly(length)
            else:
                body = self._read_to_close()
                keep_alive = False
        finally:
            self._deadline = None
        if not keep_alive:
            self.close()
        return status, headers, body

    def _read_head(self) -> tuple[int, list[tuple[bytes, bytes]], bool, int | None, bool]:
        """The status line and headers: status, headers, whether the connection stays open,
        the `Content-Length` (None: not given), whether the body is chunked."""
        end = self._buffer.find(b"\r\n\r\n")
        while end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise httpx.RemoteProtocolError("the answer's headers are too large")
            more = self._recv(first=not self._buffer)
            if not more:
                if not self._buffer:
                    raise _NoAnswer
                raise httpx.RemoteProtocolError("Server disconnected in the answer's headers.")
            self._buffer += more
            end = self._buffer.find(b"\r\n\r\n", max(0, len(self._buffer) - len(more) - 3))
        if end > MAX_HEAD_BYTES:
            raise httpx.RemoteProtocolError("the answer's headers are too large")
        lines = self._buffer[:end].split(b"\r\n")
        self._buffer = self._buffer[end + 4 :]
        version, _, rest = lines[0].partition(b" ")
        code = rest.partition(b" ")[0]
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
            raise httpx.RemoteProtocolError("the answer does not start with an HTTP/1.1 status")
        headers: list[tuple[bytes, bytes]] = []
        keep_alive, length, chunked = version == b"HTTP/1.1", None, False
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise httpx.RemoteProtocolError("the answer has a header line that does not parse")
            value = value.strip()
            headers.append((name, value))
            key = name.lower()
            if key == b"content-length":
                if not value.isdigit() or (length is not None and int(value) != length):
                    raise httpx.RemoteProtocolError("the answer's Content-Length is not valid")
                length = int(value)
            elif key == b"transfer-encoding":
                chunked = value.lower().endswith(b"chunked")
                if not chunked:
                    raise httpx.RemoteProtocolError("the answer's Transfer-Encoding is not chunked")
            elif key == b"connection":
                tokens = {t.strip() for t in value.lower().split(b",")}
                keep_alive = (keep_alive and b"close" not in tokens) or b"keep-alive" in tokens
        if chunked and length is not None:
            # Chunking frames the body; a Content-Length beside it is a sign of a confused
            # intermediary, so the connection is not used again (RFC 9112 6.3).
            length, keep_alive = None, False
        return int(code), headers, keep_alive, length, chunked

    def _read_exactly(self, length: int) -> bytes:
        chunks, have = [self._buffer[:length]], min(len(self._buffer), length)
        self._buffer = self._buffer[length:]
        while have < length:
            more = self._recv()
            if not more:
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body "
                    f"(received {have} bytes, expected {length})"
                )
            wanted = length - have
            chunks.append(more[:wanted])
            self._buffer = more[wanted:]
            have += min(len(more), wanted)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _read_line(self) -> bytes:
        end = self._buffer.find(b"\r\n")
        while end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise httpx.RemoteProtocolError("a chunk's size line is too long")
            more = self._recv()
            if not more:
                raise httpx.RemoteProtocolError("peer closed connection in a chunked body")
            self._buffer += more
            end = self._buffer.find(b"\r\n")
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        return line

    def _read_chunked(self) -> bytes:
        parts, received = [], 0
        while True:
            size_text = self._read_line().partition(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise httpx.RemoteProtocolError("a chunk's size is not hexadecimal") from None
            if size == 0:
                while self._read_line():  # trailers, up to the empty line
                    pass
                return b"".join(parts)
            received += size
            if received > MAX_ANSWER_BYTES:
                raise AnswerTooLarge(
                    f"sent more than {MAX_ANSWER_BYTES} bytes in chunks: not read further"
                )
            parts.append(self._read_exactly(size))
            if self._read_line():
                raise httpx.RemoteProtocolError("a chunk does not end where its size says")

    def _read_to_close(self) -> bytes:
        parts, received = [self._buffer], len(self._buffer)
        self._buffer = b""
        while more := self._recv():
            received += len(more)
            if received > MAX_ANSWER_BYTES:
                raise AnswerTooLarge(f"sent more than {MAX_ANSWER_BYTES} bytes: not read further")
            parts.append(more)
        return b"".join(parts)

    def _recv(self, *, first: bool = False) -> bytes:
        """The next bytes (b"" when the server closed the connection).

        Args:
            first: nothing of the answer has come yet (a reset then means no answer at all).
        """
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise httpx.ReadTimeout("the answer's body took longer than the read timeout")
        try:
            return self._open.recv(_READ_SIZE)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out reading") from exc
        except ssl.SSLZeroReturnError:
            return b""
        except OSError as exc:
            if first:
                raise _NoAnswer from exc
            raise httpx.ReadError(str(exc)) from exc


class _NoAnswer(Exception):
    """The connection broke before any byte of the answer came back."""
