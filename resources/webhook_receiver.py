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

The request path does no API call and no work but reading the body, checking it and one SQLite
transaction; the run the event starts does the rest (`resources.webhook_events`). Checking and
storing run in a worker thread, so a large export does not hold up the event loop. Logs name the
connection and the reason of a refusal, never the body, the signature or a secret.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Mapping, Sequence

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
    endpoints: Sequence[WebhookEndpoint], *, max_body_bytes: int = MAX_BODY_BYTES
) -> Starlette:
    """The receiver's ASGI app, serving `endpoints` (one path per connection)."""
    by_name = {endpoint.connection: endpoint for endpoint in endpoints}

    async def receive(request: Request) -> Response:
        endpoint = by_name.get(request.path_params["connection"])
        if endpoint is None:
            logger.warning("webhook refused: no connection at this path (HTTP 404)")
            return JSONResponse({"error": "no such connection"}, status_code=404)
        try:
            body = await _body(request, max_body_bytes)
            return await run_in_threadpool(_accept, endpoint, body, request.headers)
        except Refused as refusal:
            logger.warning(
                "webhook refused for connection %s: %s (HTTP %d)",
                endpoint.connection,
                refusal.reason,
                refusal.status,
            )
            # An oversized body is left unread: the connection cannot carry another request.
            headers = {"Connection": "close"} if refusal.status == 413 else None
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


async def _body(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"the body is over {limit} bytes")
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
