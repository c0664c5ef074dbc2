"""Client-side pacing to Graph's identity throttling budget, so a large apply runs near the quota.

Graph meters an app in a tenant with two token buckets: resource units (RU) per 10 s and write
requests per 150 s. Sending into an empty bucket earns 429s, and usage keeps accruing while
throttled, so the client keeps its own buckets with the same shape and waits before sending.
It also learns: a 429 pauses everything for its `Retry-After` and lowers the pace, which then
creeps back up; `x-ms-throttle-limit-percentage` above 1 (the service's own reading) slows it too.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class GraphBudget:
    """Graph's quota for one app in one tenant (defaults: the documented limits).

    Attributes:
        resource_units: RU per `resource_unit_window` (3,500 is the smallest tenant size's quota).
        writes: write requests per `write_window`.
    """

    resource_units: int = 3500
    resource_unit_window: float = 10.0
    writes: int = 3000
    write_window: float = 150.0


class _Bucket:
    #: Pace a little under the quota: at exactly the quota, the last item of a batch that
    #: arrives a hair early is throttled (and every 429 costs a `Retry-After` pause).
    _HEADROOM = 0.97

    def __init__(self, capacity: float, window: float, now: float) -> None:
        capacity *= self._HEADROOM
        self.capacity = capacity
        self.full_rate = capacity / window
        self.rate = self.full_rate
        self.level = capacity
        self.updated = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        # The tolerance stops float rounding from asking for ever smaller waits.
        shortfall = amount - self.level
        return 0.0 if shortfall <= 1e-9 else shortfall / self.rate


class GraphPacer:
    """Blocks callers until the budget allows their request; thread-safe."""

    #: After a 429 the pace drops to this share, and recovers by `_RECOVERY` per clean request.
    _BACKOFF = 0.8
    _RECOVERY = 0.002
    _FLOOR = 0.1

    def __init__(
        self,
        budget: GraphBudget | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budget = budget or GraphBudget()
        self._clock = clock
        self._sleep = sleep
        now = clock()
        self._ru = _Bucket(self.budget.resource_units, self.budget.resource_unit_window, now)
        self._writes = _Bucket(self.budget.writes, self.budget.write_window, now)
        self._paused_until = now
        self._lock = threading.Lock()

    def acquire(self, *, resource_units: float, writes: float = 0.0) -> None:
        """Wait until `resource_units` RU and `writes` write requests may be spent, then spend."""
        resource_units = min(resource_units, self._ru.capacity)
        writes = min(writes, self._writes.capacity)
        while True:
            with self._lock:
                now = self._clock()
                self._ru.refill(now)
                self._writes.refill(now)
                wait = max(
                    self._paused_until - now,
                    self._ru.wait_for(resource_units),
                    self._writes.wait_for(writes),
                )
                if wait <= 0:
                    self._ru.level -= resource_units
                    self._writes.level -= writes
                    return
            self._sleep(wait)

    def throttled(self, retry_after: float, *, write: bool) -> None:
        """Graph answered 429: pause everyone for `retry_after` s and slow the affected bucket."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + retry_after)
            bucket = self._writes if write else self._ru
            bucket.refill(now)
            bucket.rate = max(bucket.full_rate * self._FLOOR, bucket.rate * self._BACKOFF)
            bucket.level = 0.0

    def observed(self, *, limit_percentage: float | None, write: bool) -> None:
        """A request went through; `limit_percentage` is Graph's usage reading when it sent one."""
        with self._lock:
            bucket = self._writes if write else self._ru
            if limit_percentage is not None and limit_percentage > 1.0:
                bucket.rate = max(bucket.full_rate * self._FLOOR, bucket.rate * 0.95)
            else:
                bucket.rate = min(bucket.full_rate, bucket.rate + bucket.full_rate * self._RECOVERY)
