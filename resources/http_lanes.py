"""Reads at the I/O floor: GETs on keep-alive connections of their own, through httpcore.

A snapshot sends thousands of small GETs. `httpx.Client` spends about as much CPU per request on
its own layers (URL merging, auth flow, hooks, models) as the connection does, and its pool looks
over every connection for every request; with 16 threads that scan dominates. `Lanes` keeps one
connection per request under way (a lane is taken from a stack and put back, O(1)) and sends on
httpx's own engine, httpcore, directly.

The rules of `resources.http` hold unchanged: TLS is verified with `tls_context()` (so
`SSL_CERT_FILE`), only the configured `https` origin is ever contacted (a request names a path,
never a URL), a redirect stops the request with `UntrustedAnswer`, and connection failures are
raised as the `httpx.TransportError` of the same name, so retries treat them as before. Answers
are read within `resources.answer_limits` (size and time); they are asked for unencoded, and one
compressed anyway (it could be a decompression bomb) is refused unread.

With an injected `httpx.BaseTransport` (the tests' `httpx.MockTransport`) each lane sends through
it instead of its own connection; everything above the lane is the same code.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import httpcore
import httpx

from resources.answer_limits import bounded, gzipped
from resources.errors import UntrustedAnswer
from resources.http import USER_AGENT, refuse_redirect, require_https, tls_context

#: httpcore's errors -> httpx's of the same meaning (httpx names them the same way).
_TRANSPORT_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ProtocolError: httpx.ProtocolError,
}


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
            timeout_seconds: read, write and pool timeout; connecting gets at most 10 s.
            transport: send through this instead (fakes); None: httpcore connections.

        Raises:
            InsecureUrl: `base_url` is not `https`.
        """
        require_https(base_url, "the base URL")
        self._base = httpx.URL(base_url.rstrip("/"))
        self._prefix = self._base.raw_path.rstrip(b"/")
        self._transport = transport
        self._tls = tls_context() if transport is None else None
        connect = min(timeout_seconds, 10.0)
        self._timeouts = {
            "connect": connect,
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
        self._free: list[httpcore.ConnectionPool] = []
        self._all: list[httpcore.ConnectionPool] = []
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
            UntrustedAnswer: the answer is a redirect (nothing is sent to its target), encoded,
                or too large (`resources.answer_limits`).
            httpx.TransportError: the connection failed, or the body took longer than the read
                timeout as a whole (its httpx kind, e.g. `ReadTimeout`).
        """
        raw_target = self._prefix + target.encode("ascii")
        all_headers = [*self._headers, *headers]
        if self._transport is not None:
            response = self._transport.handle_request(self._request(raw_target, all_headers))
            response.read()
        else:
            response = self._via_lane(raw_target, all_headers)
        if response.is_redirect or response.is_error:  # errors redact what the request carried
            response.request = self._request(raw_target, all_headers)
            refuse_redirect(response)
        return response

    def close(self) -> None:
        with self._lock:
            lanes, self._all, self._free = self._all, [], []
        for lane in lanes:
            lane.close()

    def _via_lane(self, raw_target: bytes, headers: list[tuple[bytes, bytes]]) -> httpx.Response:
        with self._lock:
            lane = self._free.pop() if self._free else None
        if lane is None:
            lane = httpcore.ConnectionPool(
                ssl_context=self._tls, max_connections=1, max_keepalive_connections=1
            )
            with self._lock:
                self._all.append(lane)
        url = httpcore.URL(
            scheme=b"https", host=self._base.raw_host, port=self._base.port, target=raw_target
        )
        try:
            with lane.stream(
                b"GET", url, headers=headers, extensions={"timeout": self._timeouts}
            ) as answer:
                content = self._body(answer, raw_target)
        except tuple(_TRANSPORT_ERRORS) as exc:
            raise _httpx_error(exc) from exc
        finally:
            with self._lock:
                self._free.append(lane)
        return httpx.Response(answer.status, headers=answer.headers, content=content)

    def _body(self, answer: httpcore.Response, raw_target: bytes) -> bytes:
        """The body, unencoded, read within `resources.answer_limits`.

        Raises:
            UntrustedAnswer: the body is encoded (compressed) or too large; it is not read.
            httpx.ReadTimeout: the body took longer than the read timeout.
        """
        what = f"GET {raw_target.decode('ascii').partition('?')[0]}"  # a query may hold an email

        def refused(problem: str) -> UntrustedAnswer:
            return UntrustedAnswer(self._base.host, f"{what} {problem}", status=answer.status)

        gzipped(httpx.Headers(answer.headers), refused, codings=("identity",))
        chunks = bounded(
            answer.iter_stream(),
            gzip=False,
            seconds=self._timeouts["read"],
            what=what,
            refused=refused,
        )
        return b"".join(chunks)

    def _request(self, raw_target: bytes, headers: list[tuple[bytes, bytes]]) -> httpx.Request:
        url = self._base.copy_with(raw_path=raw_target)
        return httpx.Request("GET", url, headers=headers, extensions={"timeout": self._timeouts})


def _httpx_error(exc: Exception) -> httpx.TransportError:
    for core, kind in _TRANSPORT_ERRORS.items():
        if isinstance(exc, core):
            return kind(str(exc))
    return httpx.TransportError(str(exc))
