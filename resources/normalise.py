"""Normalising raw values into the snapshot frames' form (SPEC §3): the same on both sides.

Strings are trimmed and an empty string is missing; email keys are case-folded; dates are dates.
A value of the wrong type or format is never turned into text or guessed: the `read_*` functions
raise `UnreadableValue`, and the readers treat the field as unknown and list it (SPEC §5).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import polars as pl

_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


class UnreadableValue(ValueError):
    """A raw value whose type or format a reader does not accept; the message says why."""


def kind_of(value: Any) -> str:
    """The JSON kind of a decoded value, for messages ("a number", "an object", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def text(value: Any) -> str | None:
    """A trimmed string, or None for missing/blank values."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def read_text(value: Any) -> str | None:
    """Text where text belongs: trimmed, blank or null as missing; anything else is unreadable
    (also text with a lone surrogate, which a JSON escape can carry but no UTF-8 column holds,
    and text with a NUL character, which no name, phone or address holds and C strings end at)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise UnreadableValue(f"{kind_of(value)} where text belongs")
    if "\x00" in value:
        raise UnreadableValue("text with a NUL character")
    if not value.isascii():  # ASCII (most values) is valid UTF-8: no need to encode it
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UnreadableValue("text that is not valid Unicode") from None
    value = value.strip()
    return value or None


def read_flag(value: Any) -> bool | None:
    """A JSON boolean, or None for null; text such as `"false"` is unreadable, never truthy."""
    if value is None or isinstance(value, bool):
        return value
    raise UnreadableValue(f"{kind_of(value)} where true or false belongs")


def read_date(value: Any) -> dt.date | None:
    """A date from `YYYY-MM-DD` or an ISO date-time starting so; None for null or blank."""
    cleaned = read_text(value)
    if cleaned is None:
        return None
    try:
        if not _ISO_DATE.match(cleaned):
            raise ValueError(cleaned)
        if len(cleaned) == 10:
            return dt.date.fromisoformat(cleaned)
        return dt.datetime.fromisoformat(cleaned.replace("Z", "+00:00")).date()
    except ValueError:
        raise UnreadableValue("not an ISO date (YYYY-MM-DD)") from None


def read_datetime(value: Any) -> dt.datetime | None:
    """An aware UTC date-time from an ISO string; None for null or blank."""
    cleaned = read_text(value)
    if cleaned is None:
        return None
    try:
        if not _ISO_DATE.match(cleaned):
            raise ValueError(cleaned)
        parsed = dt.datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise UnreadableValue("not an ISO date-time") from None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def email_key(value: Any) -> str | None:
    """The match key of an email address: trimmed and case-folded."""
    cleaned = text(value)
    return cleaned.casefold() if cleaned else None


def rows_to_frame(rows: Iterable[Mapping[str, Any]], schema: pl.Schema) -> pl.DataFrame:
    """A frame with exactly `schema` from row dicts (columns built once, not row by row)."""
    columns: dict[str, list[Any]] = {name: [] for name in schema}
    for row in rows:
        for name, values in columns.items():
            values.append(row.get(name))
    return pl.DataFrame(columns, schema=schema)
