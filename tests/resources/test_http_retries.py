"""Retries honour the service and never repeat a write blindly.

Pins: 429/503 are retried after `Retry-After` (seconds or an HTTP date), with jittered
exponential backoff when it is absent; other 4xx are returned at once; reads also retry 500, 502,
504 and broken connections, writes do not (their outcome is unknown, so the caller decides: a
write answered 504 raises like a lost answer); a
`Retry-After` beyond the policy's ceiling ends the retries; giving up raises `RemoteUnavailable`.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from resources.errors import RemoteUnavailable
from resources.http import send_with_retries
from resources.retrying import RetryPolicy, backoff_seconds, retry_after_seconds


class Script:
    """Answers from a list, one per call; an exception in the list is raised instead."""

    def __init__(self, *answers: int | tuple[int, dict] | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> httpx.Response:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return httpx.Response(status, headers=headers)


def _send(script: Script, *, idempotent: bool, sleeps: list[float], **policy: float) -> int:
    response = send_with_retries(
        script,
        service="test",
        what="GET /x",
        policy=RetryPolicy(**policy),
        idempotent=idempotent,
        sleep=sleeps.append,
    )
    return response.status_code


def test_a_throttled_request_waits_what_the_service_asked() -> None:
    sleeps: list[float] = []
    script = Script((429, {"Retry-After": "7"}), (503, {"Retry-After": "2"}), 200)

    assert _send(script, idempotent=False, sleeps=sleeps) == 200
    assert sleeps == [7.0, 2.0]


def test_without_retry_after_the_backoff_grows_with_jitter() -> None:
    sleeps: list[float] = []
    script = Script(504, 504, 504, 200)

    assert _send(script, idempotent=True, sleeps=sleeps, base_delay=1.0, max_delay=100) == 200
    assert [0.5 <= sleeps[0] <= 1.0, 1.0 <= sleeps[1] <= 2.0, 2.0 <= sleeps[2] <= 4.0] == [True] * 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_a_client_error_is_returned_at_once(status: int) -> None:
    sleeps: list[float] = []
    script = Script(status, 200)

    assert _send(script, idempotent=True, sleeps=sleeps) == status
    assert script.calls == 1


@pytest.mark.parametrize(
    ("idempotent", "expected_calls"),
    [
        pytest.param(True, 2, id="a-read-retries-a-500"),
        pytest.param(False, 1, id="a-write-does-not"),
    ],
)
def test_500_is_retried_only_for_reads(idempotent: bool, expected_calls: int) -> None:
    script = Script(500, 200)

    _send(script, idempotent=idempotent, sleeps=[])

    assert script.calls == expected_calls


def test_a_read_retries_a_broken_connection() -> None:
    script = Script(httpx.RemoteProtocolError("peer closed"), 200)

    assert _send(script, idempotent=True, sleeps=[]) == 200


def test_a_write_that_lost_its_answer_is_not_resent() -> None:
    script = Script(httpx.RemoteProtocolError("peer closed"), 200)

    with pytest.raises(httpx.RemoteProtocolError):
        _send(script, idempotent=False, sleeps=[])
    assert script.calls == 1


def test_giving_up_raises_remote_unavailable() -> None:
    script = Script(*([(429, {"Retry-After": "1"})] * 3))

    with pytest.raises(RemoteUnavailable, match="gave up after 3 attempts"):
        _send(script, idempotent=True, sleeps=[], max_attempts=3)


def test_a_retry_after_beyond_the_ceiling_ends_the_retries() -> None:
    script = Script((429, {"Retry-After": "3600"}), 200)

    with pytest.raises(RemoteUnavailable, match="asked to wait 3600 s"):
        _send(script, idempotent=True, sleeps=[], max_retry_after=900)
    assert script.calls == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("10", 10.0, id="seconds"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param("soon", None, id="garbage"),
    ],
)
def test_retry_after_values(value: str, expected: float | None) -> None:
    assert retry_after_seconds({"retry-after": value}) == expected


def test_retry_after_as_an_http_date() -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)

    assert 25 <= retry_after_seconds({"Retry-After": when}) <= 30


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=5)

    assert all(2.5 <= backoff_seconds(20, policy) <= 5 for _ in range(100))


def test_a_write_answered_504_is_not_resent_its_outcome_is_unknown() -> None:
    script = Script(504, 200)

    with pytest.raises(httpx.TransportError, match="504"):
        _send(script, idempotent=False, sleeps=[])
    assert script.calls == 1


def test_a_read_answered_504_is_retried() -> None:
    script = Script(504, 200)

    assert _send(script, idempotent=True, sleeps=[]) == 200
    assert script.calls == 2
