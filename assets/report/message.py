"""The rendered report as an email message, and as the files kept with the run.

The message is multipart: the text and HTML bodies as alternatives, and the CSV attached. Every
header value is checked or reduced to one line, so nothing a name or a setting holds can add a
header (a `Bcc:` smuggled in through a newline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from assets.printable import one_line
from assets.report.render import PRODUCT, RenderedEmail
from resources.private_files import private_folder, write_private


def _address(text: str, role: str) -> Address:
    try:
        return Address(addr_spec=text.strip())
    except ValueError as exc:  # the email package's header defects are ValueErrors too
        raise ValueError(f"the {role} address {text!r} is not one plain address: {exc}") from None


def alternative_message(
    *,
    subject: str,
    text: str,
    html: str,
    sender: str,
    recipients: Sequence[str],
    sent_at: datetime | None = None,
) -> EmailMessage:
    """A message from the sync, text and HTML as alternatives (the report's, the run-failure
    email's).

    Args:
        subject: The subject (reduced to one line).
        text: The plain-text body.
        html: The HTML body.
        sender: The `From` address (a plain address, `sync@example.com`).
        recipients: The `To` addresses (plain addresses; at least one).
        sent_at: The `Date` header's time (timezone-aware); left to the relay when None.

    Returns:
        A `multipart/alternative` message (text, HTML).

    Raises:
        ValueError: No recipient, or an address that is not exactly one plain address.
    """
    if not recipients:
        raise ValueError("the message needs at least one recipient")
    sender_address = _address(sender, "sender")
    message = EmailMessage()
    message["Subject"] = one_line(subject)
    message["From"] = Address(PRODUCT, addr_spec=sender_address.addr_spec)
    message["To"] = [_address(recipient, "recipient") for recipient in recipients]
    # RFC 3834: an automatic message; out-of-office replies should not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message["Message-ID"] = make_msgid(domain=sender_address.domain)
    if sent_at is not None:
        message["Date"] = format_datetime(sent_at)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def email_message(
    rendered: RenderedEmail,
    *,
    sender: str,
    recipients: Sequence[str],
    sent_at: datetime | None = None,
) -> EmailMessage:
    """The report as a message ready for `SmtpResource.send`.

    Args:
        rendered: The rendered report.
        sender: The `From` address (a plain address, `sync@example.com`).
        recipients: The `To` addresses (plain addresses; at least one).
        sent_at: The `Date` header's time (timezone-aware); left to the relay when None.

    Returns:
        A `multipart/mixed` message: `multipart/alternative` (text, HTML) and the CSV.

    Raises:
        ValueError: No recipient, or an address that is not exactly one plain address.
    """
    message = alternative_message(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender=sender,
        recipients=recipients,
        sent_at=sent_at,
    )
    message.add_attachment(
        rendered.csv_bytes, maintype="text", subtype="csv", filename=rendered.csv_name
    )
    return message


@dataclass(frozen=True)
class ReportFiles:
    """Where one run's report was kept."""

    html: Path
    text: Path
    csv: Path


def _write(path: Path, data: bytes) -> Path:
    # Write beside the target and rename: a reader never sees half a report.
    partial = path.with_name(f".{path.name}.partial")
    write_private(partial, data)
    partial.replace(path)
    return path


def write_report_files(rendered: RenderedEmail, directory: Path) -> ReportFiles:
    """Keep the rendered report as files in `directory` (one directory per run; made if needed),
    readable by their owner only: the report names people and their values.

    Args:
        rendered: The rendered report.
        directory: The run's report directory; files already there are replaced.

    Returns:
        The paths of `report.html`, `report.txt` and the CSV.
    """
    private_folder(directory)
    return ReportFiles(
        html=_write(directory / "report.html", rendered.html.encode("utf-8")),
        text=_write(directory / "report.txt", rendered.text.encode("utf-8")),
        csv=_write(directory / rendered.csv_name, rendered.csv_bytes),
    )
