"""The CSV attachment: every failure, decision waiting, blocked change, email mismatch and drift
of a run, one row each.

It holds everything the email caps, each value up to what a spreadsheet cell holds. UTF-8 with a
byte order mark, so Excel opens names with their accents intact. Names and remote error messages
come from outside, and a spreadsheet runs a cell that starts like a formula, also behind leading
blanks, a byte order mark or NUL (some spreadsheets skip them): every such cell is neutralised with
a leading `'` (OWASP, "CSV Injection"), and every cell is quoted. Control characters become spaces
(`assets.printable`), so a file shown on a terminal cannot drive it; a cell keeps only its line
feeds.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from typing import Final

from assets.printable import printable
from assets.report.model import RunReport
from assets.report.values import shortened

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

#: The most a spreadsheet cell holds (Excel's limit): a longer value is cut with its length
#: instead of spilling into the next cells.
CELL_CHARACTERS: Final = 32_767

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


#: What a spreadsheet may pass over before it reads a cell's first character: whitespace (any
#: Unicode space, tab, CR, LF), the byte order mark, NUL and the zero-width characters.
_SKIPPED_START: Final = re.compile(r"^[\s\x00\ufeff\u200b-\u200d\u2060]+")


def neutralise(cell: str) -> str:
    """The cell as a spreadsheet shows it without evaluating it: a leading `'` when it starts
    like a formula, whatever blank, byte order mark or NUL comes before."""
    start = _SKIPPED_START.sub("", cell)
    return (
        f"'{cell}" if cell.startswith(FORMULA_STARTS) or start.startswith(FORMULA_STARTS) else cell
    )


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
        writer.writerow(
            [
                neutralise(printable(shortened(cell, CELL_CHARACTERS), keep_lines=True))
                for cell in cells
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")
