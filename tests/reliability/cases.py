"""What every case of the matrix does after its faulted run: measure against the clean end state
and record the figures for the table (`matrix.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.reliability.outcome import (
    EndState,
    applied_writes,
    changes_applied_twice,
    changes_lost,
    end_state,
)
from tests.resources.conftest import Outside


def measure_and_record(
    record_property: Callable[[str, Any], None],
    case: str,
    outside: Outside,
    expected: EndState,
    *,
    runs: int = 1,
) -> tuple[int, int]:
    """Record `case`'s figures (lost against `expected`, applied twice in the request logs) and
    return them as (lost, twice).

    The case's runs must have written something: a case whose runs wrote nothing pins nothing.
    """
    assert applied_writes(outside), "the case's runs applied no change at all"
    lost = changes_lost(expected, end_state(outside))
    twice = changes_applied_twice(outside)
    record_property("case", case)
    record_property("runs", runs)
    record_property("changes_lost", lost)
    record_property("changes_applied_twice", twice)
    return lost, twice
