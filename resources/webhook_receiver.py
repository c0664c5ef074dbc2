"""The receiver of Huma's profile webhooks: an ASGI app that stores each accepted delivery.

Routes:
- `POST /huma/{connection}`: one delivery for that connection. 202 once it is stored (on disk:
  the store syncs before it returns); 200 for a replay of a delivery already waiting (nothing
  stored, and Huma must not retry it); 401 unsigned, mis-signed or without the configured bearer
  token; 413 over the size limit; 400 malformed (see `resources.webhook_deliveries`); 422 an
  unknown topic; 404 a connection this receiver does not serve; 405 another method; 503 when the
  store cannot write (Huma retries).
- `GET /healthz`: 200 when every served connection's store opens, else 503 (for the load
  balancer).

A slow or hostile sender cannot hold the receiver: a body must arrive whole within
`max_body_seconds` (else 408, the connection closed), and the bodies being read at once may hold
at most `max_buffered_bytes` together (a delivery past that is answered 503 at once, and Huma
retries it), so neither a body trickled a byte at a time nor many large ones at once hold memory
or a worker without bound. The request head has its deadline in the server
(`resources.webhook_connections`).

The request path does no API call and no work but reading the body, checking it and one SQLite
transaction; the run the event starts does the rest (`resources.webhook_events`). Checking and
storing run in a worker thread, so a large export does not hold up the event loop. Logs name the
connection and the reason of a refusal, never the body, the signature or a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from resources.webhook_deliveries import Refused, check_sender, read_delivery
from resources.webhook_events import FULL_RUN_TOPIC, WebhookEventStore

logger = logging.getLogger(__name__)

#: The largest body accepted. A `users-export` names every user: the emulator's export of a
#: 10,000-person company is 3.06 MB, 312 bytes a user (README, "Webhooks"), so 64 MiB admits an
#: organisation of about 200,000 people while a flood of bodies cannot exhaust the memory.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: The longest a body may take to arrive: 64 MiB at about 1 MB/s, far more than Huma needs.
BODY_SECONDS = 120.0
#: How many full-size bodies may be read at once, as the bytes they may hold together.
BODIES_AT_ONCE = 4


@dataclasses.dataclass(frozen=True)
class WebhookEndpoint:
    """What one connection's deliveries are checked with and stored in.

    Args:
        connection: The connection's name (the path's last segment).
        secret: The webhook's client secret (the signature's key).
        token: The webhook's access token, required as a bearer token when set.
        store: Where accepted deliveries go.
    """

    connection: str
    secret: str = dataclasses.field(repr=False)
    token: str | None = dataclasses.field(repr=False)
    store: WebhookEventStore


def build_receiver(
    endpoints: Sequence[WebhookEndpoint],
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_body_seconds: float = BODY_SECONDS,
    max_buffered_bytes: int | None = None,
) -> Starlette:
    """The receiver's ASGI app, serving `endpoints` (one path per connection).

    Args:
        max_body_bytes: the largest body accepted (413 past it).
        max_body_seconds: the longest a body may take to arrive (408 past it).
        max_buffered_bytes: the most the bodies being read at once may hold together (503 past
            it); by default `BODIES_AT_ONCE` full-size bodies.
    """
    by_name = {endpoint.connection: endpoint for endpoint in endpoints}
    buffered = _Budget(max_buffered_bytes or BODIES_AT_ONCE * max_body_bytes)

    async def receive(request: Request) -> Response:
        endpoint = by_name.get(request.path_params["connection"])
        if endpoint is None:
            logger.warning("webhook refused: no connection at this path (HTTP 404)")
            return JSONResponse({"error": "no such connection"}, status_code=404)
        try:
            with buffered.share() as share:
                try:
                    body = await asyncio.wait_for(
                        _body(request, max_body_bytes, share), max_body_seconds
                    )
                except TimeoutError:
                    raise Refused(
                        408, f"the body did not arrive within {max_body_seconds:.0f} s"
                    ) from None
                return await run_in_threadpool(_accept, endpoint, body, request.headers)
        except Refused as refusal:
            logger.warning(
                "webhook refused for connection %s: %s (HTTP %d)",
                endpoint.connection,
                refusal.reason,
                refusal.status,
            )
            # A body left unread (too large, too slow, no room): the connection cannot carry
            # another request.
            headers = {"Connection": "close"} if refusal.status in _UNREAD else None
            return JSONResponse(
                {"error": refusal.reason}, status_code=refusal.status, headers=headers
            )

    async def healthz(request: Request) -> Response:
        problems = await run_in_threadpool(_unhealthy, list(by_name.values()))
        if problems:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/huma/{connection}", receive, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


#: Refusals given before the body was read whole.
_UNREAD = frozenset({408, 413, 503})


class _Budget:
    """The bytes the bodies being read may hold together (used on the event loop only)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    @contextlib.contextmanager
    def share(self) -> Iterator[_Share]:
        """One request's share, given back when the request ends."""
        share = _Share(self)
        try:
            yield share
        finally:
            self.held -= share.size


class _Share:
    def __init__(self, budget: _Budget) -> None:
        self._budget = budget
        self.size = 0

    def take(self, size: int) -> None:
        """Count `size` more bytes, or `Refused` (503) when the budget has no room for them."""
        if self._budget.held + size > self._budget.limit:
            raise Refused(503, "too many deliveries arriving at once; retry later")
        self._budget.held += size
        self.size += size


async def _body(request: Request, limit: int, share: _Share) -> bytes:
    """The raw body, refused (413) as soon as it is known to exceed `limit` bytes, or (503) when
    the bodies being read at once would hold more than their budget."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"the body is over {limit} bytes")
        share.take(len(chunk))
        chunks.append(chunk)
    return b"".join(chunks)


def _accept(endpoint: WebhookEndpoint, body: bytes, headers: Mapping[str, str]) -> Response:
    """Check and store one delivery (in a worker thread)."""
    check_sender(body, headers, secret=endpoint.secret, token=endpoint.token)
    delivery = read_delivery(body, headers)
    # An export asks for a full run, which reads everybody: its users are checked, not kept (a
    # large company's export would put every email in the store for nothing).
    users = () if delivery.topic == FULL_RUN_TOPIC else delivery.users
    try:
        stored = endpoint.store.add(digest=delivery.digest, topic=delivery.topic, users=users)
    except (sqlite3.Error, OSError) as exc:
        logger.error(
            "webhook for connection %s not stored, Huma will retry: %s: %s",
            endpoint.connection,
            type(exc).__name__,
            exc,
        )
        return JSONResponse({"error": "not stored; retry later"}, status_code=503)
    if not stored:
        logger.info(
            "webhook replay for connection %s dropped (%s): already waiting",
            endpoint.connection,
            delivery.topic,
        )
        return JSONResponse({"status": "duplicate"}, status_code=200)
    logger.info(
        "webhook stored for connection %s: %s, %d user(s)",
        endpoint.connection,
        delivery.topic,
        len(delivery.users),
    )
    return JSONResponse({"status": "accepted"}, status_code=202)


def _unhealthy(endpoints: Sequence[WebhookEndpoint]) -> list[str]:
    """The connections whose store does not open."""
    problems = []
    for endpoint in endpoints:
        try:
            endpoint.store.waiting()
        except (sqlite3.Error, OSError) as exc:
            logger.error(
                "the webhook store of connection %s does not open: %s: %s",
                endpoint.connection,
                type(exc).__name__,
                exc,
            )
            problems.append(endpoint.connection)
    return problems
