"""Everything a run writes is readable by its owner only, whatever the umask (SPEC §12).

The history, the reports and the Dagster instance (where the IO manager pickles every snapshot
frame, and the event log keeps every step's output) hold personal data. Pins: under the usual
umask (022), a run of the console script, and a run Dagster starts by loading the definitions (as
the run workers of `dagster dev` and of the daemon do), leave every file and folder under the
history's folder, the reports and `DAGSTER_HOME` owner-only; a Dagster instance found readable by
others is tightened, with a warning.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from tests.console_deployment import ROOT, Deployment, console, finished_run

USUAL_UMASK = 0o022
#: The connection's job, loaded the way Dagster's run workers load it.
DAGSTER_JOB = ("-m", "pipelines.definitions", "-a", "defs", "-j", "sync_acme")


def _readable_by_others(folder: Path, *, written_by_the_test: set[Path]) -> list[str]:
    """Every file and folder under `folder` that others may read, with its mode."""
    loose = []
    for path in sorted(folder.rglob("*")):
        if path in written_by_the_test:
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            loose.append(f"{oct(mode)} {path.relative_to(folder)}")
    return loose


def _what_a_run_wrote(folder: Path) -> list[Path]:
    """The places a run writes personal data to, which must all exist after one."""
    return [
        folder / "history.duckdb",
        *(folder / "reports").rglob("report.html"),
        *(folder / "dagster" / "storage").rglob("sync_plan"),
    ]


def test_a_console_run_leaves_only_owner_only_files(deployment: Deployment) -> None:
    env = deployment.environment()

    finished_run(console("run", env=env, umask=USUAL_UMASK), "acme")

    written = _what_a_run_wrote(deployment.folder)
    assert len(written) == 3, written
    assert (
        _readable_by_others(
            deployment.folder, written_by_the_test={deployment.folder / "connections.yaml"}
        )
        == []
    )


def test_a_run_dagster_starts_leaves_only_owner_only_files(deployment: Deployment) -> None:
    env = deployment.environment()
    home = deployment.folder / "dagster"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    (home / "dagster.yaml").chmod(0o644)

    done = subprocess.run(
        [sys.executable, "-m", "dagster", "job", "execute", *DAGSTER_JOB],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        umask=USUAL_UMASK,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    written = _what_a_run_wrote(deployment.folder)
    assert len(written) == 3, written
    assert (
        _readable_by_others(
            deployment.folder, written_by_the_test={deployment.folder / "connections.yaml"}
        )
        == []
    )
    assert f"the Dagster instance {home} held files readable by others" in done.stderr
