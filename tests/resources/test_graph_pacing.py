"""The client-side pacer keeps a large apply within Graph's quota instead of running into it.

Pins: the pacer aims 3 % under the quota (`HEADROOM`); a full bucket lets a burst through, then
requests flow at that rate; a 429 pauses everyone for its `Retry-After` and lowers the pace,
which recovers with clean requests; a usage reading above 100 % slows the pace.
"""

from __future__ import annotations

import pytest

from resources.graph_pacing import GraphBudget, GraphPacer

HEADROOM = 0.97


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _pacer(budget: GraphBudget) -> tuple[GraphPacer, FakeTime]:
    time = FakeTime()
    return GraphPacer(budget, clock=time.clock, sleep=time.sleep), time


def _acquire(pacer: GraphPacer, count: int, *, writes: int = 1) -> None:
    for _ in range(count):
        pacer.acquire(resource_units=1, writes=writes)


def test_writes_flow_just_under_the_quota_after_the_initial_burst() -> None:
    pacer, time = _pacer(GraphBudget(writes=1000, write_window=100.0))

    _acquire(pacer, 970)
    burst_done = time.now
    _acquire(pacer, 97)

    assert burst_done == 0.0
    assert time.now == pytest.approx(97 / (1000 * HEADROOM / 100.0))


def test_resource_units_are_paced_per_ten_seconds() -> None:
    pacer, time = _pacer(GraphBudget(resource_units=1000, resource_unit_window=10.0))

    _acquire(pacer, 970 + 97, writes=0)

    assert time.now == pytest.approx(1.0)


def test_a_throttle_pauses_and_slows_the_pace_which_then_recovers() -> None:
    pacer, time = _pacer(GraphBudget(writes=1000, write_window=1000.0))
    full_rate = 1000 * HEADROOM / 1000.0

    pacer.throttled(30.0, write=True)
    _acquire(pacer, 1)
    after_pause = time.now
    _acquire(pacer, 22)  # what the slowed bucket gathered during the pause, less the first
    gathered = time.now
    _acquire(pacer, 10)
    slowed = (time.now - gathered) / 10
    for _ in range(2000):
        pacer.observed(limit_percentage=None, write=True)
    start = time.now
    _acquire(pacer, 10)

    assert after_pause == pytest.approx(30.0)
    assert gathered == after_pause
    assert slowed == pytest.approx(1 / (full_rate * 0.8), rel=0.05)
    assert (time.now - start) / 10 == pytest.approx(1 / full_rate, rel=0.05)


def test_a_usage_reading_above_the_limit_slows_the_pace() -> None:
    pacer, time = _pacer(GraphBudget(writes=100, write_window=100.0))
    _acquire(pacer, 97)

    pacer.observed(limit_percentage=1.4, write=True)
    start = time.now
    _acquire(pacer, 1)

    assert time.now - start == pytest.approx(1 / (0.97 * 0.95))
