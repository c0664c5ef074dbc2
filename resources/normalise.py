"""Normalising raw values into the snapshot frames' form (SPEC §3): the same on both sides.

Strings are trimmed and an empty string is missing; email keys are case-folded; dates are dates.
Anything malformed is kept as missing *and* reported by the caller, never guessed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl


def text(value: Any) -> str | None:
    """A trimmed string, or None for missing/blank values."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def email_key(value: Any) -> str | None:
    """The match key of an email address: trimmed and case-folded."""
    cleaned = text(value)
    return cleaned.casefold() if cleaned else None


def iso_date(value: Any) -> dt.date | None:
    """A date from `YYYY-MM-DD` or an ISO date-time (`2019-03-01T00:00:00Z`); None if unreadable."""
    cleaned = text(value)
    if cleaned is None:
        return None
    try:
        return dt.date.fromisoformat(cleaned[:10])
    except ValueError:
        return None


def iso_datetime(value: Any) -> dt.datetime | None:
    """An aware UTC date-time from an ISO string; None if unreadable."""
    cleaned = text(value)
    if cleaned is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def rows_to_frame(rows: Iterable[Mapping[str, Any]], schema: pl.Schema) -> pl.DataFrame:
    """A frame with exactly `schema` from row dicts (columns built once, not row by row)."""
    columns: dict[str, list[Any]] = {name: [] for name in schema}
    for row in rows:
        for name, values in columns.items():
            values.append(row.get(name))
    return pl.DataFrame(columns, schema=schema)
