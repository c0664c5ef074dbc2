"""Plan values as people read them: the plan's JSON objects turned into short texts.

Plan `*_values` columns hold JSON objects mapping a field to its canonical value (a string, or the
address as an object with `line1`, `postal_code`, `city`, `country`); a field missing from the
object, or null, is empty (`reconcile.outputs`).

A field that references another user (the manager) holds that user's Entra object id, which no
person recognises: `with_people_named` shows it as the person's email with the id beside it
(`ada@example.com (0f1e…)`), for the users the run knows; an id it does not know stays as it is.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

import polars as pl

from reconcile.mapping import MAPPING

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


#: The fields whose values are user references (Entra object ids).
REFERENCE_FIELDS: Final = tuple(entry.name for entry in MAPPING if entry.graph_reference)
_PLAN_VALUES: Final = ("huma_values", "entra_values", "from_values", "to_values")
_DIFF_VALUES: Final = ("huma_value", "entra_value", "agreed_value")


def person_text(user_id: Any, people: Mapping[str, str]) -> Any:
    """A referenced user as people read it: `email (object id)` when known, else as it is."""
    email = people.get(user_id) if isinstance(user_id, str) else None
    return f"{email} ({user_id})" if email else user_id


def _named(text: str | None, people: Mapping[str, str]) -> str | None:
    values = parse_values(text) if text is not None else None
    if not values:
        return text
    for field in REFERENCE_FIELDS:
        if field in values:
            values[field] = person_text(values[field], people)
    return json.dumps(values, sort_keys=True, ensure_ascii=False)


def with_people_named(
    frame: pl.DataFrame, people: pl.DataFrame | None, *, field_column: str
) -> pl.DataFrame:
    """`frame` with each user reference among its values shown as the person's email and id.

    Args:
        frame: Plan rows (`*_values` JSON columns, `fields` a list) or field differences
            (`*_value` texts, `field` one name), in any order; returned in the same order.
        people: `entra_id`, `email_key` of the users the run knows (None: nobody).
        field_column: `fields` for plan rows, `field` for field differences.

    Returns:
        `frame` with the same schema; rows without a reference field are untouched.
    """
    if people is None or not REFERENCE_FIELDS or frame.height == 0:
        return frame
    names = pl.col(field_column)
    if frame.schema[field_column] == pl.List(pl.String()):
        touches = names.list.eval(pl.element().is_in(REFERENCE_FIELDS)).list.any()
    else:
        touches = names.is_in(REFERENCE_FIELDS)
    indexed = frame.with_row_index("_row")
    touched = indexed.filter(touches.fill_null(value=False))
    if touched.height == 0:
        return frame
    ids = set()
    if field_column == "field":
        columns = [c for c in _DIFF_VALUES if c in frame.columns]
        ids = {v for c in columns for v in touched.get_column(c).drop_nulls()}
    else:
        columns = [c for c in _PLAN_VALUES if c in frame.columns]
        for column in columns:
            for text in touched.get_column(column).drop_nulls():
                values = parse_values(text)
                ids.update(values[f] for f in REFERENCE_FIELDS if isinstance(values.get(f), str))
    known = people.filter(pl.col("entra_id").is_in(sorted(ids)))
    lookup = dict(zip(known.get_column("entra_id"), known.get_column("email_key"), strict=True))
    one_value = field_column == "field"
    rewrite = functools.partial(person_text if one_value else _named, people=lookup)
    touched = touched.with_columns(
        pl.Series(column, [rewrite(t) for t in touched.get_column(column)], pl.String)
        for column in columns
    )
    rest = indexed.filter(~touches.fill_null(value=False))
    return pl.concat([rest, touched]).sort("_row").drop("_row")


def shortened(text: str, limit: int) -> str:
    """`text` whole up to `limit` characters; beyond, its first `limit` and its length (the
    history keeps outside values whole: a report only has to name them)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters in all)"
