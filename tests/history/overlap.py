"""Runs of two connections overlapping on one history file, with an analyst's session open on the
published copy all along: each connection's runs go in a process of their own, as Dagster runs
them, and each run's apply journals its changes one at a time with a pause between them (a slow
Graph). Every run reports how long its opens of the file waited for the other connection's
transactions.

`python -m tests.history.overlap` prints the figures (three runs per connection by default).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from resources.history import HistoryStore
from tests.history.scenario import (
    ACME,
    GLOBEX,
    NIGHT_1,
    acme_snapshots,
    globex_snapshots,
    run_night,
)

ROOT = Path(__file__).resolve().parents[2]

#: An analyst: a read-only session on the published copy, open until stdin closes.
ANALYST = """
import sys
import duckdb

conn = duckdb.connect(sys.argv[1], read_only=True)
print(conn.sql("SELECT count(*) FROM runs").fetchall()[0][0], flush=True)
sys.stdin.readline()
conn.close()
"""


class SlowApply(HistoryStore):
    """A store whose runs apply `changes` changes, journalled one by one, `pause` apart."""

    def __init__(self, path: Path, *, changes: int, pause: float, waits: list[float]) -> None:
        super().__init__(path, on_wait=waits.append)
        self.changes, self.pause = changes, pause

    def save_state(self, *, connection: str, run_id: str, state: Any) -> None:
        for number in range(self.changes):
            change = f"slow-{number}"
            self.journal_intent(
                run_id=run_id,
                connection=connection,
                change_id=change,
                system="graph",
                operation="PATCH /users/{id}",
                target_id=f"e-{number}",
                request={"phone": f"+47{number:08d}"},
                before={"phone": None},
            )
            time.sleep(self.pause)  # the request on its way
            self.journal_outcome(
                run_id=run_id,
                change_id=change,
                status="applied",
                after={"phone": f"+47{number:08d}"},
                remote_status=204,
            )
        super().save_state(connection=connection, run_id=run_id, state=state)


def run_connection(path: Path, connection: str, runs: int, changes: int, pause: float) -> None:
    """Run `runs` nights of `connection`, printing one JSON line per run."""
    for night in range(1, runs + 1):
        waits: list[float] = []
        store = SlowApply(path, changes=changes, pause=pause, waits=waits)
        snapshots = acme_snapshots(min(night, 2)) if connection == ACME else globex_snapshots()
        started = time.monotonic()
        figures: dict[str, Any] = {"connection": connection, "run_id": f"{connection}-{night}"}
        try:
            run_night(
                store,
                connection=connection,
                run_id=figures["run_id"],
                run_at=NIGHT_1 + timedelta(days=night - 1),
                snapshots=snapshots,
            )
        except Exception as exc:  # a failed run is a figure here, not the end of the harness
            figures["error"] = f"{type(exc).__name__}: {exc}"
        figures |= {
            "seconds": round(time.monotonic() - started, 3),
            "waited": round(sum(waits), 3),
            "opens_waited": len(waits),
            "longest_wait": round(max(waits, default=0.0), 3),
        }
        sys.stdout.write(json.dumps(figures) + "\n")
        sys.stdout.flush()


@dataclass(frozen=True)
class Overlap:
    """What the overlapping runs reported, and what the analyst's session saw."""

    runs: list[dict[str, Any]]
    exit_codes: dict[str, int]
    analyst_runs_at_open: int


def overlap(path: Path, *, runs: int = 3, slow_changes: int = 20, pause: float = 0.1) -> Overlap:
    """Both connections' runs at once (Acme's applying slowly, Globex's quickly) on `path`, an
    analyst's session open on the published copy from before the first run to after the last."""
    HistoryStore(path).migrate()  # the file and its first published copy
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(HistoryStore(path).published_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert analyst.stdout is not None
        seen = int(analyst.stdout.readline())
        plans = {ACME: (slow_changes, pause), GLOBEX: (3, 0.0)}
        children = {
            connection: subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.history.overlap",
                    "--child",
                    str(path),
                    connection,
                    str(runs),
                    str(changes),
                    str(wait),
                ],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=ROOT,
            )
            for connection, (changes, wait) in plans.items()
        }
        reported: list[dict[str, Any]] = []
        codes: dict[str, int] = {}
        for connection, child in children.items():
            out, _ = child.communicate(timeout=1800)
            codes[connection] = child.returncode
            reported += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    finally:
        if analyst.stdin is not None:
            analyst.stdin.close()
        analyst.wait(timeout=30)
        if analyst.stdout is not None:
            analyst.stdout.close()
    return Overlap(reported, codes, seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=5, metavar=("PATH", "CONN", "RUNS", "CHANGES", "PAUSE"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slow-changes", type=int, default=100)
    parser.add_argument("--pause", type=float, default=0.1)
    args = parser.parse_args()
    if args.child:
        path, connection, runs, changes, pause = args.child
        run_connection(Path(path), connection, int(runs), int(changes), float(pause))
        return
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        result = overlap(
            Path(folder) / "history.duckdb",
            runs=args.runs,
            slow_changes=args.slow_changes,
            pause=args.pause,
        )
    lines = [f"{'run':<10} {'seconds':>8} {'waited s':>9} {'opens waited':>13} {'longest s':>10}"]
    lines += [
        f"{row['run_id']:<10} {row['seconds']:>8.2f} {row['waited']:>9.3f} "
        f"{row['opens_waited']:>13} {row['longest_wait']:>10.3f}  {row.get('error', '')}"
        for row in sorted(result.runs, key=lambda r: r["run_id"])
    ]
    failures = sum("error" in row for row in result.runs)
    lines.append(f"runs: {len(result.runs)}, failures: {failures}, exit codes: {result.exit_codes}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
