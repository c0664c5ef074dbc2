"""One retry policy for every outside system: how often to try again, how long to wait, when
to stop.

A caller says what one attempt is and how to judge what it came to: done (a result to return or
an error to raise) or `TryAgain`. The policy decides the rest, the same way for Graph, Huma and
the mail relay:

- the wait is what the service asked for in `Retry-After` (delay-seconds or an HTTP date), and
  only without one an exponential backoff with jitter (Graph's throttling guidance: honour
  `Retry-After`, back off exponentially when it is absent);
- the retries end after `max_attempts`, when the service asks for a longer wait than
  `max_retry_after`, or when the waits would add up to more than `max_total_wait`.

What is worth repeating is the caller's to judge (`RETRY_STATUSES` for any request,
`RETRY_STATUSES_FOR_READS` for reads): a write whose answer was lost, or whose outcome a gateway
could not tell (`OUTCOME_UNKNOWN_STATUSES`), is never resent blindly.
"""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

from resources.errors import RemoteUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Answers that mean "not now": safe to repeat for any request, the service did not act on it.
RETRY_STATUSES = frozenset({429, 503})
#: A gateway that stopped waiting for the service (504): the service may have carried the request
#: out. A read is simply repeated; a write's outcome is unknown, settled by re-reading the target.
OUTCOME_UNKNOWN_STATUSES = frozenset({504})
#: Answers that also are worth repeating for reads (a read has no effect to duplicate).
RETRY_STATUSES_FOR_READS = RETRY_STATUSES | OUTCOME_UNKNOWN_STATUSES | {500, 502}


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying.

    Attributes:
        max_attempts: attempts per request, the first included.
        base_delay: first backoff step when the service gives no `Retry-After`, in seconds.
        max_delay: the longest backoff step without `Retry-After`.
        max_retry_after: the longest `Retry-After` honoured; a longer one ends the retries
            (Graph has been seen asking for up to 315 s, so this is not set low).
        max_total_wait: the most time all the waits of one request may add up to (by default
            more than the other defaults allow, 7 waits of 900 s: it binds policies with more
            attempts, and never cuts a default one short of its attempts).
    """

    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 900.0
    max_total_wait: float = 7200.0

    def calm_period(self, asked: float | None) -> float | None:
        """How long a service that asked for `asked` seconds is left alone (None: not asked)."""
        return None if asked is None else min(asked, self.max_retry_after)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a `Retry-After` header asks for (delay-seconds or an HTTP date), or None."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # the `-0000` zone: a time in UTC (RFC 5322 §3.3)
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff_seconds(attempt: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter for retry number `attempt` (0-based): a random wait
    between half the step and the step, so clients that failed together do not return together."""
    ceiling = min(policy.max_delay, policy.base_delay * (2**attempt))
    return (rng or random).uniform(ceiling / 2, ceiling)


class Waits:
    """The waits of one request (or of one batch's rounds) under a policy, counted."""

    def __init__(self, policy: RetryPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng
        self.retries = 0
        self.waited = 0.0
        #: Why the policy said stop, once it did.
        self.stopped = ""

    def next(self, asked: float | None) -> float | None:
        """The wait before the next retry: `asked` (the service's `Retry-After`) when given,
        else the backoff; None when the policy says to stop (`stopped` then says why)."""
        policy = self.policy
        if asked is not None and asked > policy.max_retry_after:
            self.stopped = f"asked to wait {asked:.0f} s"
            return None
        delay = asked if asked is not None else backoff_seconds(self.retries, policy, self._rng)
        if self.waited + delay > policy.max_total_wait:
            self.stopped = f"the waits would pass {policy.max_total_wait:.0f} s"
            return None
        self.retries += 1
        self.waited += delay
        return delay


@dataclasses.dataclass(frozen=True)
class TryAgain:
    """An attempt's verdict: not done, worth another attempt.

    Attributes:
        problem: what went wrong, for logs and the final error (no secrets).
        retry_after: the wait the service asked for, when it said.
    """

    problem: str
    retry_after: float | None = None


def retry(
    attempt: Callable[[], T],
    judge: Callable[[T | Exception], TryAgain | None],
    *,
    policy: RetryPolicy,
    service: str,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Callable[[T | Exception, float], None] | None = None,
) -> T:
    """Call `attempt` until `judge` accepts what it came to, within `policy`.

    Args:
        attempt: one try; returns a result or raises.
        judge: given the result or the exception raised, `TryAgain`, or None to accept it (the
            result is returned, the exception raised as it is).
        service: the service's name, for errors and logs.
        what: a short description of the request for logs ("GET /users page 3"), no secrets.
        on_wait: called with an outcome that will be retried and the wait before the retry.

    Raises:
        RemoteUnavailable: the policy ended the retries before `judge` accepted an outcome.
    """
    waits = Waits(policy)
    problem = ""
    attempts = 0
    while attempts < policy.max_attempts:
        attempts += 1
        outcome: T | Exception
        try:
            outcome = attempt()
        except Exception as exc:
            outcome = exc
        verdict = judge(outcome)
        if verdict is None:
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        problem = verdict.problem
        delay = waits.next(verdict.retry_after)
        if delay is None:
            problem += f", {waits.stopped}"
            break
        if on_wait is not None:
            on_wait(outcome, delay)
        if attempts < policy.max_attempts:
            logger.info("%s %s: %s; retrying in %.1f s", service, what, problem, delay)
            sleep(delay)
    raise RemoteUnavailable(service, f"{what} gave up after {attempts} attempts ({problem})")
