"""The fault matrix's table: one row per case, built from what each test under
`tests/reliability/` recorded with pytest's `record_property`.

A case records `case` (its short name), `runs` (how many runs or seeds it made),
`changes_lost` and `changes_applied_twice` (measured against the emulators' end state, request
logs and the journal). A test that records none of them is a case of its own name with one run and
blank figures. Parametrised tests of one case (seeds) add up into one row; a run counts as passed
when its test passed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Any

#: Only the tests of this folder are cases of the matrix.
MATRIX_FOLDER = "tests/reliability/"
HEADER = ("case", "runs", "passed", "changes lost", "changes applied twice")


@dataclasses.dataclass
class Row:
    case: str
    runs: int = 0
    passed: int = 0
    lost: int | None = None
    twice: int | None = None

    def add(self, runs: int, passed: bool, lost: int | None, twice: int | None) -> None:
        self.runs += runs
        self.passed += runs if passed else 0
        if lost is not None:
            self.lost = (self.lost or 0) + lost
        if twice is not None:
            self.twice = (self.twice or 0) + twice


def _test_name(nodeid: str) -> str:
    """`tests/reliability/test_x.py::test_y[seed-3]` -> `test_y` (the seeds make one case)."""
    return re.sub(r"\[.*\]$", "", nodeid.rsplit("::", 1)[-1])


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def rows(reports: Iterable[Any]) -> list[Row]:
    """One row per case from test reports (pytest `TestReport`s: `nodeid`, `when`, `outcome`,
    `user_properties`), in the order the cases first finished.

    A test counts once: its call report, or its set-up report when the set-up failed or skipped it.
    """
    outcome: dict[str, tuple[bool, dict[str, Any]]] = {}
    for report in reports:
        if not report.nodeid.startswith(MATRIX_FOLDER):
            continue
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            properties = dict(report.user_properties)
            passed = report.outcome == "passed"
            if report.nodeid in outcome:  # a teardown error after the call report cannot pass
                passed = passed and outcome[report.nodeid][0]
            outcome[report.nodeid] = (passed, properties)
        elif report.when == "teardown" and report.outcome == "failed" and report.nodeid in outcome:
            outcome[report.nodeid] = (False, outcome[report.nodeid][1])
    table: dict[str, Row] = {}
    for nodeid, (passed, properties) in outcome.items():
        case = str(properties.get("case") or _test_name(nodeid))
        row = table.setdefault(case, Row(case))
        row.add(
            int(properties.get("runs", 1)),
            passed,
            _int(properties.get("changes_lost")),
            _int(properties.get("changes_applied_twice")),
        )
    return list(table.values())


def total(table: Sequence[Row]) -> Row:
    """The sum of every row (a blank figure counts as nothing)."""
    whole = Row("**total**")
    for row in table:
        whole.add(0, True, row.lost, row.twice)
        whole.runs += row.runs
        whole.passed += row.passed
    return whole


def markdown(table: Sequence[Row]) -> list[str]:
    """The table and its total as aligned Markdown lines (pasteable into the README)."""

    def cells(row: Row) -> tuple[str, ...]:
        blank = lambda value: "" if value is None else str(value)  # noqa: E731
        return (row.case, str(row.runs), str(row.passed), blank(row.lost), blank(row.twice))

    body = [cells(row) for row in [*table, total(table)]]
    widths = [max(len(line[i]) for line in [HEADER, *body]) for i in range(len(HEADER))]

    def line(values: Sequence[str]) -> str:
        padded = [
            value.ljust(width) if i == 0 else value.rjust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "| "
        + " | ".join("-" * (w - 1) + ":" if i else "-" * w for i, w in enumerate(widths))
        + " |"
    )
    return [line(HEADER), rule, *(line(values) for values in body)]
