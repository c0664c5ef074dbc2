"""Wall and CPU seconds of the parts of one step, as numeric metadata the UI plots run after run.

A step names its parts (`read`, `plan`, `history`, …) and times each with `clock.part(name)`. Parts
may nest: the inner part's time is not counted in the outer one, so the parts of a step add up to
the time spent inside them (a history write inside the apply loop is history, not apply). CPU time
is the process's (every thread of it): the step's own work when steps run one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg


class StageClock:
    """Exclusive wall and CPU seconds per named part of a step."""

    def __init__(self) -> None:
        self._wall: dict[str, float] = {}
        self._cpu: dict[str, float] = {}
        self._open: list[str] = []
        self._mark = (0.0, 0.0)

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Time the block as part `name` (added up when the part comes again)."""
        self._charge()
        self._open.append(name)
        try:
            yield
        finally:
            self._charge()
            self._open.pop()

    def _charge(self) -> None:
        """Charge the time since the last mark to the innermost open part, and mark now."""
        now = (time.perf_counter(), time.process_time())
        if self._open:
            name = self._open[-1]
            self._wall[name] = self._wall.get(name, 0.0) + now[0] - self._mark[0]
            self._cpu[name] = self._cpu.get(name, 0.0) + now[1] - self._mark[1]
        self._mark = now

    def seconds(self, name: str) -> float:
        """Wall seconds spent in part `name` so far (0 when it never ran)."""
        return self._wall.get(name, 0.0)

    def metadata(self) -> dict[str, dg.MetadataValue]:
        """`<part>_seconds` and `<part>_cpu_seconds` of every part, as float metadata."""
        entries: dict[str, dg.MetadataValue] = {}
        for name, wall in self._wall.items():
            entries[f"{name}_seconds"] = dg.MetadataValue.float(round(wall, 4))
            entries[f"{name}_cpu_seconds"] = dg.MetadataValue.float(round(self._cpu[name], 4))
        return entries
