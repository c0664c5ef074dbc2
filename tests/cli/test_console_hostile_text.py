"""What the console script prints of Huma's and Entra's text cannot drive the terminal (SPEC §12).

Pins: names, values, remote errors and ids carrying escape sequences (colours, screen clears,
OSC 8 hyperlinks), a lone C1 CSI, bidirectional overrides or line breaks are printed with those
characters turned into spaces by `decisions list` (table), the rollback plan and result, and
every error message; `decisions list --format json` keeps every value whole (the JSON decodes to
the very text) while its output holds no raw control character either.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Final

import pytest

from assets.apply.results import WriteResult
from assets.rollback.execute import RollbackRun
from assets.rollback.plan import Judged, NotUndone, Restore
from assets.rollback.resume import Finished
from cli.console import CommandError, fail
from cli.decision_views import as_json, table
from cli.rollback_views import plan_text, result_text

HYPERLINK: Final = "\x1b]8;;https://evil.example/\x1b\\Click me\x1b]8;;\x1b\\"
HOSTILE: Final = (
    "Eve\x1b[31mRed\x1b[0m\x1b[2J",
    HYPERLINK,
    "Mal\x9b31mlory",
    "Ann\u202etxt.exe",
    "Bo\r\nFAILED ceo@example.com",
    "\x07\x08\x7f",
)
#: Characters a terminal acts on: C0 and C1 controls, DEL, line and paragraph separators,
#: bidirectional embeddings, overrides and isolates.
CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
DECIDED_AT: Final = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _inert(output: str) -> bool:
    """No control character but the line feeds of the output's own layout."""
    return not CONTROL.search(output.replace("\n", ""))


def _decision_row(text: str) -> dict[str, Any]:
    """One waiting conflict (`PENDING_DECISIONS_SCHEMA` plus `latest_comment`), all `text`."""
    values = json.dumps({"address": {"line1": text, "city": text, "country": text}})
    return {
        "change_id": "c0ffee0123456789",
        "run_id": "acme-2",
        "decision_kind": "conflict",
        "action": "resolve_conflict",
        "status": "pending",
        "email_key": text,
        "huma_id": text,
        "entra_id": text,
        "fields": ["address"],
        "huma_values": values,
        "entra_values": json.dumps({"address": {"line1": text}}),
        "direction": None,
        "reason": text,
        "blocked_reason": text,
        "latest_verdict": "approve",
        "latest_winner": "huma",
        "latest_decided_at": DECIDED_AT,
        "latest_decided_by": text,
        "latest_comment": text,
    }


@pytest.mark.parametrize("text", HOSTILE)
def test_the_decisions_table_prints_no_control_sequence(text: str) -> None:
    output = table([_decision_row(text), _decision_row("plain")])

    assert _inert(output)
    assert len(output.splitlines()) == 3


@pytest.mark.parametrize("text", HOSTILE)
def test_the_decisions_json_keeps_values_whole_without_raw_controls(text: str) -> None:
    output = as_json([_decision_row(text)])

    assert _inert(output)
    [item] = json.loads(output)
    assert item["email"] == text
    assert item["huma_values"]["address"]["city"] == text
    assert item["decided_since"]["comment"] == text


def _restore(text: str, system: str = "graph") -> Restore:
    return Restore(
        change_id="c0ffee0123456789",
        step=1,
        system=system,
        target_id=text,
        units=("job_title",),
        before={"job_title": text},
        written={"jobTitle": text},
        body={"jobTitle": text},
        huma_id=text,
        email=text,
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_the_rollback_plan_and_result_print_no_control_sequence(text: str) -> None:
    record = SimpleNamespace(
        run_id="acme-2", mode="apply", connection="acme", started_at=DECIDED_AT
    )
    judged = [
        Judged(_restore(text), "restore"),
        Judged(_restore(text), "already_restored"),
        Judged(_restore(text), "moved", moved=(("jobTitle", text, text),)),
        Judged(_restore(text), "gone"),
    ]
    not_undone = [NotUndone("c0ffee0123456789", "graph", "create", text, text, text)]
    done = RollbackRun(
        run_id="rollback-1",
        judged=judged,
        results=[WriteResult("c0ffee0123456789", "failed", error=text)],
        baseline_reset=0,
        finished=Finished(run_ids=(), marked=0, reset=()),
    )

    plan = plan_text(record, judged, not_undone, [])  # type: ignore[arg-type]
    result = result_text(done)

    assert _inert(plan)
    assert _inert(result)
    assert len(plan.splitlines()) == 10
    assert len(result.splitlines()) == 4


@pytest.mark.parametrize("text", HOSTILE)
def test_an_error_message_prints_no_control_sequence(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fail(CommandError(f"Graph refused the change: {text}")) == 1

    assert _inert(capsys.readouterr().err)
