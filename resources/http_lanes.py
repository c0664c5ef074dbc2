"""Reads at the I/O floor: GETs on keep-alive connections of their own, on a lean HTTP/1.1 wire.

A snapshot sends thousands of small GETs, and the client's CPU per request sets its pace (the
interpreter runs one thread at a time). `httpx.Client` spends about as much CPU per request on
its own layers (URL merging, auth flow, hooks, models) as the connection does, and its engine
(httpcore with h11) a good part of the rest. `Lanes` keeps one connection per request under way
(a lane is taken from a stack and put back, O(1)) and sends on `resources.http_wire`: prepared
request bytes on a verified TLS socket, the answer parsed with a few bytes operations.

The rules of `resources.http` hold unchanged: TLS is verified with `tls_context()` (so
`SSL_CERT_FILE`, and the host name), only the configured `https` origin is ever contacted (a
request names a path, never a URL), a redirect stops the request with `UntrustedAnswer`, and
connection failures are raised as the `httpx.TransportError` kinds retries know. Answers
are read within `resources.answer_limits` (size and time); they are asked for unencoded, and one
encoded anyway (it could be a decompression bomb) is refused.

With an injected `httpx.BaseTransport` (the tests' `httpx.MockTransport`) each lane sends through
it instead of its own connection; everything above the lane is the same code.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import httpx

from resources.answer_limits import gzipped
from resources.errors import UntrustedAnswer
from resources.http import USER_AGENT, refuse_redirect, require_https, tls_context
from resources.http_wire import AnswerTooLarge, Connection

#: Bytes no request line or header may carry (controls and, in a target, the space): what
#: would let a value end the line it is in and start another.
_NOT_IN_TARGET = re.compile(rb"[\x00-\x20\x7f]")
_NOT_IN_HEADER = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class Lanes:
    """GETs to one `https` origin, each on a keep-alive connection no other request is using.

    Thread-safe: lanes are made on demand, so there are as many as requests were ever under
    way at once (bound that number with a `ConcurrencyGate`).
    """

    def __init__(
        self,
        *,
        base_url: str,
        timeout_seconds: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """
        Args:
            base_url: the service's `https` origin (a path prefix is kept).
            timeout_seconds: the read and write timeout; connecting gets at most 10 s.
            transport: send through this instead (fakes); None: connections of its own.

        Raises:
            InsecureUrl: `base_url` is not `https`.
        """
        require_https(base_url, "the base URL")
        self._base = httpx.URL(base_url.rstrip("/"))
        self._prefix = self._base.raw_path.rstrip(b"/")
        self._transport = transport
        self._tls = tls_context() if transport is None else None
        self._connect_timeout = min(timeout_seconds, 10.0)
        self._read_timeout = timeout_seconds
        self._timeouts = {
            "connect": self._connect_timeout,
            "read": timeout_seconds,
            "write": timeout_seconds,
            "pool": timeout_seconds,
        }
        self._headers = [
            (b"Host", self._base.netloc),
            (b"Accept", b"application/json"),
            (b"Accept-Encoding", b"identity"),
            (b"User-Agent", USER_AGENT.encode()),
        ]
        self._head_lines = b"".join(b"%s: %s\r\n" % header for header in self._headers)
        self._free: list[Connection] = []
        self._all: list[Connection] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> httpx.URL:
        return self._base

    @property
    def lanes(self) -> int:
        """Lanes made so far (the most requests that were under way at once)."""
        return len(self._all)

    def get(self, target: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> httpx.Response:
        """`GET target` (a path with its query, on the configured origin), read whole.

        Raises:
            ValueError: `target` is not a path, or a header would not stay on its line.
            UntrustedAnswer: the answer is a redirect (nothing is sent to its target), encoded,
                or too large (`resources.answer_limits`).
            httpx.TransportError: the connection failed (its httpx kind), the answer is not
                whole (`RemoteProtocolError`), or its body took longer than the read timeout as
                a whole (`ReadTimeout`).
        """
        raw_target = self._prefix + target.encode("ascii")
        if not target.startswith("/") or _NOT_IN_TARGET.search(raw_target):
            raise ValueError(f"not a path to request: {target!r}")
        if self._transport is not None:
            response = self._transport.handle_request(
                self._request(raw_target, [*self._headers, *headers])
            )
            response.read()
        else:
            response = self._via_lane(raw_target, headers)
        if response.is_redirect or response.is_error:  # errors redact what the request carried
            response.request = self._request(raw_target, [*self._headers, *headers])
            refuse_redirect(response)
        return response

    def close(self) -> None:
        with self._lock:
            lanes, self._all, self._free = self._all, [], []
        for lane in lanes:
            lane.close()

    def _via_lane(
        self, raw_target: bytes, headers: Sequence[tuple[bytes, bytes]]
    ) -> httpx.Response:
        for name, value in headers:
            if _NOT_IN_TARGET.search(name) or b":" in name or _NOT_IN_HEADER.search(value):
                raise ValueError("a header would not stay on its line")
        extra = b"".join(b"%s: %s\r\n" % header for header in headers)
        head = b"GET %s HTTP/1.1\r\n%s%s\r\n" % (raw_target, self._head_lines, extra)
        with self._lock:
            lane = self._free.pop() if self._free else None
        if lane is None:
            lane = Connection(
                host=self._base.host,
                port=self._base.port or 443,
                tls=self._tls,
                connect_timeout=self._connect_timeout,
                read_timeout=self._read_timeout,
            )
            with self._lock:
                self._all.append(lane)
        try:
            status, answer_headers, body = lane.request(head)
        except AnswerTooLarge as exc:
            raise self._refused(raw_target, str(exc)) from None
        finally:
            with self._lock:
                self._free.append(lane)
        response = httpx.Response(status, headers=answer_headers, content=body)
        gzipped(
            response.headers,
            lambda problem: self._refused(raw_target, problem),
            codings=("identity",),
        )
        return response

    def _refused(self, raw_target: bytes, problem: str) -> UntrustedAnswer:
        what = f"GET {raw_target.decode('ascii').partition('?')[0]}"  # a query may hold an email
        return UntrustedAnswer(self._base.host, f"{what} {problem}")

    def _request(self, raw_target: bytes, headers: Sequence[tuple[bytes, bytes]]) -> httpx.Request:
        url = self._base.copy_with(raw_path=raw_target)
        return httpx.Request("GET", url, headers=headers, extensions={"timeout": self._timeouts})
