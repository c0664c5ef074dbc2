"""Whatever a service says in `Retry-After`, the client's waits stay bounded and it never crashes.

Pins, through `HumaClient` (reads and a write) with a fake outside world at the transport: a
`Retry-After` that is negative, not a number, infinite, astronomically large, an HTTP date in the
past, the far future or in the `-0000` zone either leads to a wait between 0 and the policy's
`max_retry_after` and then the answer, or ends the retries with `RemoteUnavailable` saying how
long the service asked to wait; no other error escapes and no wait is unbounded.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from resources.errors import RemoteUnavailable
from resources.huma_client import HumaClient
from resources.retrying import RetryPolicy

POLICY = RetryPolicy(max_attempts=3, max_retry_after=60)
USER_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def _date(delta: timedelta, zone: str = "GMT") -> str:
    when = email.utils.format_datetime(datetime.now(UTC) + delta, usegmt=True)
    return when.replace("GMT", zone)


#: (Retry-After, whether the service asks for longer than the policy waits).
ABSURD = [
    pytest.param("-30", False, id="negative"),
    pytest.param("nan", False, id="nan"),
    pytest.param("inf", True, id="infinite"),
    pytest.param("1e400", True, id="overflowing"),
    pytest.param("soon", False, id="words"),
    pytest.param(_date(timedelta(days=-400)), False, id="date-in-the-past"),
    pytest.param(_date(timedelta(days=-1), "-0000"), False, id="date-in-the-past-zone-minus-zero"),
    pytest.param(_date(timedelta(seconds=20), "-0000"), False, id="date-soon-zone-minus-zero"),
    pytest.param("Fri, 31 Dec 9999 23:59:59 +1400", True, id="date-far-in-the-future"),
    pytest.param("Mon, 01 Jan 99999 00:00:00 GMT", False, id="date-beyond-the-calendar"),
]


def _client(retry_after: str, sleeps: list[float]) -> HumaClient:
    """A Huma that throttles the first API request with `retry_after`, then answers."""
    throttled: list[bool] = []

    def world(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        if not throttled:
            throttled.append(True)
            return httpx.Response(429, headers={"Retry-After": retry_after})
        if request.method == "POST":
            return httpx.Response(201, json={"id": USER_ID})
        return httpx.Response(200, json={"total": 0, "items": []})

    return HumaClient(
        base_url="https://huma.test",
        client_id="c",
        client_secret="s",
        retry=POLICY,
        sleep=sleeps.append,
        transport=httpx.MockTransport(world),
    )


def _bounded(sleeps: list[float]) -> bool:
    return all(math.isfinite(s) and 0 <= s <= POLICY.max_retry_after for s in sleeps)


#: A read and a write, each true when it got the answer the world gives after the throttle.
REQUESTS = [
    pytest.param(lambda client: client.scan_users().complete, id="read"),
    pytest.param(
        lambda client: client.create_user({"email": "ada@example.com"}) == {"id": USER_ID},
        id="write",
    ),
]


@pytest.mark.parametrize("send", REQUESTS)
@pytest.mark.parametrize(("retry_after", "too_long"), ABSURD)
def test_a_request_waits_within_bounds_or_gives_up_clearly(
    send: Callable[[HumaClient], bool], retry_after: str, too_long: bool
) -> None:
    sleeps: list[float] = []
    with _client(retry_after, sleeps) as client:
        if too_long:
            with pytest.raises(RemoteUnavailable, match="asked to wait"):
                send(client)
        else:
            assert send(client)

    assert _bounded(sleeps)
    assert len(sleeps) == (0 if too_long else 1)
