"""What one answer may cost us: at most `MAX_ANSWER_BYTES` once decoded, and no longer than the
read timeout as a whole.

A hostile or broken service can otherwise take a run's memory (a body without end, or a
decompression bomb: a few hundred KB of gzip that inflate to gigabytes) or its time (a
slow-loris: a body trickled just fast enough that no single read times out). So the only content
coding asked for is gzip, inflated here within the limit; an answer in another coding is refused
unread; a body that grows past the limit is not read further (`UntrustedAnswer`, naming the
request); and one still arriving when the read timeout has passed since its head is a
`httpx.ReadTimeout`, which reads retry like any other.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable, Iterator

import httpx

from resources.errors import UntrustedAnswer

#: The largest answer read (after decoding). Huma's and Graph's answers are pages of at most a
#: thousand users, a few MB at most: a larger one is hostile or broken, and is not read on.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
#: The `Accept-Encoding` of every request: the one coding `bounded` inflates.
ACCEPT_ENCODING = "gzip"


def gzipped(
    headers: httpx.Headers,
    refused: Callable[[str], Exception],
    *,
    codings: tuple[str, ...] = ("identity", ACCEPT_ENCODING),
) -> bool:
    """Whether an answer's body is gzip, judged from its head.

    Raises:
        (from `refused`) the answer is in another coding than `codings`, or announces more than
        `MAX_ANSWER_BYTES`: its body is not to be read.
    """
    coding = headers.get("content-encoding", "identity").strip().lower()
    if coding not in codings:
        raise refused(f"answered in the {coding!r} coding, which it was not asked for: not read")
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise refused(f"announced {declared} bytes, more than {MAX_ANSWER_BYTES}: not read")
    return coding == "gzip"


def bounded(
    chunks: Iterable[bytes],
    *,
    gzip: bool,
    seconds: float,
    what: str,
    refused: Callable[[str], Exception],
) -> Iterator[bytes]:
    """`chunks` of a body (inflated when `gzip`), within `MAX_ANSWER_BYTES` and `seconds`.

    Args:
        what: the request, for the timeout's message ("GET /users").
        refused: the error for a body that is too large or does not inflate, given the problem.

    Raises:
        httpx.ReadTimeout: the body was still arriving `seconds` after this began.
    """
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
    deadline = time.monotonic() + seconds
    size = 0
    for raw in chunks:
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout(f"{what}: the answer took longer than {seconds} s")
        try:
            # At most one byte more than the limit allows, so a bomb never inflates further.
            chunk = raw if inflate is None else inflate.decompress(raw, MAX_ANSWER_BYTES - size + 1)
        except zlib.error:
            raise refused("answered gzip that does not inflate: not read") from None
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise refused(f"answered more than {MAX_ANSWER_BYTES} bytes: not read further")
        yield chunk


class _BoundedStream(httpx.SyncByteStream):
    def __init__(self, raw: httpx.SyncByteStream, chunks: Iterator[bytes]) -> None:
        self._raw = raw
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        self._raw.close()


def bound_answers(seconds: float) -> Callable[[httpx.Response], None]:
    """A response hook for an `httpx.Client` that sends `Accept-Encoding: gzip`: the body is read
    (and inflated) by `bounded`, within `seconds`; an answer in another coding, or announcing more
    than `MAX_ANSWER_BYTES`, is refused before its body is read.

    Raises:
        UntrustedAnswer: (from the hook) as above.
    """

    def hook(response: httpx.Response) -> None:
        request = response.request
        what = f"{request.method} {request.url.path}"

        def refused(problem: str) -> UntrustedAnswer:
            return UntrustedAnswer(
                request.url.host, f"{what} {problem}", status=response.status_code
            )

        gzip = gzipped(response.headers, refused)
        # Inflated here, within the limit: httpx must not inflate it again (without one).
        response.headers.pop("content-encoding", None)
        chunks = bounded(response.stream, gzip=gzip, seconds=seconds, what=what, refused=refused)
        response.stream = _BoundedStream(response.stream, chunks)  # type: ignore[arg-type]

    return hook
