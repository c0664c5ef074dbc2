"""The engine benchmark checks that its plans are the same, frame for frame, at a tiny size.

Pins the check, never a timing: every engine variant agrees on every frame of the result, a
result kept with `--save` compares equal with `--expect` on the same inputs, and a kept result
that differs in one frame is named as differing.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from benchmarks import engine

ARGS = ["--users", "300", "--shuffled", "--history", "--repeat", "1", "--no-python"]


def _run(argv: list[str]) -> str:
    out = io.StringIO()
    args = engine.parse_args(argv)
    for users in args.users:
        engine.run_size(users, args, out)
    return out.getvalue()


@pytest.mark.slow
def test_a_kept_result_compares_equal_and_a_changed_frame_is_named(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    first = _run([*ARGS, "--save", str(kept)])
    assert "the three engine results (every frame) agree row for row: True" in first

    again = _run([*ARGS, "--expect", str(kept)])
    assert f"Equal frame for frame to the result kept in {kept}: True" in again

    plan = pl.read_ipc(kept / "300" / "sync_plan.arrow")
    assert plan.height, "the tiny company has differing fields to plan"
    plan.with_columns(pl.col("change_id").reverse()).write_ipc(kept / "300" / "sync_plan.arrow")
    assert "(differing: sync_plan)" in _run([*ARGS, "--expect", str(kept)])
