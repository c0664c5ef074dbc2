"""The client-side pacer keeps a large apply within Graph's quota instead of running into it.

Pins: a full bucket lets a burst through, then requests flow at the quota's rate; a 429 pauses
everyone for its `Retry-After` and lowers the pace, which recovers with clean requests; a usage
reading above 100 % slows the pace.
"""

from __future__ import annotations

import pytest

from resources.graph_pacing import GraphBudget, GraphPacer


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


def test_writes_flow_at_the_quota_after_the_initial_burst() -> None:
    pacer, time = _pacer(GraphBudget(writes=300, write_window=150.0))

    for _ in range(300):
        pacer.acquire(resource_units=1, writes=1)
    burst_done = time.now
    for _ in range(200):
        pacer.acquire(resource_units=1, writes=1)

    assert burst_done == 0.0
    assert time.now == pytest.approx(200 / (300 / 150.0))


def test_resource_units_are_paced_per_ten_seconds() -> None:
    pacer, time = _pacer(GraphBudget(resource_units=100, resource_unit_window=10.0))

    for _ in range(150):
        pacer.acquire(resource_units=1)

    assert time.now == pytest.approx(50 / 10.0)


def test_a_throttle_pauses_and_slows_the_pace_which_then_recovers() -> None:
    pacer, time = _pacer(GraphBudget(writes=150, write_window=150.0))

    pacer.throttled(30.0, write=True)
    pacer.acquire(resource_units=1, writes=1)
    after_pause = time.now
    for _ in range(23):  # what the slowed bucket gathered during the pause: 30 s x 0.8/s, less one
        pacer.acquire(resource_units=1, writes=1)
    assert time.now == after_pause
    for _ in range(10):
        pacer.acquire(resource_units=1, writes=1)
    slowed = (time.now - after_pause) / 10
    for _ in range(2000):
        pacer.observed(limit_percentage=None, write=True)
    start = time.now
    for _ in range(10):
        pacer.acquire(resource_units=1, writes=1)

    assert after_pause >= 30.0
    assert slowed == pytest.approx(1 / 0.8)
    assert (time.now - start) / 10 == pytest.approx(1.0)


def test_a_usage_reading_above_the_limit_slows_the_pace() -> None:
    pacer, time = _pacer(GraphBudget(writes=10, write_window=10.0))
    for _ in range(10):
        pacer.acquire(resource_units=1, writes=1)

    pacer.observed(limit_percentage=1.4, write=True)
    start = time.now
    pacer.acquire(resource_units=1, writes=1)

    assert time.now - start == pytest.approx(1 / 0.95)
