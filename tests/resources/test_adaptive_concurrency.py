"""The adaptive concurrency rule (AIMD) on scripted outcomes, with the clock given.

Pins: healthy answers climb the limit by one per limit's worth of answers, never past the
maximum; a 429/5xx/timeout halves it once per round (the burst of overloads a round's requests
meet counts once), never below the minimum; a `Retry-After` is a calm period in which the limit
does not climb; the gate never lets more requests be under way than the limit, and records
each change with the most requests that were under way before it.
"""

from __future__ import annotations

import pytest

from resources.adaptive_concurrency import AdaptiveLimit, ConcurrencyGate


def test_healthy_answers_climb_one_per_limits_worth_up_to_the_maximum() -> None:
    limit = AdaptiveLimit(8, initial=2)
    seen = []
    for _ in range(40):
        limit.healthy(now=0.0)
        seen.append(limit.limit)

    assert seen[:2] == [2, 3]  # two answers at limit 2 raise it to 3
    assert seen.index(4) - seen.index(3) == 3  # three answers at limit 3 raise it to 4
    assert seen.index(5) - seen.index(4) == 4
    assert seen.index(8) == 2 + 3 + 4 + 5 + 6 + 7 - 1
    assert max(seen) == 8
    assert seen[-1] == 8


def test_an_overload_halves_the_limit_once_per_round() -> None:
    limit = AdaptiveLimit(16)
    first_round = limit.round

    halved = [limit.overloaded(first_round, now=0.0) for _ in range(5)]  # a burst of 429s

    assert halved == [True, False, False, False, False]
    assert limit.limit == 8
    assert limit.overloaded(limit.round, now=0.0)  # sent after the decrease: news
    assert limit.limit == 4


def test_the_limit_never_goes_below_the_minimum() -> None:
    limit = AdaptiveLimit(16, minimum=3)

    for _ in range(10):
        limit.overloaded(limit.round, now=0.0)

    assert limit.limit == 3


def test_retry_after_is_a_calm_period_without_climbing() -> None:
    limit = AdaptiveLimit(16)
    limit.overloaded(limit.round, now=100.0, retry_after=30.0)
    assert limit.limit == 8

    for second in range(100, 130):
        limit.healthy(now=float(second))
    assert limit.limit == 8

    for _ in range(9):
        limit.healthy(now=130.0)
    assert limit.limit == 9


@pytest.mark.parametrize(
    ("maximum", "minimum", "initial", "decrease"),
    [(0, 1, None, 0.5), (4, 5, None, 0.5), (4, 1, 5, 0.5), (4, 1, None, 1.0), (4, 1, None, 0)],
)
def test_impossible_settings_are_refused(maximum, minimum, initial, decrease) -> None:
    with pytest.raises(ValueError, match=r"must be|need|outside"):
        AdaptiveLimit(maximum, minimum=minimum, initial=initial, decrease=decrease)


def test_the_gate_records_each_change_with_the_most_under_way_before_it() -> None:
    now = [0.0]
    gate = ConcurrencyGate(AdaptiveLimit(4, initial=2), clock=lambda: now[0])

    with gate.slot() as first, gate.slot():
        now[0] = 1.0
        gate.overloaded(first)  # two under way: 2 -> 1
    for _ in range(3):
        with gate.slot():
            now[0] += 1.0
            gate.healthy()  # 1 -> 2 after one answer, then 2 -> 3 after two more

    assert list(gate.changes) == [(1.0, 1, 2), (2.0, 2, 1), (4.0, 3, 1)]
    assert gate.limit == 3
