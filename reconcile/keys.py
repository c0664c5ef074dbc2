"""Exact lookups of string keys (ids, email keys) through their 64-bit hashes.

A join on a million long strings spends most of its time in the strings' hash table; a join on
their 64-bit hashes is several times faster. Equal hashes do not prove equal strings, so every
hash match is confirmed on the strings themselves: the results are exactly those of a join on
the strings. A null key matches nothing (as in a join).
"""

from __future__ import annotations

import polars as pl


def _hashed(keys: pl.Series, position: str) -> pl.LazyFrame:
    return pl.select(
        pl.int_range(len(keys), dtype=pl.UInt32).alias(position), keys.hash().alias("hash")
    ).lazy()


def matches(values: pl.Series, keys: pl.Series) -> pl.DataFrame:
    """Every pair of positions `i` in `values`, `j` in `keys` with `values[i] == keys[j]`.

    Returns:
        `i`, `j` (UInt32), in no particular order.
    """
    # The join carries positions and hashes only (the lazy engine joins those in half the CPU
    # of an eager join, and slower when strings ride along); the strings are then compared
    # by position.
    found = _hashed(values, "i").join(_hashed(keys, "j"), on="hash").select("i", "j").collect()
    same = _gather(values, found.get_column("i")) == _gather(keys, found.get_column("j"))
    return found.filter(same)


def _gather(series: pl.Series, positions: pl.Series) -> pl.Series:
    # A row gathered from a series of many chunks (as read from storage) costs about eight times
    # one gathered from a single chunk, and copying a row into one chunk a third of that: beyond
    # a twentieth of the rows, the copy pays.
    whole = series.rechunk() if len(positions) * 20 > len(series) else series
    return whole.gather(positions)


def contains(values: pl.Series, keys: pl.Series) -> pl.Series:
    """Per value, whether it equals one of `keys` (a semi join's mask; an anti join's negation)."""
    found = matches(values, keys).get_column("i")
    mask = pl.repeat(value=False, n=len(values), dtype=pl.Boolean, eager=True)
    return mask.scatter(found, True).alias(values.name)
