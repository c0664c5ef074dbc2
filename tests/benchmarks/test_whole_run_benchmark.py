"""The whole-run benchmark runs end to end at a tiny size and prints the table it promises.

Pins the shape, never a timing: both runs of a 200-person company pass every stage of the table
(start-up, both snapshots, validation and plan, history writes, apply, report, framework) with
numbers, the snapshots' requests are the emulators' answers, the floor has its four parts, and the
markdown and JSON files agree on the stages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import whole_run

STAGES = [
    "start-up (process start to first step)",
    "Huma snapshot",
    "Graph snapshot",
    "validation and plan",
    "history writes (all steps)",
    "apply",
    "report",
    "framework, between steps, exit",
]


@pytest.mark.slow
def test_the_benchmark_prints_every_stage_of_both_runs_beside_the_floor(tmp_path: Path) -> None:
    assert whole_run.main(["--users", "200", "--out", str(tmp_path)]) == 0

    report = json.loads((tmp_path / "whole-run.json").read_text())
    assert report["machine"]["cores"] >= 1
    [size] = report["sizes"]
    assert size["users"] == 200
    assert size["changed_people"] > 0
    for run in ("activation", "incremental"):
        stages = size[run]["stages"]
        assert [s["stage"] for s in stages] == STAGES
        for stage in stages:
            assert isinstance(stage["wall_s"], float)
            assert isinstance(stage["cpu_s"], float)
        by_name = {s["stage"]: s for s in stages}
        # One list page per 50 users and one detail per user, at least.
        assert by_name["Huma snapshot"]["requests"] > 200
        assert by_name["Graph snapshot"]["requests"] >= 1
        total = size[run]["total"]
        assert total["peak_mb"] > 0
        # The run's own high-water mark, which every step's peak is at most.
        assert total["peak_mb"] == total["sampled_peak_mb"]
        assert all(s["peak_mb"] is None or s["peak_mb"] <= total["peak_mb"] for s in stages)
        assert total["requests"] >= by_name["Huma snapshot"]["requests"]
    assert [p["part"].split(" ")[:2] for p in size["floor"]] == [
        ["tokens", "(Huma"],
        ["Graph", "pages"],
        ["Huma", "pages"],
        ["Huma", "details"],
    ]

    markdown = (tmp_path / "whole-run.md").read_text()
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| stage | activation s |")
    for stage in STAGES:
        assert any(line.startswith(f"| {stage} |") for line in table), stage
    assert "Ratios: incremental run / floor" in markdown
