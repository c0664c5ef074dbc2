"""Reports the mail relay did not take: kept beside the run's report files, sent by a later run.

When a run's report cannot be sent (the relay is down, refuses, or keeps failing after its
retries), the message is kept as it was to be sent, `unsent.eml` in the run's report folder.
The connection's next run that sends its own report sends each kept one after it, oldest first,
to the connection's recipients as they are then, its subject marked as late, and renames the
file to `sent-late.eml` the moment the relay has taken it: a report is sent once it is taken, and
never again. Only a crash between the relay taking a report and the rename could send it twice.
The sending run then records, with its own end, that each report went out late and when
(`HistoryStore.finish_run(reports_sent_late=...)`): the late run's row no longer says it failed.

Why the reports folder and not the history: the report files are there already (written before
any send), a kept message needs no schema, and `ls <REPORTS_DIR>/<connection>/*/unsent.eml` shows
what waits. The folder must outlive the runs, as the history does.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Final, cast

from resources.errors import RemoteError
from resources.private_files import write_private

UNSENT: Final = "unsent.eml"
SENT_LATE: Final = "sent-late.eml"
LATE_PREFIX: Final = "[sent late] "


@dataclasses.dataclass(frozen=True)
class LateSending:
    """What became of the kept reports a run tried to send.

    Attributes:
        sent: The run folders whose kept report the relay took now.
        still_unsent: The kept reports still waiting (the relay refused or failed).
        error: The last send's error, when one failed.
        sent_at: When the relay took each report of `sent`, in the same order.
    """

    sent: tuple[Path, ...]
    still_unsent: tuple[Path, ...]
    error: str | None = None
    sent_at: tuple[datetime, ...] = ()

    def sent_by_run(self) -> dict[str, datetime]:
        """Run id (its report folder's name) → when its report went out late."""
        return {folder.name: at for folder, at in zip(self.sent, self.sent_at, strict=True)}


def keep_unsent(run_folder: Path, message: EmailMessage) -> Path:
    """Keep `message` as the run's unsent report (owner-only; replaced when kept again)."""
    path = run_folder / UNSENT
    partial = path.with_name(f".{path.name}.partial")
    write_private(partial, bytes(message))
    partial.replace(path)
    return path


def unsent_reports(connection_folder: Path, *, besides: Path | None = None) -> list[Path]:
    """The connection's kept unsent reports, oldest first (by when they were kept), without the
    one in the `besides` run folder."""
    found = [
        path
        for path in connection_folder.glob(f"*/{UNSENT}")
        if besides is None or path.parent != besides
    ]
    return sorted(found, key=lambda path: (path.stat().st_mtime_ns, path.parent.name))


def late_message(path: Path, *, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The kept report at `path`, addressed to `recipients` now, its subject marked late."""
    # The default policy parses into an `EmailMessage`.
    message = cast(
        EmailMessage, email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    )
    subject = str(message["Subject"] or "")
    del message["Subject"], message["To"]
    message["Subject"] = subject if subject.startswith(LATE_PREFIX) else LATE_PREFIX + subject
    message["To"] = [Address(addr_spec=address.strip()) for address in recipients]
    if sender:
        del message["From"]
        message["From"] = Address("Huma ↔ Entra ID", addr_spec=sender.strip())
    return message


def send_unsent(
    kept: Sequence[Path],
    send: Callable[[EmailMessage], None],
    *,
    sender: str,
    recipients: Sequence[str],
) -> LateSending:
    """Send each kept report, oldest first; rename each the relay took to `sent-late.eml`.

    A refusal of one message (an answer with a status) goes on to the next; a relay that cannot
    be reached stops the rest, which wait for the next run.
    """
    sent: list[Path] = []
    sent_at: list[datetime] = []
    error = None
    for path in kept:
        try:
            send(late_message(path, sender=sender, recipients=recipients))
        except RemoteError as exc:
            error = str(exc)
            if exc.status is None:
                break
            continue
        path.replace(path.with_name(SENT_LATE))
        sent.append(path.parent)
        sent_at.append(datetime.now(UTC))
    still = tuple(path for path in kept if path.exists())
    return LateSending(tuple(sent), still, error, tuple(sent_at))
