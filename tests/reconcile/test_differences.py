"""What the differences of linked pairs carry from the kept state (`reconcile.differences`).

Pins: `with_link_age` marks a pair new only when its link was made after the activation (never
before the first run, never for a link made at or before it, nor for a pair without a link), in
the order of the differences; `with_baseline` attaches the kept row of each differing field,
the same from an eager baseline and from a scan of a Parquet file, and says when there is none.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from reconcile.differences import with_baseline, with_link_age
from reconcile.state import ACTIVATION_SCHEMA, BASELINE_SCHEMA, LINKS_SCHEMA
from tests.reference.builders import RUN_AT

_ACTIVATED_AT = RUN_AT - timedelta(days=10)


def _links(*rows: tuple[str, str, object]) -> pl.DataFrame:
    return pl.DataFrame(
        [(huma, entra, at, "email") for huma, entra, at in rows], schema=LINKS_SCHEMA, orient="row"
    )


def _diffs(*pairs: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"huma_id": [h for h, _ in pairs], "entra_id": [e for _, e in pairs]},
        schema={"huma_id": pl.String(), "entra_id": pl.String()},
    ).with_columns(field=pl.lit("phone"))


_LINKS = _links(
    ("h-before", "e-before", _ACTIVATED_AT - timedelta(days=1)),
    ("h-at", "e-at", _ACTIVATED_AT),
    ("h-after", "e-after", _ACTIVATED_AT + timedelta(days=1)),
    ("h-unknown", "e-unknown", None),
)


@pytest.mark.parametrize(
    ("huma_id", "entra_id", "new"),
    [
        pytest.param("h-before", "e-before", False, id="linked-before-activation"),
        pytest.param("h-at", "e-at", False, id="linked-at-activation"),
        pytest.param("h-after", "e-after", True, id="linked-after-activation"),
        pytest.param("h-unknown", "e-unknown", False, id="link-time-unknown"),
        pytest.param("h-after", "e-other", False, id="not-this-link"),
        pytest.param("h-none", "e-none", False, id="no-link"),
    ],
)
def test_a_pair_is_new_only_when_linked_after_the_activation(
    huma_id: str, entra_id: str, new: bool
) -> None:
    activation = pl.DataFrame({"activated_at": [_ACTIVATED_AT]}, schema=ACTIVATION_SCHEMA)
    marked = with_link_age(_diffs((huma_id, entra_id)), _LINKS, activation)
    assert marked.get_column("new_pair").to_list() == [new]


def test_before_the_first_run_no_pair_is_new() -> None:
    marked = with_link_age(
        _diffs(("h-after", "e-after")), _LINKS, pl.DataFrame(schema=ACTIVATION_SCHEMA)
    )
    assert marked.get_column("new_pair").to_list() == [False]


def test_link_age_keeps_the_differences_in_their_order() -> None:
    pairs = [("h-none", "e-none"), ("h-after", "e-after"), ("h-before", "e-before")] * 3
    activation = pl.DataFrame({"activated_at": [_ACTIVATED_AT]}, schema=ACTIVATION_SCHEMA)
    marked = with_link_age(_diffs(*pairs), _LINKS, activation)
    assert marked.select("huma_id", "entra_id").rows() == pairs
    assert marked.get_column("new_pair").to_list() == [False, True, False] * 3


_BASELINE = pl.DataFrame(
    [
        ("h-1", "phone", True, "+4711", "+4711", "+4712"),
        ("h-1", "job_title", True, "Engineer", "Engineer", "Engineer"),
        ("h-2", "phone", False, None, "+4721", "+4722"),
    ],
    schema=BASELINE_SCHEMA,
    orient="row",
)


@pytest.mark.parametrize("kind", ["eager", "scanned"])
def test_each_difference_gets_its_kept_row_or_none(kind: str, tmp_path: Path) -> None:
    baseline: pl.DataFrame | pl.LazyFrame = _BASELINE
    if kind == "scanned":
        _BASELINE.write_parquet(tmp_path / "baseline.parquet")
        baseline = pl.scan_parquet(tmp_path / "baseline.parquet")
    diffs = _diffs(("h-1", "e-1"), ("h-2", "e-2"), ("h-3", "e-3"))
    attached = with_baseline(diffs, baseline)
    expected = diffs.with_columns(
        has_row=pl.Series([True, True, False]),
        has_agreed=pl.Series([True, False, False]),
        agreed=pl.Series(["+4711", None, None], dtype=pl.String),
        huma_seen=pl.Series(["+4711", "+4721", None], dtype=pl.String),
    )
    assert_frame_equal(attached, expected)
