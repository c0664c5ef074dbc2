"""`huma-entra-sync demo`, as a newcomer runs it: two runs and everything left where it says.

Pins: the demo exits 0 having run the activation and the night after the scripted changes, then
a targeted run carrying one change made in Huma to Entra through the Huma emulator's webhook,
stored by the receiver (said with the time it took); its
output names the reports, the emails, the history file, the UI command and the decisions command
(which works as printed); those files exist; the second run created the new hire in Entra, blocked
the private address, asked about the conflict and left the deactivated user alone; the history
holds both runs; run under the usual umask (022), everything it leaves (history, reports, mails,
the Dagster instance, the emulators' state and keys) is readable by its owner only (SPEC §12).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest


@pytest.mark.slow
def test_the_demo_runs_twice_and_says_where_everything_is(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUMA_", "ENTRA_", "GRAPH_", "SMTP_", "HISTORY_", "REPORT"))
    }
    env.pop("DAGSTER_HOME", None)

    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo", "--folder", str(folder), "--users", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        umask=0o022,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "Run 1: the activation" in out
    assert "Run 2: the next night" in out
    run_two = out.split("Run 2: the next night")[1]
    assert "create_entra       auto_approved" in run_two  # the new hire
    assert "ola.privat@gmail.com" in run_two
    assert "private address" in run_two
    assert "waiting: conflict" in run_two
    assert "locked in huma" in run_two
    assert "email: sent to 1 recipient\n" in run_two
    for name in ("reports:", "emails:", "history:", "the UI:", "decide:"):
        assert name in out
    webhook = out.split("A webhook: HR changes one person's phone in Huma")[1]
    assert "Huma's webhook delivered, signed, and stored by the receiver" in webhook
    assert "targeted run for 1 user: 1 change applied" in webhook
    assert "Entra now: mobilePhone +47 466 00 466" in webhook
    assert "Graph was written" in webhook
    # Two nightly runs and the targeted one: each keeps its report and sent its email.
    assert len(list((folder / "mail").glob("*.eml"))) == 3
    assert len(list((folder / "reports" / "demo").glob("*/report.html"))) == 3
    with duckdb.connect(str(folder / "history.duckdb"), read_only=True) as conn:
        outcomes = conn.execute("SELECT scope, outcome FROM runs ORDER BY started_at").fetchall()
    assert outcomes == [("full", "succeeded"), ("full", "succeeded"), ("targeted", "succeeded")]
    assert "SELECT" in out  # the example queries, with their answers
    readable_by_others = [
        f"{oct(stat.S_IMODE(path.stat().st_mode))} {path.relative_to(folder)}"
        for path in [folder, *folder.rglob("*")]
        if stat.S_IMODE(path.stat().st_mode) & 0o077
    ]
    assert readable_by_others == []

    # The printed way to decide works as printed: it lists the conflict waiting after run 2.
    decide = next(line for line in out.splitlines() if "decide:" in line).split("decide:")[1]
    words = decide.split()
    script = next(i for i, word in enumerate(words) if word.endswith("huma-entra-sync"))
    settings = dict(word.split("=", 1) for word in words[:script])
    listed = subprocess.run(
        [sys.executable, "-m", "cli.main", *words[script + 1 :]],
        env=env | settings,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    conflicted = next(
        line.split()[2] for line in run_two.splitlines() if "waiting: conflict" in line
    )
    row = next(line for line in listed.stdout.splitlines() if conflicted in line)
    assert row.split()[1:3] == ["conflict", "pending"]
