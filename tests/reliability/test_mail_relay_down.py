"""The mail relay down, or refusing, at the end of a run: the work stands, the report waits.

The real command (`huma-entra-sync run`, in its own process, the same Dagster job the schedule
runs) against the emulators and a real SMTP server on loopback (STARTTLS and login required):

1. the relay is down (its port refuses connections): the run's results are kept (the run
   `succeeded`, its plan rows `applied`, its journal settled), the report file is written, the
   run is marked (the history's `email_status`, the report asset's metadata, the run tag say the
   report was NOT sent, with the relay's error and never the relay's password), the message is
   kept unsent, and the command exits 1 with a message saying the changes are applied;
2. the relay is up but refuses every message (554): the same, a second report waits;
3. the relay takes mail again: the run sends its own report and then both waiting ones, each
   exactly once, marked late; the command exits 0;
4. the next run sends only its own report: a report sent is never sent again;
5. the runs whose reports went out late say so: their `email_status` says when and by which run
   (and what happened at their own end), their run tag says `sent late`.

Records `case`, `runs`, `changes_lost` (changes the runs planned and did not apply, plus
reports that never arrived) and `changes_applied_twice` (writes the emulators took twice, plus
reports that arrived twice), all measured.
"""

from __future__ import annotations

import re
import socket
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from emulators.smtp import MailServer
from tests.console_deployment import CONNECTIONS, console, deployment_environment, finished_run
from tests.resources.conftest import Outside, outside, outside_session, world  # noqa: F401

RELAY_USER = "reports"
RELAY_PASSWORD = "relay-Secret-9Zq"
RECIPIENTS = ("it@acme.example", "hr@acme.example")
REPORTING_CONNECTIONS = (
    CONNECTIONS
    + f"""\
    report:
      recipients: [{", ".join(RECIPIENTS)}]
      sender: sync@acme.example
"""
)
#: SPEC §11: 1 when the work failed; the run's report is part of its work.
NOT_SENT_EXIT = 1
#: Runs of the real command, each its own process: minutes on a loaded machine.
pytestmark = pytest.mark.slow


@pytest.fixture
def relay(outside: Outside) -> Iterator[MailServer]:  # noqa: F811 - the fixture
    """A mail relay trusted through the emulators' own CA."""
    with MailServer(
        tls_dir=outside.emulators.state_dir / "tls", username=RELAY_USER, password=RELAY_PASSWORD
    ) as server:
        yield server


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound and never listened on: every connection to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def _environment(emulated: Outside, folder: Path, relay: MailServer, port: int) -> dict[str, str]:
    connections = folder / "connections.yaml"
    connections.write_text(REPORTING_CONNECTIONS, encoding="utf-8")
    return deployment_environment(emulated.env, folder) | {
        "HUMA_ENTRA_SYNC_CONNECTIONS": str(connections),
        "SMTP_HOST": relay.host,
        "SMTP_PORT": str(port),
        "SMTP_USERNAME": RELAY_USER,
        "SMTP_PASSWORD": RELAY_PASSWORD,
    }


def _run_id(done: subprocess.CompletedProcess[str]) -> str:
    """The run a `huma-entra-sync run` that did its work names (whatever its exit code)."""
    found = re.search(r"^acme: run (\S+) finished$", done.stdout, re.MULTILINE)
    assert found, done.stdout + done.stderr
    return found.group(1)


def _run_row(history: Path, run_id: str) -> dict:
    with duckdb.connect(str(history), read_only=True) as conn:
        found = conn.execute(
            "SELECT outcome, email_status, report_path, ended_at FROM runs WHERE run_id = ?",
            [run_id],
        ).fetchall()
        [(outcome, email_status, report_path, ended_at)] = found
        [(planned_writes, applied, still_open)] = conn.execute(
            "SELECT count(*) FILTER (WHERE planned_status = 'auto_approved'), "
            "count(*) FILTER (WHERE status = 'applied'), "
            "(SELECT count(*) FROM apply_journal WHERE run_id = ? AND status IS NULL) "
            "FROM sync_plan_current WHERE run_id = ? AND action LIKE 'update%'",
            [run_id, run_id],
        ).fetchall()
    return {
        "outcome": outcome,
        "email_status": email_status,
        "report_path": report_path,
        "ended": ended_at is not None,
        "ended_at": ended_at,
        "planned_writes": planned_writes,
        "applied": applied,
        "still_open": still_open,
    }


def _report_materialization(folder: Path, run_id: str) -> dict:
    """The report asset's metadata and the run's tags, as the Dagster instance kept them."""
    with dg.DagsterInstance.from_config(str(folder / "dagster")) as instance:
        events = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        tags = instance.get_run_by_id(run_id).tags
    for record in events:
        materialization = record.event_log_entry.asset_materialization
        if materialization.asset_key == dg.AssetKey(["acme", "sync_report"]):
            metadata = {k: v.value for k, v in materialization.metadata.items()}
            return {"metadata": metadata, "tags": tags}
    raise AssertionError(f"run {run_id} materialised no report")


