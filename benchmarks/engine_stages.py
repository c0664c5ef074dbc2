"""Wall and CPU time of each step of `reconcile.engine.plan_run`, for the engine benchmark.

`timed_steps()` wraps, for the duration of a `with` block, the functions `plan_run` calls (looked
up where the engine finds them: its own imported names and the modules it calls through), adding
each call's wall-clock and CPU time (all threads of the process) to a table. A step called from
inside another timed step is counted in the outer one only. What is left of the whole run is
`plan_run`'s own glue: schema checks, the scope filter, concatenations, the notices.
Not a test and not for production: the wrapping is undone when the block ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from reconcile import engine

#: Per step: (where `plan_run` finds it, attribute name, label in the table), in pipeline order.
_STEPS: tuple[tuple[Any, str, str], ...] = (
    (engine, "validate_snapshots", "validation (pandera)"),
    (engine, "match_users", "matching"),
    (engine.differences, "differing_pairs", "differing pairs (gathers)"),
    (engine.differences, "field_differences", "field differences"),
    (engine.differences, "with_baseline", "baseline lookup"),
    (engine.differences, "with_link_age", "link age"),
    (engine, "decide", "decide"),
    (engine.lifecycle, "deleted_in_huma", "deleted in Huma"),
    (engine.plan_rows, "pair_rows", "pair rows"),
    (engine.creates, "entra_creates", "creates (Entra)"),
    (engine.creates, "huma_creates", "creates (Huma)"),
    (engine, "block_duplicates", "uniqueness"),
    (engine.plan_rows, "group_automatic_updates", "grouping"),
    (engine.plan_rows, "with_change_ids", "change ids"),
    (engine, "apply_decisions", "people's decisions"),
    (engine.guards, "block_creates_on_partial_sides", "guards"),
    (engine.guards, "snapshot_trips", "guards"),
    (engine.guards, "mass_change_trips", "guards"),
    (engine.guards, "enforce", "guards"),
    (engine.lifecycle, "pair_notices", "notices"),
    (engine.lifecycle, "entra_missing_notices", "notices"),
    (engine, "field_diffs_frame", "field diffs frame"),
    (engine.differences, "email_mismatches", "field diffs frame"),
    (engine, "conflicts_frame", "field diffs frame"),
    (engine.plan_rows, "sort_plan", "plan order"),
)


class StepTimes:
    """Seconds of wall and CPU per step label, summed over the calls made while timing."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {label: 0.0 for _, _, label in _STEPS}
        self.cpu: dict[str, float] = dict(self.wall)
        self._depth = 0

    def wrap(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        """`function`, timed under `label` unless called from inside another timed step."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            started, started_cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.wall[label] += time.perf_counter() - started
                    self.cpu[label] += time.process_time() - started_cpu

        return timed


@contextmanager
def timed_steps() -> Iterator[StepTimes]:
    """Time `plan_run`'s steps while the block runs; the engine is restored afterwards."""
    times = StepTimes()
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in _STEPS]
    try:
        for (owner, name, function), (_, _, label) in zip(originals, _STEPS, strict=True):
            setattr(owner, name, times.wrap(function, label))
        yield times
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)
