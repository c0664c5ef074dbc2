"""Runs executed in this process leave the process's signal dispositions as they found them.

Dagster's in-process execution gives SIGTERM the disposition SIGINT had once the run ends. A
command started with SIGINT ignored (a background job of a shell without job control, `nohup`)
would then ignore SIGTERM for the rest of its life, and so would every process it starts later:
the emulators, the compute-log `tail`, the webhook receiver could no longer be stopped.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A console command started with SIGINT ignored: one run in this process, then a child process.
COMMAND = """
import signal, subprocess
import dagster as dg
from pipelines.in_process import execute_in_process

signal.signal(signal.SIGINT, signal.SIG_IGN)

@dg.op
def step() -> None: ...

@dg.job
def job() -> None:
    step()

assert execute_in_process(job, instance=dg.DagsterInstance.ephemeral()).success
child = subprocess.Popen(["sleep", "60"])
ignored = next(l for l in open(f"/proc/{child.pid}/status") if l.startswith("SigIgn:"))
child.kill()
print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, int(ignored.split()[1], 16))
"""


@pytest.mark.slow
def test_after_a_run_sigterm_still_ends_the_process_and_the_processes_it_starts() -> None:
    done = subprocess.run(
        [sys.executable, "-c", COMMAND], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    default_here, child_ignores = done.stdout.split()
    assert default_here == "True"
    assert not int(child_ignores) & 1 << (15 - 1)  # bit 15 of SigIgn: SIGTERM
