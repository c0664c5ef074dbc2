"""The units the engine compares, decides and writes: one per mapped concept of SPEC §3.

A unit is one snapshot column, except the address, which is the four address columns travelling
together (SPEC §3: "both, as one unit"). Every unit has a canonical text form, so one string
column holds any unit's value in the baseline and the plan:

* plain strings as they are (already trimmed, empty = null);
* dates as ISO `YYYY-MM-DD`;
* the address as compact JSON with sorted keys, `{"city":…,"country":…,"line1":…,"postal_code":…}`,
  or null when all four parts are empty.

Two values are equal exactly when their canonical texts are equal (both null = equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from reconcile import frames
from reconcile.vocabulary import ENTRA_TO_HUMA, HUMA_TO_ENTRA


@dataclass(frozen=True)
class Unit:
    """One comparable, writable unit.

    Attributes:
        name: The unit's name in baselines, diffs and plan values.
        columns: The snapshot columns it is made of.
        directions: The write directions SPEC §3 allows.
        position: A position field (pushed only after activation unless backfilled, SPEC §5).
    """

    name: str
    columns: tuple[str, ...]
    directions: frozenset[str]
    position: bool = False


ADDRESS: Final = "address"
_BOTH: Final = frozenset({HUMA_TO_ENTRA, ENTRA_TO_HUMA})

UNITS: Final = (
    Unit(frames.GIVEN_NAME, (frames.GIVEN_NAME,), _BOTH),
    Unit(frames.FAMILY_NAME, (frames.FAMILY_NAME,), _BOTH),
    Unit(frames.PHONE, (frames.PHONE,), _BOTH),
    Unit(ADDRESS, frames.ADDRESS_FIELDS, _BOTH),
    Unit(frames.EMPLOYMENT_ID, (frames.EMPLOYMENT_ID,), frozenset({ENTRA_TO_HUMA})),
    Unit(frames.HIRE_DATE, (frames.HIRE_DATE,), frozenset({HUMA_TO_ENTRA}), position=True),
    Unit(frames.JOB_TITLE, (frames.JOB_TITLE,), frozenset({HUMA_TO_ENTRA}), position=True),
)
UNIT_NAMES: Final = tuple(unit.name for unit in UNITS)
UNITS_BY_NAME: Final = {unit.name: unit for unit in UNITS}

#: Keys of the address JSON, by snapshot column, in the sorted order the canonical text uses.
ADDRESS_KEYS: Final = {
    frames.ADDRESS_CITY: "city",
    frames.ADDRESS_COUNTRY: "country",
    frames.ADDRESS_LINE1: "line1",
    frames.ADDRESS_POSTAL_CODE: "postal_code",
}

#: Huma's uniqueness rules (SPEC §3): no two Huma users may share these.
HUMA_UNIQUE_FIELDS: Final = (frames.PHONE, frames.EMPLOYMENT_ID)


def unit_text(unit: Unit, prefix: str = "") -> pl.Expr:
    """The unit's canonical text, from columns named `prefix + column`.

    Args:
        unit: The unit.
        prefix: Prefix of the snapshot columns in the frame (e.g. `"h_"` in a joined pair frame).

    Returns:
        A String expression, null when the value is empty.
    """
    if unit.name == ADDRESS:
        parts = {key: pl.col(prefix + column) for column, key in ADDRESS_KEYS.items()}
        all_empty = pl.all_horizontal(part.is_null() for part in parts.values())
        encoded = pl.struct(**parts).struct.json_encode()
        return pl.when(all_empty).then(pl.lit(None, pl.String)).otherwise(encoded)
    column = pl.col(prefix + unit.columns[0])
    if unit.name == frames.HIRE_DATE:
        return column.dt.to_string("%Y-%m-%d")
    return column


def unit_json(unit_name: str, text: pl.Expr) -> pl.Expr:
    """The JSON literal of a canonical text: a JSON string, the address object, or `null`.

    Args:
        unit_name: The unit the text belongs to.
        text: Its canonical text (String expression).

    Returns:
        A String expression holding valid JSON.
    """
    if unit_name == ADDRESS:
        return text.fill_null(pl.lit("null"))
    # json_encode of {"v": text} gives `{"v":<literal>}`; cut the 5-character head and the brace.
    encoded = pl.struct(v=text).struct.json_encode()
    return encoded.str.slice(5, encoded.str.len_chars() - 6)


def unit_unknown(unit: Unit, column: str = "unknown_fields") -> pl.Expr:
    """Whether the payload left the unit out (any of its columns, or the unit name, listed).

    Args:
        unit: The unit.
        column: The `unknown_fields` list column.

    Returns:
        A Boolean expression, never null.
    """
    names = {unit.name, *unit.columns}
    listed = pl.col(column).list.eval(pl.element().is_in(sorted(names))).list.any()
    return listed.fill_null(value=False)


def json_object(entries: dict[str, pl.Expr]) -> pl.Expr:
    """A JSON object of the non-null entries, keys sorted (so equal content gives equal text).

    Args:
        entries: Key → JSON literal expression; a null literal leaves the key out.

    Returns:
        A String expression, `{}` when every entry is null.
    """
    members = [
        pl.concat_str(pl.lit(f'"{key}":'), literal) for key, literal in sorted(entries.items())
    ]
    inner = pl.concat_str(members, separator=",", ignore_nulls=True)
    return pl.concat_str(pl.lit("{"), inner, pl.lit("}"))


def one_entry_object(key: pl.Expr, literal: pl.Expr) -> pl.Expr:
    """The JSON object `{key: literal}` for a key held in a column (a field name)."""
    return pl.concat_str(pl.lit('{"'), key, pl.lit('":'), literal, pl.lit("}"))
