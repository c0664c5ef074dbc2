"""The fault matrix (`make reliability`): every test in this folder is a case, an end-to-end run
against the emulators with a fault injected, that ends in the same state as a clean run or stops
safely with a clear reason. At the end of the session the cases' figures are printed as one
Markdown table (`tests/reliability/matrix.py`).

The emulators and the console-driven deployment are the shared ones (`tests/console_deployment.py`).
"""

from __future__ import annotations

import pytest

from tests.console_deployment import (  # noqa: F401 - fixtures
    deployment,
    graph_resource,
    outside,
    outside_session,
    world,
)
from tests.reliability.inprocess import in_process  # noqa: F401 - fixture
from tests.reliability.matrix import markdown, rows


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    reports = [
        report
        for outcome in ("passed", "failed", "error", "skipped")
        for report in terminalreporter.stats.get(outcome, [])
        if hasattr(report, "nodeid") and hasattr(report, "when")
    ]
    table = rows(reports)
    if not table:
        return
    terminalreporter.write_sep("=", "fault matrix")
    for line in markdown(table):
        terminalreporter.write_line(line)
