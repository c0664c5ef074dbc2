"""How many requests to one service may be under way at once, adapted to how it answers.

`AdaptiveLimit` is the rule (AIMD, pure: no threads, no clock of its own). While answers are
healthy the limit climbs by one per limit's worth of answers (additive increase); an overload (an
answer the retry policy would retry, `resources.retrying.RETRY_STATUSES_FOR_READS`, or a timeout)
halves it (multiplicative decrease), once per round: the overload answers of requests
sent before the last decrease say nothing new, so a burst of 429s halves the limit once, not
to the floor. A `Retry-After` is a calm period in which the limit does not climb back (bounded
the way the retry policy bounds it: `RetryPolicy.calm_period`).

`ConcurrencyGate` applies a limit to threads: each request takes a slot, waiting while as many
are under way as the limit allows, and reports how it went.
"""

from __future__ import annotations

import collections
import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator

#: Limit changes a gate remembers (for logs and benchmarks; older ones are dropped).
_CHANGES_KEPT = 10_000


class AdaptiveLimit:
    """An AIMD concurrency limit between `minimum` and `maximum` (see the module docstring).

    Args:
        maximum: the most requests under way at once, ever (the connection's setting).
        minimum: the fewest the limit goes down to (at least 1).
        initial: the limit to start from; default `maximum` (a healthy service is used fully
            from the first request, and the limit comes down only when it says so).
        decrease: the factor applied to the limit on overload, in (0, 1).
    """

    def __init__(
        self, maximum: int, *, minimum: int = 1, initial: int | None = None, decrease: float = 0.5
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError(f"need 1 <= minimum <= maximum, not {minimum} and {maximum}")
        if not 0 < decrease < 1:
            raise ValueError(f"decrease must be between 0 and 1, not {decrease}")
        start = maximum if initial is None else initial
        if not minimum <= start <= maximum:
            raise ValueError(f"initial {start} is outside {minimum}..{maximum}")
        self.maximum = maximum
        self.minimum = minimum
        self._decrease = decrease
        self._limit = start
        #: Healthy answers since the limit last changed.
        self._answers = 0
        self._round = 0
        self._calm_until = -math.inf

    @property
    def limit(self) -> int:
        """Requests that may be under way now."""
        return self._limit

    @property
    def round(self) -> int:
        """The current round: a request records it when sent, and hands it back with its
        outcome (`overloaded`)."""
        return self._round

    def healthy(self, now: float) -> None:
        """A request was answered well: after `limit` such answers the limit climbs by one,
        unless within a calm period."""
        if now < self._calm_until or self._limit >= self.maximum:
            return
        self._answers += 1
        if self._answers >= self._limit:
            self._limit += 1
            self._answers = 0

    def overloaded(self, sent_in_round: int, now: float, retry_after: float | None = None) -> bool:
        """A request sent in round `sent_in_round` met an overload (a "try again" answer or a
        timeout).

        Returns:
            Whether the limit was decreased (only the first overload of a round decreases it).
        """
        if retry_after is not None:
            self._calm_until = max(self._calm_until, now + retry_after)
        if sent_in_round != self._round:
            return False
        self._limit = max(self.minimum, math.floor(self._limit * self._decrease))
        self._answers = 0
        self._round += 1
        return True


class ConcurrencyGate:
    """Threads' access to one service under an `AdaptiveLimit` (thread-safe).

    Attributes:
        changes: recent `(clock time, new limit, peak)`, where peak is the most requests
            under way when one of the requests started since the previous change started.
    """

    def __init__(self, limit: AdaptiveLimit, *, clock: Callable[[], float] = time.monotonic):
        self._limit = limit
        self._clock = clock
        self._free = threading.Condition()
        self._under_way = 0
        self._peak = 0
        self.changes: collections.deque[tuple[float, int, int]] = collections.deque(
            maxlen=_CHANGES_KEPT
        )

    @property
    def limit(self) -> int:
        return self._limit.limit

    @property
    def maximum(self) -> int:
        return self._limit.maximum

    @contextlib.contextmanager
    def slot(self) -> Iterator[int]:
        """Wait for a free slot and hold it; yields the round to report an overload with."""
        with self._free:
            while self._under_way >= self._limit.limit:
                self._free.wait()
            self._under_way += 1
            self._peak = max(self._peak, self._under_way)
            sent_in = self._limit.round
        try:
            yield sent_in
        finally:
            with self._free:
                self._under_way -= 1
                self._free.notify()

    def healthy(self) -> None:
        """Report a well-answered request."""
        with self._free:
            before = self._limit.limit
            self._limit.healthy(self._clock())
            if self._limit.limit != before:
                self._changed()
                self._free.notify_all()

    def overloaded(self, sent_in: int, retry_after: float | None = None) -> None:
        """Report an overload (a "try again" answer or a timeout) of a request sent in round
        `sent_in`."""
        with self._free:
            if self._limit.overloaded(sent_in, self._clock(), retry_after):
                self._changed()

    def _changed(self) -> None:
        self.changes.append((self._clock(), self._limit.limit, self._peak))
        self._peak = 0
