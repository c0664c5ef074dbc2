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

from typing import Final

import polars as pl

from reconcile.mapping import BY_NAME, DATE, OBJECT, Mapped, active

#: A unit is one entry of the mapping (`reconcile.mapping.Mapped`): its name, columns,
#: directions and whether it is a position field are what the engine uses.
Unit = Mapped

ADDRESS: Final = "address"

#: The units of a connection without optional fields.
UNITS: Final = active()
UNIT_NAMES: Final = tuple(unit.name for unit in UNITS)
UNITS_BY_NAME: Final = BY_NAME

#: Keys of the address JSON, by snapshot column, in the sorted order the canonical text uses.
ADDRESS_KEYS: Final = BY_NAME[ADDRESS].parts

#: Huma's uniqueness rules (SPEC §3): no two Huma users may share these.
HUMA_UNIQUE_FIELDS: Final = tuple(
    column for unit in UNITS if unit.unique for column in unit.columns
)


def unit_text(unit: Unit, prefix: str = "") -> pl.Expr:
    """The unit's canonical text, from columns named `prefix + column`.

    Args:
        unit: The unit.
        prefix: Prefix of the snapshot columns in the frame (e.g. `"h_"` in a joined pair frame).

    Returns:
        A String expression, null when the value is empty.
    """
    if unit.value == OBJECT:
        parts = {key: pl.col(prefix + column) for column, key in unit.parts.items()}
        all_empty = pl.all_horizontal(part.is_null() for part in parts.values())
        encoded = pl.struct(**parts).struct.json_encode()
        return pl.when(all_empty).then(pl.lit(None, pl.String)).otherwise(encoded)
    column = pl.col(prefix + unit.columns[0])
    if unit.value == DATE:
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
    unit = BY_NAME.get(unit_name)
    if unit is not None and unit.value == OBJECT:
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
