"""The CSV attachment: every failure, decision waiting, blocked change, email mismatch and drift,
safe in a spreadsheet.

Pins: a cell that starts like a formula (`=`, `+`, `-`, `@`, tab, CR, LF, and their full-width
forms), also behind blanks, a byte order mark, NUL or a zero-width character, gets a leading
`'`, whatever column it is in (names and remote messages included); other cells are untouched;
the file is UTF-8 with a BOM and reads back through `csv` row for row, with every row of the
sections the email caps.
"""

from __future__ import annotations

import csv
import io

import pytest

from assets.report.attachment import COLUMNS, neutralise
from assets.report.render import render_report
from tests.report.report_frames import (
    field_diff,
    outcome,
    outcomes,
    plan,
    plan_row,
    report_of,
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")', id="equals"),
        pytest.param("+4790000001", "'+4790000001", id="plus"),
        pytest.param("-2+3", "'-2+3", id="minus"),
        pytest.param("@SUM(A1)", "'@SUM(A1)", id="at"),
        pytest.param("\t=1", "'\t=1", id="tab"),
        pytest.param("\r=1", "'\r=1", id="carriage-return"),
        pytest.param("\uff1d1+1", "'\uff1d1+1", id="full-width-equals"),
        pytest.param(" =1+1", "' =1+1", id="space-then-equals"),
        pytest.param("\u00a0\u3000+1", "'\u00a0\u3000+1", id="unicode-spaces-then-plus"),
        pytest.param("\ufeff=1", "'\ufeff=1", id="byte-order-mark-then-equals"),
        pytest.param("\x00@SUM(A1)", "'\x00@SUM(A1)", id="nul-then-at"),
        pytest.param(" \t\r-2", "' \t\r-2", id="blanks-then-minus"),
        pytest.param("\u200b=1", "'\u200b=1", id="zero-width-space-then-equals"),
        pytest.param("  Ann Lee", "  Ann Lee", id="leading-spaces-name"),
        pytest.param("Ann Lee", "Ann Lee", id="name"),
        pytest.param("ann@example.com", "ann@example.com", id="email"),
        pytest.param("1+1=2", "1+1=2", id="formula-sign-inside"),
        pytest.param("", "", id="empty"),
        pytest.param("Åse Øvrebø", "Åse Øvrebø", id="non-ascii"),
    ],
)
def test_neutralise(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


def _read(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_round_trip_with_dangerous_names_and_messages() -> None:
    pending = plan_row(
        "n1",
        "create_entra",
        "pending",
        email="new@example.com",
        fields=("given_name",),
        huma={"display_name": "=cmd|' /C calc'!A0", "given_name": "=cmd"},
        kind="create",
    )
    failing = plan_row("f1", email="cy@example.com")
    blocked = plan_row("b1", "create_huma", "blocked", blocked_reason="-no default group")
    report = report_of(
        plan(pending, failing, blocked),
        outcomes(outcome("f1", "failed", error="@SUM(1+1) refused", remote_status=400)),
    )

    rows = _read(render_report(report).csv_bytes)

    assert [(r["section"], r["change_id"]) for r in rows] == [
        ("failure", "f1"),
        ("decision", "n1"),
        ("blocked", "b1"),
    ]
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["error"] == "'@SUM(1+1) refused"
    assert rows[0]["remote_status"] == "400"
    assert rows[1]["name"] == "'=cmd|' /C calc'!A0"
    assert rows[1]["huma_values"] == "given_name: =cmd"
    assert rows[1]["approve_command"] == (
        "huma-entra-sync decisions approve --connection acme --id n1"
    )
    assert rows[2]["reason"] == "'-no default group"
    assert rows[0]["user"] == "cy@example.com"


def test_every_row_of_a_capped_section() -> None:
    failed = [plan_row(f"f{i}", email=f"q{i}@example.com") for i in range(6)]
    results = [outcome(r["change_id"], "failed", error="no") for r in failed]

    rows = _read(
        render_report(report_of(plan(*failed), outcomes(*results), max_listed=2)).csv_bytes
    )

    assert [r["change_id"] for r in rows] == [f"f{i}" for i in range(6)]


def test_a_conflict_lists_one_approval_per_winning_side() -> None:
    conflict = plan_row(
        "c1",
        "resolve_conflict",
        "pending",
        fields=("phone",),
        huma={"phone": "+4711"},
        entra={"phone": "+4722"},
        kind="conflict",
    )

    [row] = _read(render_report(report_of(plan(conflict))).csv_bytes)

    assert row["approve_command"].splitlines() == [
        "huma-entra-sync decisions approve --connection acme --id c1 --winner huma",
        "huma-entra-sync decisions approve --connection acme --id c1 --winner entra",
    ]
    assert (row["huma_values"], row["entra_values"]) == ("phone: +4711", "phone: +4722")


def test_an_empty_run_has_only_the_header() -> None:
    assert _read(render_report(report_of()).csv_bytes) == []


def test_every_email_mismatch_and_drift_has_a_row() -> None:
    diffs = [
        field_diff("job_title", f"T{i}", f"X{i}", email=f"p{i}@example.com", case="entra_changed")
        for i in range(3)
    ]
    mismatch = field_diff(
        "email",
        "ann.lee@example.com",
        "ann.l@example.com",
        case="email_mismatch",
        outcome="report_only",
    )

    rows = _read(render_report(report_of(diffs=[*diffs, mismatch], max_listed=1)).csv_bytes)

    assert [(r["section"], r["user"], r["fields"]) for r in rows] == [
        ("email_mismatch", "ann.lee@example.com", "email"),
        *(("drift", f"p{i}@example.com", "job_title") for i in range(3)),
    ]
    assert (rows[1]["huma_values"], rows[1]["entra_values"]) == ("T0", "X0")
    assert "never written" in rows[0]["reason"]


def test_an_outsized_value_fills_one_cell_at_most_and_the_email_names_it_shortened() -> None:
    """An address of a hundred thousand characters (blocked: Entra refuses it) fits no
    spreadsheet cell (32,767 characters in Excel: the rest spills into the next cells) and would
    swell every report: the cell keeps what a cell holds and says the length, the email shows
    its start and its length, and both still name the user and the reason."""
    outsized = "ann" + "n" * 100_000 + "@example.com"
    row = plan_row(
        "b1",
        "create_entra",
        "blocked",
        email=outsized,
        blocked_reason="Entra does not accept this address's local part",
    )

    rendered = render_report(report_of(plan(row)))

    [blocked] = [r for r in _read(rendered.csv_bytes) if r["section"] == "blocked"]
    assert blocked["user"].startswith("ann" + "n" * 1000)
    assert blocked["user"].endswith(f"({len(outsized):,} characters in all)")
    assert blocked["reason"] == "Entra does not accept this address's local part"
    assert len(blocked["user"]) < len(outsized)
    for part in (rendered.html, rendered.text):
        assert outsized not in part
        assert f"{len(outsized):,} characters in all" in part
        assert "Entra does not accept this address" in part
