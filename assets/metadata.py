"""Metadata that tells the Dagster UI what a step did: counts, short markdown previews, and the
wall and CPU seconds of the step's parts (`StageClock`), as numbers the UI plots run after run.

Only counts and identifiers of rules, fields and actions: never email addresses, names, secrets or
report bodies (STYLE 6). Previews are capped so a 100,000-row frame stays a few lines.

A step names its parts (`read`, `plan`, `history`, …) and times each with `clock.part(name)`. Parts
may nest: the inner part's time is not counted in the outer one, so the parts of a step add up to
the time spent inside them (a history write inside the apply loop is history, not apply). CPU time
is the process's (every thread of it): the step's own work when steps run one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import polars as pl


def counts(frame: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Rows per combination of `by`, most frequent first."""
    if frame.height == 0:
        return pl.DataFrame(schema={**{c: frame.schema[c] for c in by}, "rows": pl.UInt32})
    return frame.group_by(by).len("rows").sort(["rows", *by], descending=[True, *[False] * len(by)])


def markdown_table(frame: pl.DataFrame, limit: int = 20) -> str:
    """A markdown table of the first `limit` rows (and how many were left out)."""
    if frame.height == 0:
        return "_none_"
    shown = frame.head(limit)
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "---|" * len(shown.columns)
    lines = [header, rule]
    for row in shown.iter_rows():
        lines.append("| " + " | ".join("" if v is None else str(v) for v in row) + " |")
    if frame.height > limit:
        lines.append(f"\n_and {frame.height - limit} more rows_")
    return "\n".join(lines)


def numbers(**values: int | float) -> dict[str, dg.MetadataValue]:
    """`values` as int or float metadata, which the UI plots across materializations."""
    return {
        name: dg.MetadataValue.float(float(value))
        if isinstance(value, float)
        else dg.MetadataValue.int(int(value))
        for name, value in values.items()
    }


def frame_metadata(frame: pl.DataFrame, *, by: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    """`dagster/row_count`, counts per `by` as a markdown preview, and `extra` values."""
    metadata: dict[str, Any] = {"dagster/row_count": frame.height, **extra}
    if by:
        metadata["preview"] = dg.MetadataValue.md(markdown_table(counts(frame, by)))
    return metadata


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
