"""The CSV attachment: every failure, decision waiting, blocked change, email mismatch and drift
of a run, one row each.

It holds everything the email caps. UTF-8 with a byte order mark, so Excel opens names with
their accents intact. Names and remote error messages come from outside, and a spreadsheet
runs a cell that starts like a formula: every such cell is neutralised with a leading `'`
(OWASP, "CSV Injection"), and every cell is quoted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Final

from assets.report.model import RunReport

#: The columns, in order. `section`: `failure`, `decision` (waiting for a person), `blocked`,
#: `email_mismatch` or `drift` (the last two: never written; `fields` names the one field).
COLUMNS: Final = (
    "section",
    "change_id",
    "action",
    "status",
    "kind",
    "user",
    "name",
    "fields",
    "huma_values",
    "entra_values",
    "reason",
    "error",
    "remote_status",
    "remote_code",
    "request_id",
    "approve_command",
    "reject_command",
)

#: First characters a spreadsheet may read as the start of a formula or a field separator
#: (the full-width forms too: some spreadsheet versions treat them like the ASCII ones).
FORMULA_STARTS: Final = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)


def neutralise(cell: str) -> str:
    """The cell as a spreadsheet shows it without evaluating it: a leading `'` when needed."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def _rows(report: RunReport) -> Iterator[Mapping[str, object]]:
    for failure in report.failures.rows:
        yield {
            "section": "failure",
            "change_id": failure.change_id,
            "action": failure.action,
            "status": "failed",
            "user": failure.user,
            "fields": failure.fields,
            "error": failure.error,
            "remote_status": failure.remote_status,
            "remote_code": failure.remote_code,
            "request_id": failure.request_id,
        }
    for decision in report.pending.rows:
        yield {
            "section": "decision",
            "change_id": decision.change_id,
            "action": decision.action,
            "status": decision.status,
            "kind": decision.kind,
            "user": decision.user,
            "name": decision.name,
            "fields": decision.fields,
            "huma_values": decision.huma_values,
            "entra_values": decision.entra_values,
            "reason": decision.reason,
            # A conflict has one approval per winning side: one command per line of the cell.
            "approve_command": "\n".join(decision.approve_commands),
            "reject_command": decision.reject_command,
        }
    for blocked in report.blocked_changes.rows:
        yield {
            "section": "blocked",
            "change_id": blocked.change_id,
            "action": blocked.action,
            "status": "blocked",
            "user": blocked.user,
            "fields": blocked.fields,
            "reason": blocked.reason,
        }
    for difference in report.differences.rows:
        yield {
            "section": difference.kind,
            "user": difference.user,
            "fields": difference.field,
            "huma_values": difference.huma_value,
            "entra_values": difference.entra_value,
            "reason": difference.reason,
        }


def csv_bytes(report: RunReport) -> bytes:
    """The attachment's bytes (UTF-8 with BOM, CRLF lines, every cell quoted).

    Args:
        report: The run's report; the sections the attachment holds are complete.

    Returns:
        A header row and one row per failure, decision waiting, blocked change, email mismatch
        and drift.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for row in _rows(report):
        cells = ("" if row.get(name) is None else str(row.get(name)) for name in COLUMNS)
        writer.writerow([neutralise(cell) for cell in cells])
    return buffer.getvalue().encode("utf-8-sig")
