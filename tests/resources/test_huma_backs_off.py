"""The Huma client's concurrency against the Huma emulator: it backs off and climbs back.

Pins: under injected 429s (with latency, so requests overlap) a snapshot completes while the
limit comes down and fewer requests are under way after each decrease; answers that time out
bring it down too; with the faults gone the next snapshot climbs back to the connection's
maximum. The client's clock is given, so the calm period a `Retry-After` asks for ends when the
test says, not when the machine gets there.
"""

from __future__ import annotations

from resources.huma_client import HumaClient
from resources.retrying import RetryPolicy
from tests.resources.conftest import Outside, huma_credentials

MAXIMUM = 8


def _limits_and_peaks(client: HumaClient) -> list[tuple[int, int]]:
    return [(limit, peak) for _, limit, peak in client.concurrency.changes]


def test_429s_bring_the_concurrency_down_and_healthy_answers_bring_it_back(
    outside: Outside,
) -> None:
    users = len(outside.world.huma["users"])
    now = [0.0]
    outside.huma_settings(
        throttle_rate=0.3, throttle_retry_after=1, slow_rate=1.0, slow_seconds=0.01, seed=3
    )
    with HumaClient(
        **huma_credentials(outside),
        max_concurrency=MAXIMUM,
        retry=RetryPolicy(max_attempts=30),
        sleep=lambda _: None,
        clock=lambda: now[0],
    ) as client:
        throttled = client.scan_users()
        backing_off = _limits_and_peaks(client)

        outside.huma_settings(throttle_rate=0, slow_rate=0)
        now[0] = 60.0  # past every Retry-After
        client.concurrency.changes.clear()
        healthy = client.scan_users()
        climbing = _limits_and_peaks(client)

    assert throttled.complete
    assert healthy.complete
    assert len(throttled.details) == len(healthy.details) == users
    assert backing_off, "429s left the limit where it was"
    limits = [limit for limit, _ in backing_off]
    assert limits == sorted(limits, reverse=True)  # no climbing within a Retry-After
    assert limits[-1] < MAXIMUM
    in_force = [MAXIMUM, *limits]
    for (_, peak), limit in zip(backing_off, in_force, strict=False):
        assert peak <= limit  # never more under way than the limit of the moment
    assert [limit for limit, _ in climbing] == list(range(limits[-1] + 1, MAXIMUM + 1))
    assert client.concurrency.limit == MAXIMUM
    faults = [e["fault"] for e in outside.huma.requests() if e["fault"]]
    assert "throttle" in faults


def test_timeouts_bring_the_concurrency_down(outside: Outside) -> None:
    outside.huma_settings(slow_rate=0.1, slow_seconds=3.0, seed=4)
    with HumaClient(
        **huma_credentials(outside),
        max_concurrency=MAXIMUM,
        timeout_seconds=0.5,
        retry=RetryPolicy(max_attempts=30),
        sleep=lambda _: None,
    ) as client:
        scan = client.scan_users()

    assert scan.complete
    assert client.concurrency.changes
    assert min(limit for _, limit, _ in client.concurrency.changes) < MAXIMUM
