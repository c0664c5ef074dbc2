"""The result email end to end: rendered, assembled, sent over STARTTLS with login, received.

Pins: against a real SMTP server on loopback (STARTTLS and login required), the report arrives
with its subject, both parts carrying the right counts, the CSV attachment intact, and a name
containing `<script>` escaped in the HTML part and verbatim in the text part.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest

from assets.report.message import email_message
from assets.report.render import render_report
from emulators.smtp import MailServer
from resources.smtp import SmtpResource
from tests.report.report_frames import SCRIPT_NAME, outcome, outcomes, plan, plan_row, report_of

PASSWORD = "report-relay-Lk42"


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServer]:
    tls_dir = tmp_path_factory.mktemp("report-smtp") / "tls"
    with MailServer(tls_dir=tls_dir, username="reports", password=PASSWORD) as server:
        yield server


def test_the_report_arrives_with_counts_attachment_and_escaped_names(
    mail_server: MailServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(mail_server.ca_bundle))
    created = {"display_name": f"{SCRIPT_NAME} Lee", "given_name": SCRIPT_NAME}
    rows = plan(
        plan_row("u1", email="ann@example.com"),
        plan_row("u2", email="bo@example.com"),
        plan_row("f1", email="cy@example.com"),
        plan_row(
            "n1",
            "create_entra",
            "pending",
            email="new@example.com",
            huma=created,
            after=created,
            fields=sorted(created),
            kind="create",
        ),
    )
    results = outcomes(
        outcome("u1"),
        outcome("u2"),
        outcome(
            "f1",
            "failed",
            error="Invalid <b>jobTitle</b>",
            remote_status=400,
            remote_code="Request_BadRequest",
            request_id="req-42",
        ),
    )
    rendered = render_report(report_of(rows, results))
    relay = SmtpResource(
        host=mail_server.host, port=mail_server.port, username="reports", password=PASSWORD
    )
    before = len(mail_server.received)

    relay.send(
        message=email_message(
            rendered, sender="sync@example.com", recipients=["it@example.com", "hr@example.com"]
        )
    )

    [mail] = mail_server.received[before:]
    received = mail.message
    assert mail.recipients == ("it@example.com", "hr@example.com")
    assert received["Subject"] == (
        "Huma ↔ Entra ID (acme): 2 changes applied, 1 waiting for you, 1 failed"
    )
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "update in Entra ID: 3 (2 applied, 1 failed)" in text
    assert "create in Entra ID: 1 (1 waiting for you)" in text
    cells = re.search(r"update in Entra ID</td>(.*?)</tr>", html).group(1)
    assert re.findall(r">(\d+)</td>", cells) == ["0", "2", "1", "3"]
    assert f"{SCRIPT_NAME} Lee" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Lee" in html
    assert "<script" not in html.lower()
    assert "&lt;b&gt;jobTitle&lt;/b&gt;" in html
    [attachment] = received.iter_attachments()
    assert attachment.get_filename() == rendered.csv_name
    data = attachment.get_payload(decode=True)
    assert data == rendered.csv_bytes
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [(r["section"], r["change_id"]) for r in table] == [
        ("failure", "f1"),
        ("decision", "n1"),
    ]
