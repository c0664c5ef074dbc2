"""Plan values as people read them: the plan's JSON objects turned into short texts.

Plan `*_values` columns hold JSON objects mapping a field to its canonical value (a string, or the
address as an object with `line1`, `postal_code`, `city`, `country`); a field missing from the
object, or null, is empty (`reconcile.outputs`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

#: How an empty value reads in the report.
EMPTY: Final = "(empty)"
_ADDRESS_ORDER: Final = ("line1", "postal_code", "city", "country")


def parse_values(text: str | None) -> dict[str, Any]:
    """The field → value object of a plan `*_values` column (empty for null)."""
    if text is None:
        return {}
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise ValueError(f"plan values must be a JSON object, not {type(parsed).__name__}")
    return parsed


def value_text(value: Any) -> str:
    """One canonical value as text: strings as they are, the address on one line."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, Mapping):
        street = str(value.get("line1") or "")
        town = " ".join(str(value[key]) for key in ("postal_code", "city") if value.get(key))
        parts = [street, town, str(value.get("country") or "")]
        known = set(_ADDRESS_ORDER)
        parts += [f"{key}: {value[key]}" for key in sorted(value) if key not in known]
        return ", ".join(part for part in parts if part) or EMPTY
    return str(value)


def field_value(values: Mapping[str, Any], field: str) -> str:
    """The text of one field of a parsed values object."""
    return value_text(values.get(field))


def values_text(values: Mapping[str, Any], fields: Iterable[str]) -> str:
    """`field: value` of the given fields, in their order, joined by `; ` (empty for no values)."""
    if not values:
        return ""
    return "; ".join(f"{field}: {field_value(values, field)}" for field in fields)


def person_name(*candidates: Mapping[str, Any]) -> str:
    """The person's name from the first values object that names them (else empty).

    A create carries `display_name`; a name update carries `given_name`/`family_name`.
    """
    for values in candidates:
        display = values.get("display_name")
        if display:
            return str(display)
        parts = [str(values[key]) for key in ("given_name", "family_name") if values.get(key)]
        if parts:
            return " ".join(parts)
    return ""