def _writes_applied(emulated: Outside) -> Counter:
    applied: Counter = Counter()
    for name, admin in (("huma", emulated.huma), ("graph", emulated.entra)):
        for entry in admin.requests():
            write = entry["method"] in ("PATCH", "POST") and entry["path"].rstrip("/").split("/")[
                -1
            ] not in ("$batch", "token")
            if write and entry["status"] is not None and 200 <= entry["status"] < 300:
                applied[(name, entry["method"], entry["path"], str(entry["body"]))] += 1
    return applied


def test_reports_the_relay_did_not_take_are_kept_and_sent_once_by_the_next_run(
    outside: Outside,  # noqa: F811 - the fixture
    relay: MailServer,
    closed_port: int,
    tmp_path: Path,
    record_property,
) -> None:
    history = tmp_path / "history.duckdb"
    received_before = len(relay.received)

    # 1. The relay is down.
    down = console("run", env=_environment(outside, tmp_path, relay, closed_port))
    # 2. The relay refuses every message.
    relay.refuse_with = "554 5.7.1 Message rejected by policy"
    refused = console("run", env=_environment(outside, tmp_path, relay, relay.port))
    relay.refuse_with = None
    unsent_runs = []
    for done, word in ((down, "Connection refused"), (refused, "554")):
        said = done.stdout + done.stderr
        assert done.returncode == NOT_SENT_EXIT, said
        run_id = _run_id(done)
        assert "its report was NOT sent" in done.stderr
        assert word in done.stderr
        assert RELAY_PASSWORD not in said
        row = _run_row(history, run_id)
        assert (row["outcome"], row["ended"], row["still_open"]) == ("succeeded", True, 0)
        assert row["email_status"].startswith("failed: ")
        assert word in row["email_status"]
        assert RELAY_PASSWORD not in row["email_status"]
        assert Path(row["report_path"]).is_file()
        assert (Path(row["report_path"]).parent / "unsent.eml").is_file()
        kept = _report_materialization(tmp_path, run_id)
        assert kept["metadata"]["email_sent"] is False
        assert word in kept["metadata"]["email_error"]
        assert RELAY_PASSWORD not in str(kept["metadata"])
        assert kept["tags"]["huma-entra-sync/report"] == "not sent"
        unsent_runs.append(run_id)
    assert len(relay.received) == received_before
    first = _run_row(history, unsent_runs[0])
    assert first["applied"] == first["planned_writes"] > 0  # the work was done

    # 3. The relay takes mail again: this run's report, then both waiting ones.
    env = _environment(outside, tmp_path, relay, relay.port)
    back = finished_run(console("run", env=env), "acme")
    # 4. The next run sends its own report only.
    after = finished_run(console("run", env=env), "acme")

    mails = relay.received[received_before:]
    subjects = Counter(str(mail.message["Subject"]) for mail in mails)
    run_of: Counter = Counter()
    for mail in mails:
        text = mail.message.get_body(preferencelist=("plain",)).get_content()
        run_of[next(r for r in (*unsent_runs, back, after) if r in text)] += 1
    assert all(mail.recipients == RECIPIENTS for mail in mails)
    assert run_of == {unsent_runs[0]: 1, unsent_runs[1]: 1, back: 1, after: 1}
    late = [s for s in subjects if s.startswith("[sent late] ")]
    assert sum(subjects[s] for s in late) == 2
    assert _run_row(history, back)["email_status"].endswith("2 earlier unsent report(s) sent late")
    for run_id in unsent_runs:
        folder = Path(_run_row(history, run_id)["report_path"]).parent
        assert (folder / "sent-late.eml").is_file()
        assert not (folder / "unsent.eml").exists()
        # Its row says the report went out late, when and by which run; not that it failed.
        row = _run_row(history, run_id)
        sent_late = re.fullmatch(
            r"sent late at (\S+) by run (\S+); at the end of its run: (.*)", row["email_status"]
        )
        assert sent_late, row["email_status"]
        assert sent_late.group(2) == back
        assert (
            row["ended_at"]
            <= datetime.fromisoformat(sent_late.group(1))
            <= _run_row(history, after)["ended_at"]
        )
        assert sent_late.group(3).startswith("failed: ")
        assert (
            _report_materialization(tmp_path, run_id)["tags"]["huma-entra-sync/report"]
            == "sent late"
        )
    assert not list((tmp_path / "reports").glob("*/*/unsent.eml"))

    rows = [_run_row(history, r) for r in (*unsent_runs, back, after)]
    writes = _writes_applied(outside)
    record_property("case", "SMTP relay down")
    record_property("runs", len(rows))
    record_property(
        "changes_lost",
        sum(r["planned_writes"] - r["applied"] for r in rows)
        + sum(1 for r in (*unsent_runs, back, after) if run_of[r] == 0),
    )
    record_property(
        "changes_applied_twice",
        sum(n - 1 for n in writes.values() if n > 1) + sum(n - 1 for n in run_of.values() if n > 1),
    )
    assert all(n == 1 for n in writes.values())
