"""The kept unsent reports (`assets.report.outbox`): oldest first, each sent once, marked late.

Pins: kept reports are sent oldest first (by when they were kept), to the recipients given now,
their subject marked `[sent late]` once; each the relay took is renamed `sent-late.eml` at once
and never offered again; a message the relay refuses (an answer with a status) stays kept while
the next one goes; a relay that cannot be reached stops the rest, which stay kept; the report of
the run that is sending is left out of the late ones.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from assets.report.outbox import SENT_LATE, UNSENT, keep_unsent, send_unsent, unsent_reports
from resources.errors import RemoteError


def _keep(root: Path, run: str, kept_at: int) -> Path:
    message = EmailMessage()
    message["Subject"] = f"Huma ↔ Entra ID (acme): run {run}"
    message["From"] = "sync@acme.example"
    message["To"] = "old@acme.example"
    message.set_content(f"Run: {run}")
    folder = root / run
    folder.mkdir()
    path = keep_unsent(folder, message)
    os.utime(path, ns=(kept_at, kept_at))  # when it was kept, as the file system says
    return path


@pytest.fixture
def kept(tmp_path: Path) -> list[Path]:
    return [_keep(tmp_path, run, at) for run, at in (("b", 3), ("a", 1), ("c", 2))]


def test_kept_reports_go_oldest_first_once_to_the_recipients_now(
    tmp_path: Path, kept: list[Path]
) -> None:
    sent: list[EmailMessage] = []
    before = datetime.now(UTC)

    first = send_unsent(
        unsent_reports(tmp_path), sent.append, sender="s@acme.example", recipients=["it@acme.ex"]
    )
    after = datetime.now(UTC)
    again = send_unsent(
        unsent_reports(tmp_path), sent.append, sender="s@acme.example", recipients=["it@acme.ex"]
    )

    assert [m.get_content().strip() for m in sent] == ["Run: a", "Run: c", "Run: b"]
    assert all(str(m["Subject"]).startswith("[sent late] Huma") for m in sent)
    assert {str(m["To"]) for m in sent} == {"it@acme.ex"}
    assert [p.name for p in first.sent] == ["a", "c", "b"]
    assert list(first.sent_by_run()) == ["a", "c", "b"]
    assert all(before <= at <= after for at in first.sent_by_run().values())
    assert (first.still_unsent, again.sent) == ((), ())
    assert sorted(p.name for p in tmp_path.glob("*/*.eml")) == [SENT_LATE] * 3


def test_a_refused_report_stays_kept_and_the_next_goes(tmp_path: Path, kept: list[Path]) -> None:
    def send(message: EmailMessage) -> None:
        if "run c" in str(message["Subject"]):
            raise RemoteError("smtp", "the relay refused the message: 552 too big", status=552)

    done = send_unsent(unsent_reports(tmp_path), send, sender="", recipients=["it@acme.ex"])

    assert [p.name for p in done.sent] == ["a", "b"]
    assert done.still_unsent == (tmp_path / "c" / UNSENT,)
    assert "552" in (done.error or "")


def test_an_unreachable_relay_stops_the_rest(tmp_path: Path, kept: list[Path]) -> None:
    tried: list[str] = []

    def send(message: EmailMessage) -> None:
        tried.append(str(message["Subject"]))
        raise RemoteError("smtp", "sending failed after 3 attempts: Connection refused")

    done = send_unsent(unsent_reports(tmp_path), send, sender="", recipients=["it@acme.ex"])

    assert len(tried) == 1
    assert done.sent == ()
    assert sorted(done.still_unsent) == sorted(kept)


def test_the_sending_runs_own_report_is_not_a_late_one(tmp_path: Path, kept: list[Path]) -> None:
    assert unsent_reports(tmp_path, besides=tmp_path / "c") == [
        tmp_path / "a" / UNSENT,
        tmp_path / "b" / UNSENT,
    ]
