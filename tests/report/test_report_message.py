"""The report as an email message, and as files kept with the run.

Pins: the message is text and HTML as alternatives plus the CSV attached; nothing in a
connection name or an address can add a header (newlines are refused or flattened); a message
without recipients is refused; the kept files hold exactly what was rendered and a second
write replaces them whole.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from assets.report.message import email_message, write_report_files
from assets.report.render import RenderedEmail, render_report
from tests.report.report_frames import SCRIPT_NAME, outcome, outcomes, plan, plan_row, report_of


def _rendered(**options) -> RenderedEmail:
    rows = plan(plan_row("u1"), plan_row("f1", after={"given_name": SCRIPT_NAME}))
    results = outcomes(outcome("u1"), outcome("f1", "failed", error="refused"))
    return render_report(report_of(rows, results, **options))


def test_alternative_parts_and_the_csv_attached() -> None:
    rendered = _rendered()
    sent_at = datetime(2026, 3, 1, 2, 5, tzinfo=UTC)

    message = email_message(
        rendered,
        sender="sync@example.com",
        recipients=["it@example.com", "hr@example.com"],
        sent_at=sent_at,
    )

    assert message.get_content_type() == "multipart/mixed"
    assert message["To"] == "it@example.com, hr@example.com"
    assert message["From"].addresses[0].addr_spec == "sync@example.com"
    assert message["Subject"] == rendered.subject
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime == sent_at
    body = {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if not part.is_multipart() and not part.is_attachment()
    }
    assert body == {"text/plain": rendered.text, "text/html": rendered.html}
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == rendered.csv_name
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True) == rendered.csv_bytes


@pytest.mark.parametrize(
    ("sender", "recipients"),
    [
        pytest.param(
            "sync@example.com\r\nBcc: x@evil.example", ["it@example.com"], id="newline-in-sender"
        ),
        pytest.param(
            "sync@example.com", ["it@example.com\nBcc: x@evil.example"], id="newline-in-recipient"
        ),
        pytest.param(
            "sync@example.com", ["it@example.com, x@evil.example"], id="two-addresses-in-one"
        ),
        pytest.param("sync@example.com", ["not an address"], id="not-an-address"),
        pytest.param("sync@example.com", [], id="no-recipient"),
    ],
)
def test_addresses_cannot_smuggle_headers(sender: str, recipients: list[str]) -> None:
    with pytest.raises(ValueError, match=r"address|recipient"):
        email_message(_rendered(), sender=sender, recipients=recipients)


def test_a_newline_in_the_connection_name_adds_no_header() -> None:
    rendered = _rendered(connection="acme\r\nBcc: x@evil.example")

    message = email_message(rendered, sender="sync@example.com", recipients=["it@example.com"])

    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]
    headers = message.as_bytes().split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in headers
    assert "Bcc" not in message


def test_report_files_kept_per_run(tmp_path: Path) -> None:
    first, second = _rendered(run_id="run-1"), _rendered(run_id="run-1", mode="dry_run")
    directory = tmp_path / "acme" / "run-1"

    write_report_files(first, directory)
    files = write_report_files(second, directory)

    assert files.html.read_text(encoding="utf-8") == second.html
    assert files.text.read_text(encoding="utf-8") == second.text
    assert files.csv.read_bytes() == second.csv_bytes
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        ["report.html", "report.txt", second.csv_name]
    )
