"""Hashed key lookups give exactly what joins on the strings give (nulls match nothing)."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from reconcile.keys import contains, matches
from tests.reconcile.worlds import EXAMPLES

_KEYS = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "ann@example.com", "", "é"])))


@EXAMPLES
@given(_KEYS, _KEYS)
def test_matches_are_the_inner_join_on_the_strings(values: list, keys: list) -> None:
    left = pl.Series("value", values, pl.String).to_frame().with_row_index("i")
    right = pl.Series("value", keys, pl.String).to_frame().with_row_index("j")
    joined = left.join(right, on="value").select("i", "j")

    found = matches(left.get_column("value"), right.get_column("value"))

    assert sorted(found.rows()) == sorted(joined.rows())


@EXAMPLES
@given(_KEYS, _KEYS)
def test_contains_is_the_semi_join_on_the_strings(values: list, keys: list) -> None:
    frame = pl.Series("value", values, pl.String).to_frame()
    semi = frame.with_row_index("i").join(
        pl.Series("value", keys, pl.String).to_frame(), on="value", how="semi"
    )

    mask = contains(frame.get_column("value"), pl.Series(keys, dtype=pl.String))

    assert mask.arg_true().to_list() == semi.get_column("i").to_list()
