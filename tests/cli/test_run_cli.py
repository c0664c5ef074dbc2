"""`huma-entra-sync run` refuses an override it cannot record (SPEC §7, §11): who and why.

Pins: `--override-guard` without a reason is a usage error (exit 2) when stdin is not a terminal,
and when the person at a terminal gives none; `--by` or `--reason` without an override is a
usage error too. Nothing is run, so the history is not touched.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cli.main import main
from tests.cli.conftest import Deployment


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        pytest.param(["--override-guard", "mass_change"], "--reason", id="no-reason"),
        pytest.param(
            ["--override-guard", "mass_change", "--reason", "  "], "--reason", id="blank-reason"
        ),
        pytest.param(["--reason", "cleanup"], "--override-guard", id="reason-alone"),
        pytest.param(["--by", "kari"], "--override-guard", id="by-alone"),
    ],
)
def test_an_override_without_a_reason_is_a_usage_error(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], arguments: list[str], said: str
) -> None:
    runs_before = deployment.store.runs(connection="acme").height

    assert main(["run", "--connection", "acme", *arguments]) == 2

    assert said in capsys.readouterr().err
    assert deployment.store.runs(connection="acme").height == runs_before


def test_a_person_at_a_terminal_who_gives_no_reason_runs_nothing(
    deployment: Deployment, terminal: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    terminal("\n")

    assert main(["run", "--connection", "acme", "--override-guard", "snapshot_shrink"]) == 2

    captured = capsys.readouterr()
    assert "Why may snapshot_shrink be let through?" in captured.out
    assert "--reason" in captured.err
