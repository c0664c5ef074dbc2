"""The whole-run benchmark's peak is the run's own, not the benchmark's.

A child started with `vfork` and `exec` (what `subprocess` does) has its parent's high-water mark
in its `rusage` (`ru_maxrss`): at a million people the benchmark, which generates the company,
held more than the run ever did, and the run's peak read 4.2 GB for 3.1. The sampler reads the
child's own `VmHWM`, which starts at its `exec`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from benchmarks.run_stages import Sampler

HELD_MB = 300


def test_a_childs_peak_is_its_own_not_its_parents() -> None:
    held = bytearray(HELD_MB * 1024 * 1024)
    held[::4096] = b"x" * len(held[::4096])  # resident, so the parent's high-water mark is up
    del held
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    sampler = Sampler(child.pid)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop()
    thread.join()

    peak, _ = sampler.highest()
    assert usage.ru_maxrss / 1024 >= HELD_MB  # the trap this guards against
    assert peak < HELD_MB / 3  # a bare interpreter: tens of MB
