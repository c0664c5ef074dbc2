"""The one retry policy every client follows (`resources.retrying`).

Pins: a result or an error the caller accepts ends the retries at once (an error is raised as it
was); the waits of one request never add up to more than `max_total_wait`; a `Retry-After` longer
than `max_retry_after` ends the retries; the backoff without `Retry-After` grows from attempt to
attempt, and a calm period is the `Retry-After` within the same ceiling.
"""

from __future__ import annotations

import random

import pytest

from resources.errors import RemoteUnavailable
from resources.retrying import RetryPolicy, TryAgain, Waits, retry


class Attempts:
    """Outcomes from a list, one per attempt; an exception in the list is raised instead."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def _judge(outcome: object) -> TryAgain | None:
    """ "busy" and `ConnectionError` are worth another try; anything else is accepted."""
    if outcome == "busy":
        return TryAgain("busy", retry_after=40.0)
    if isinstance(outcome, ConnectionError):
        return TryAgain("lost")
    return None


def _retry(attempts: Attempts, sleeps: list[float], **policy: float) -> object:
    return retry(
        attempts,
        _judge,
        policy=RetryPolicy(**policy),
        service="test",
        what="the request",
        sleep=sleeps.append,
    )


def test_an_accepted_result_ends_the_retries() -> None:
    sleeps: list[float] = []
    attempts = Attempts("busy", ConnectionError("reset"), "done")

    assert _retry(attempts, sleeps, base_delay=1.0) == "done"
    assert sleeps[0] == 40.0
    assert 1.0 <= sleeps[1] <= 2.0  # no Retry-After: the second retry's backoff step, jittered


def test_an_accepted_error_is_raised_as_it_was_and_not_retried() -> None:
    attempts = Attempts(ValueError("refused"), "done")

    with pytest.raises(ValueError, match="refused"):
        _retry(attempts, [])
    assert attempts.calls == 1


def test_the_waits_of_one_request_stay_within_the_total_bound() -> None:
    sleeps: list[float] = []
    attempts = Attempts(*["busy"] * 8)

    with pytest.raises(RemoteUnavailable, match=r"gave up after 3 attempts \(busy, the waits"):
        _retry(attempts, sleeps, max_total_wait=100.0)
    assert sleeps == [40.0, 40.0]


def test_a_retry_after_beyond_the_ceiling_stops_the_waits() -> None:
    waits = Waits(RetryPolicy(max_retry_after=900.0))

    assert waits.next(900.0) == 900.0
    assert waits.next(901.0) is None
    assert waits.stopped == "asked to wait 901 s"


def test_the_backoff_grows_from_retry_to_retry() -> None:
    waits = Waits(RetryPolicy(base_delay=1.0, max_delay=100.0), random.Random(7))

    steps = [waits.next(None) for _ in range(4)]

    assert [lo <= step <= 2 * lo for lo, step in zip([0.5, 1, 2, 4], steps, strict=True)] == [
        True
    ] * 4


@pytest.mark.parametrize(
    ("asked", "calm"),
    [
        pytest.param(None, None, id="not-asked"),
        pytest.param(30.0, 30.0, id="asked"),
        pytest.param(5000.0, 900.0, id="beyond-the-ceiling"),
    ],
)
def test_a_calm_period_is_the_retry_after_within_the_ceiling(
    asked: float | None, calm: float | None
) -> None:
    assert RetryPolicy(max_retry_after=900.0).calm_period(asked) == calm
