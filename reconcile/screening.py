"""One pass over a snapshot that says which columns a pandera schema could fail on.

Pandera runs each check of each column as a query of its own (a dozen passes over a million rows
per side, the key columns' uniqueness the costliest). Most nights every column passes. The screen
asks the same questions of every column in one query, as verdicts only (any null where one is
required, any value a check refuses, any shared key), so the schema is then run on the suspect
columns alone: their failure cases are exactly the ones the whole schema finds, as pandera
checks each column apart from the others.

The screen may suspect a column that passes (it then costs one pandera run); it never clears one
that would fail: a check it does not know, a column missing or of another dtype, is suspect.
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl

#: The name of the schemas' uniqueness check over non-null values (`validation`).
UNIQUE_NON_NULL = "unique_non_null"


def unique_verdict(column: pl.Expr) -> pl.Expr:
    """Whether the non-null values of `column` are provably distinct: their 64-bit hashes are.

    Counting distinct hashes costs a sixth of counting distinct strings; distinct hashes prove
    distinct values, while a shared hash (a duplicate, a rare collision, a value hashing like
    null) proves nothing and leaves the column to the exact search.
    """
    nulls = column.null_count().cast(pl.Int64)
    return column.hash().n_unique() == pl.len() - (nulls - 1).clip(lower_bound=0)


def _passes(check: pa.Check, column: pl.Expr) -> pl.Expr | None:
    """The check's verdict over the whole column, as pandera reaches it; None when unknown."""
    stats: dict[str, Any] = check.statistics or {}
    if check.name == UNIQUE_NON_NULL:
        return unique_verdict(column)
    if check.name == "str_length" and stats.get("exact_value") is None:
        low, high = stats.get("min_value"), stats.get("max_value")
        ok = pl.lit(value=True)
        ok = ok if low is None else ok & column.str.len_chars().ge(low)
        # A text's characters are no more than its UTF-8 bytes, which cost a fifth to count: a
        # column over the limit in bytes only is suspect, and pandera counts its characters.
        ok = ok if high is None else ok & column.str.len_bytes().le(high)
    elif check.name == "isin":
        ok = column.is_in(list(stats["allowed_values"]))
    else:
        return None
    # Pandera's reading of a null outcome: a pass with `ignore_na`, else a failure.
    return (ok | ok.is_null()).all() if check.ignore_na else ok.fill_null(value=False).all()


def suspect_columns(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> list[str]:
    """The columns of `schema` that may fail on `frame`, in the schema's order.

    Args:
        frame: The frame about to be validated.
        schema: The schema (`DataFrameModel.to_schema()`); frame-wide checks make every column
            suspect.

    Returns:
        The column names; empty when every check of every column passes.
    """
    if schema.checks:
        return list(schema.columns)
    verdicts: dict[str, list[pl.Expr]] = {}
    suspects: set[str] = set()
    for name, spec in schema.columns.items():
        dtype = getattr(spec.dtype, "type", None)
        structural = spec.regex or spec.unique or spec.coerce or not spec.required
        # Pandera's null check also refuses NaN in a float column: left to pandera.
        if (
            structural
            or name not in frame.schema
            or frame.schema[name] != dtype
            or (dtype is not None and dtype.is_float())
        ):
            suspects.add(name)
            continue
        column = pl.col(name)
        found = [] if spec.nullable else [column.null_count() == 0]
        for check in spec.checks:
            verdict = _passes(check, column)
            if verdict is None:
                suspects.add(name)
                break
            found.append(verdict)
        else:
            verdicts[name] = found
    queries = [pl.all_horizontal(found).alias(name) for name, found in verdicts.items() if found]
    if queries and frame.height:
        # An eager select: the lazy engine took twice the CPU for the distinct hash counts.
        passed = frame.select(queries).row(0, named=True)
        suspects.update(name for name, ok in passed.items() if not ok)
    return [name for name in schema.columns if name in suspects]
