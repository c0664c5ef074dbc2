"""Metadata that tells the Dagster UI what a step did: counts and short markdown previews.

Only counts and identifiers of rules, fields and actions: never email addresses, names, secrets or
report bodies (STYLE 6). Previews are capped so a 100,000-row frame stays a few lines.
"""

from __future__ import annotations

from collections.abc import Sequence
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
